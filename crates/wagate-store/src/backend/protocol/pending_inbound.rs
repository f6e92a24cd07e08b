//! The durable pending-inbound buffer (`wa_pending_inbound`): messages that
//! arrived before they could be decrypted, kept until they are handled or
//! expire.

use wacore::store::error::Result;
use wacore::store::traits::{PendingInboundKey, PendingInboundRow};

use super::count;
use crate::backend::fence::WriteOn;
use crate::backend::{DeviceBackend, db_err, dedup_last_by, dyn_query, now_secs, values_rows};

/// Pending-inbound rows per statement (4 key columns each).
const PENDING_CHUNK: usize = 100;

pub(super) async fn insert_pending(
    b: &DeviceBackend,
    rows: &[PendingInboundRow<'_>],
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let now = now_secs();
    let rows = dedup_last_by(rows.iter(), |r| (r.chat, r.sender, r.id));
    let mut queries = Vec::new();
    for chunk in rows.chunks(PENDING_CHUNK) {
        // Re-buffering a message replaces it and restarts its retention.
        let sql = format!(
            "INSERT INTO wa_pending_inbound (device_id, chat, sender, id, message, inserted_at) \
             VALUES {} ON CONFLICT (device_id, chat, sender, id) DO UPDATE SET \
             message = excluded.message, inserted_at = excluded.inserted_at",
            values_rows(chunk.len(), 6, 1)
        );
        let mut q = dyn_query(sql);
        for r in chunk {
            q = q
                .bind(b.device_id)
                .bind(r.chat.to_string())
                .bind(r.sender.to_string())
                .bind(r.id.to_string())
                .bind(r.message.to_vec())
                .bind(now);
        }
        queries.push(q);
    }
    b.execute_atomically(queries).await?;
    b.durable().await
}

pub(super) async fn remove_pending(
    b: &DeviceBackend,
    keys: &[PendingInboundKey<'_>],
) -> Result<()> {
    if keys.is_empty() {
        return Ok(());
    }
    let mut queries = Vec::new();
    for chunk in keys.chunks(PENDING_CHUNK) {
        let conds: Vec<String> = (0..chunk.len())
            .map(|i| {
                let n = 2 + i * 3;
                format!("(chat = ${n} AND sender = ${} AND id = ${})", n + 1, n + 2)
            })
            .collect();
        let sql = format!(
            "DELETE FROM wa_pending_inbound WHERE device_id = $1 AND ({})",
            conds.join(" OR ")
        );
        let mut q = dyn_query(sql).bind(b.device_id);
        for k in chunk {
            q = q
                .bind(k.chat.to_string())
                .bind(k.sender.to_string())
                .bind(k.id.to_string());
        }
        queries.push(q);
    }
    b.execute_atomically(queries).await?;
    b.durable().await
}

pub(super) async fn get_pending_inbound(
    b: &DeviceBackend,
    chat: &str,
    sender: &str,
    id: &str,
) -> Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> = sqlx::query_as(
        "SELECT message FROM wa_pending_inbound \
         WHERE device_id = $1 AND chat = $2 AND sender = $3 AND id = $4",
    )
    .bind(b.device_id)
    .bind(chat)
    .bind(sender)
    .bind(id)
    .fetch_optional(b.pool())
    .await
    .map_err(db_err)?;
    Ok(row.map(|(m,)| m))
}

pub(super) async fn delete_pending_inbound(
    b: &DeviceBackend,
    chat: &str,
    sender: &str,
    id: &str,
) -> Result<()> {
    sqlx::query(
        "DELETE FROM wa_pending_inbound \
         WHERE device_id = $1 AND chat = $2 AND sender = $3 AND id = $4",
    )
    .bind(b.device_id)
    .bind(chat)
    .bind(sender)
    .bind(id)
    .execute_on(b)
    .await?;
    b.durable().await?;
    Ok(())
}

pub(super) async fn delete_expired_pending_inbound(
    b: &DeviceBackend,
    cutoff_timestamp: i64,
) -> Result<u32> {
    let res =
        sqlx::query("DELETE FROM wa_pending_inbound WHERE device_id = $1 AND inserted_at < $2")
            .bind(b.device_id)
            .bind(cutoff_timestamp)
            .execute_on(b)
            .await?;
    b.durable().await?;
    Ok(count(res.rows_affected()))
}
