//! The group metadata cache (`wa_group_metadata`): an opaque blob per group.

use wacore::store::error::Result;

use crate::backend::fence::WriteOn;
use crate::backend::{DeviceBackend, db_err, now_secs};

pub(super) async fn get_group_metadata(
    b: &DeviceBackend,
    group_jid: &str,
) -> Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT info FROM wa_group_metadata WHERE device_id = $1 AND group_jid = $2",
    )
    .bind(b.device_id)
    .bind(group_jid)
    .fetch_optional(b.pool())
    .await
    .map_err(db_err)?;
    Ok(row.map(|(b,)| b))
}

pub(super) async fn put_group_metadata(
    b: &DeviceBackend,
    group_jid: &str,
    blob: &[u8],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO wa_group_metadata (device_id, group_jid, info, updated_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (device_id, group_jid) DO UPDATE SET \
         info = excluded.info, updated_at = excluded.updated_at",
    )
    .bind(b.device_id)
    .bind(group_jid)
    .bind(blob)
    .bind(now_secs())
    .execute_on(b)
    .await?;
    b.durable().await?;
    Ok(())
}

pub(super) async fn delete_group_metadata(b: &DeviceBackend, group_jid: &str) -> Result<()> {
    sqlx::query("DELETE FROM wa_group_metadata WHERE device_id = $1 AND group_jid = $2")
        .bind(b.device_id)
        .bind(group_jid)
        .execute_on(b)
        .await?;
    b.durable().await?;
    Ok(())
}
