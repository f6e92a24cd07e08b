//! Sender key distribution tracking (`wa_sender_key_devices`): which devices
//! of a group already hold our sender key, so a group send distributes it
//! only to those that do not.

use wacore::store::error::Result;

use crate::backend::fence::WriteOn;
use crate::backend::{
    CHUNK, DeviceBackend, db_err, dedup_last_by, dyn_query, now_secs, placeholders, values_rows,
};

pub(super) async fn get_sender_key_devices(
    b: &DeviceBackend,
    group_jid: &str,
) -> Result<Vec<(String, bool)>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT device_jid, has_key FROM wa_sender_key_devices \
         WHERE device_id = $1 AND group_jid = $2 ORDER BY device_jid",
    )
    .bind(b.device_id)
    .bind(group_jid)
    .fetch_all(b.pool())
    .await
    .map_err(db_err)?;
    Ok(rows.into_iter().map(|(jid, k)| (jid, k != 0)).collect())
}

pub(super) async fn set_sender_key_status(
    b: &DeviceBackend,
    group_jid: &str,
    entries: &[(&str, bool)],
) -> Result<()> {
    if entries.is_empty() {
        return Ok(());
    }
    let now = now_secs();
    let entries = dedup_last_by(entries.iter(), |(jid, _)| *jid);
    let mut queries = Vec::new();
    for chunk in entries.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO wa_sender_key_devices (device_id, group_jid, device_jid, has_key, updated_at) \
             VALUES {} ON CONFLICT (device_id, group_jid, device_jid) DO UPDATE SET \
             has_key = excluded.has_key, updated_at = excluded.updated_at",
            values_rows(chunk.len(), 5, 1)
        );
        let mut q = dyn_query(sql);
        for (jid, has_key) in chunk {
            q = q
                .bind(b.device_id)
                .bind(group_jid.to_string())
                .bind(jid.to_string())
                .bind(i64::from(*has_key))
                .bind(now);
        }
        queries.push(q);
    }
    b.execute_atomically(queries).await?;
    b.durable().await
}

pub(super) async fn clear_sender_key_devices(b: &DeviceBackend, group_jid: &str) -> Result<()> {
    sqlx::query("DELETE FROM wa_sender_key_devices WHERE device_id = $1 AND group_jid = $2")
        .bind(b.device_id)
        .bind(group_jid)
        .execute_on(b)
        .await?;
    b.durable().await?;
    Ok(())
}

pub(super) async fn delete_sender_key_device_rows(
    b: &DeviceBackend,
    device_jids: &[&str],
) -> Result<()> {
    if device_jids.is_empty() {
        return Ok(());
    }
    let mut queries = Vec::new();
    for chunk in device_jids.chunks(CHUNK) {
        let sql = format!(
            "DELETE FROM wa_sender_key_devices WHERE device_id = $1 AND device_jid IN ({})",
            placeholders(chunk.len(), 2)
        );
        let mut q = dyn_query(sql).bind(b.device_id);
        for jid in chunk {
            q = q.bind(jid.to_string());
        }
        queries.push(q);
    }
    b.execute_atomically(queries).await?;
    b.durable().await
}

pub(super) async fn clear_all_sender_key_devices(b: &DeviceBackend) -> Result<()> {
    sqlx::query("DELETE FROM wa_sender_key_devices WHERE device_id = $1")
        .bind(b.device_id)
        .execute_on(b)
        .await?;
    b.durable().await?;
    Ok(())
}
