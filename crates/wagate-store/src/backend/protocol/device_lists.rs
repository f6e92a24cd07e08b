//! The device registry (`wa_device_lists`): each user's list of devices, as
//! JSON, with the timestamp and hash the server gave it.

use wacore::store::error::{Result, StoreError};
use wacore::store::traits::{DeviceInfo, DeviceListRecord};

use crate::backend::fence::WriteOn;
use crate::backend::{
    CHUNK, DeviceBackend, db_err, dedup_last_by, dyn_query, now_secs, to_u32, values_rows,
};

pub(super) async fn upsert_device_lists(
    b: &DeviceBackend,
    records: Vec<DeviceListRecord>,
) -> Result<()> {
    if records.is_empty() {
        return Ok(());
    }
    let now = now_secs();
    let records = dedup_last_by(records, |r| r.user.clone());
    let prepared = records
        .into_iter()
        .map(|r| {
            let json = serde_json::to_string(&r.devices)
                .map_err(|e| StoreError::Serialization(Box::new(e)))?;
            Ok((r, json))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut queries = Vec::new();
    for chunk in prepared.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO wa_device_lists (device_id, user_id, devices_json, timestamp, phash, raw_id, updated_at) \
             VALUES {} ON CONFLICT (device_id, user_id) DO UPDATE SET \
             devices_json = excluded.devices_json, timestamp = excluded.timestamp, \
             phash = excluded.phash, raw_id = excluded.raw_id, updated_at = excluded.updated_at",
            values_rows(chunk.len(), 7, 1)
        );
        let mut q = dyn_query(sql);
        for (r, json) in chunk {
            q = q
                .bind(b.device_id)
                .bind(r.user.clone())
                .bind(json.clone())
                .bind(r.timestamp)
                .bind(r.phash.clone())
                .bind(r.raw_id.map(i64::from))
                .bind(now);
        }
        queries.push(q);
    }
    b.execute_atomically(queries).await?;
    b.durable().await
}

pub(super) async fn get_devices(b: &DeviceBackend, user: &str) -> Result<Option<DeviceListRecord>> {
    type Row = (String, String, i64, Option<String>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT user_id, devices_json, timestamp, phash, raw_id FROM wa_device_lists \
         WHERE device_id = $1 AND user_id = $2",
    )
    .bind(b.device_id)
    .bind(user)
    .fetch_optional(b.pool())
    .await
    .map_err(db_err)?;
    let Some((user, json, timestamp, phash, raw_id)) = row else {
        return Ok(None);
    };
    let devices: Vec<DeviceInfo> =
        serde_json::from_str(&json).map_err(|e| StoreError::Serialization(Box::new(e)))?;
    Ok(Some(DeviceListRecord {
        user,
        devices,
        timestamp,
        phash,
        raw_id: raw_id.map(|r| to_u32("raw_id", r)).transpose()?,
    }))
}

pub(super) async fn delete_devices(b: &DeviceBackend, user: &str) -> Result<()> {
    sqlx::query("DELETE FROM wa_device_lists WHERE device_id = $1 AND user_id = $2")
        .bind(b.device_id)
        .bind(user)
        .execute_on(b)
        .await?;
    b.durable().await?;
    Ok(())
}
