//! Sent messages kept for retry receipts (`wa_sent_messages`): taken back
//! with one `DELETE … RETURNING` when a recipient asks for a retry.

use wacore::store::error::Result;

use super::count;
use crate::backend::fence::WriteOn;
use crate::backend::{DeviceBackend, db_err, now_secs};

pub(super) async fn store_sent_message(
    b: &DeviceBackend,
    chat_jid: &str,
    message_id: &str,
    payload: &[u8],
) -> Result<()> {
    sqlx::query(
        "INSERT INTO wa_sent_messages (device_id, chat_jid, message_id, payload, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id, chat_jid, message_id) DO UPDATE SET \
         payload = excluded.payload, created_at = excluded.created_at",
    )
    .bind(b.device_id)
    .bind(chat_jid)
    .bind(message_id)
    .bind(payload)
    .bind(now_secs())
    .execute_on(b)
    .await?;
    // No wait for a sync: whatsapp-rust awaits this copy before the message
    // goes out, so waiting would put an fsync on every send's path. The copy
    // only answers a retry receipt (WhatsApp Web keeps it best effort too);
    // it is committed, a crash cannot take it back, and the next sync (a
    // few ms later, the send's own record waits for one) makes it durable.
    Ok(())
}

pub(super) async fn take_sent_message(
    b: &DeviceBackend,
    chat_jid: &str,
    message_id: &str,
) -> Result<Option<Vec<u8>>> {
    // Rare (a retry receipt): a transaction of its own, fenced like every
    // write of the device.
    let mut tx = b.begin_write().await?;
    let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
        "DELETE FROM wa_sent_messages \
         WHERE device_id = $1 AND chat_jid = $2 AND message_id = $3 RETURNING payload",
    )
    .bind(b.device_id)
    .bind(chat_jid)
    .bind(message_id)
    .fetch_all(&mut *tx)
    .await
    .map_err(db_err)?;
    tx.commit().await.map_err(db_err)?;
    b.durable().await?;
    Ok(rows.into_iter().next().map(|(p,)| p))
}

pub(super) async fn delete_expired_sent_messages(
    b: &DeviceBackend,
    cutoff_timestamp: i64,
) -> Result<u32> {
    let res = sqlx::query("DELETE FROM wa_sent_messages WHERE device_id = $1 AND created_at < $2")
        .bind(b.device_id)
        .bind(cutoff_timestamp)
        .execute_on(b)
        .await?;
    b.durable().await?;
    Ok(count(res.rows_affected()))
}
