//! Retry base-key collision detection (`wa_base_keys`): the base key a
//! message was first encrypted under, to tell a genuine retry from a replay.

use wacore::store::error::Result;

use crate::backend::fence::WriteOn;
use crate::backend::{DeviceBackend, db_err, now_secs};

pub(super) async fn save_base_key(
    b: &DeviceBackend,
    address: &str,
    message_id: &str,
    base_key: &[u8],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO wa_base_keys (device_id, address, message_id, base_key, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id, address, message_id) \
         DO UPDATE SET base_key = excluded.base_key",
    )
    .bind(b.device_id)
    .bind(address)
    .bind(message_id)
    .bind(base_key)
    .bind(now_secs())
    .execute_on(b)
    .await?;
    b.durable().await?;
    Ok(())
}

pub(super) async fn has_same_base_key(
    b: &DeviceBackend,
    address: &str,
    message_id: &str,
    current_base_key: &[u8],
) -> Result<bool> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT base_key FROM wa_base_keys \
         WHERE device_id = $1 AND address = $2 AND message_id = $3",
    )
    .bind(b.device_id)
    .bind(address)
    .bind(message_id)
    .fetch_optional(b.pool())
    .await
    .map_err(db_err)?;
    Ok(row.is_some_and(|(stored,)| stored == current_base_key))
}

pub(super) async fn delete_base_key(
    b: &DeviceBackend,
    address: &str,
    message_id: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM wa_base_keys WHERE device_id = $1 AND address = $2 AND message_id = $3",
    )
    .bind(b.device_id)
    .bind(address)
    .bind(message_id)
    .execute_on(b)
    .await?;
    b.durable().await?;
    Ok(())
}
