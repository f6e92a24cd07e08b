//! `MsgSecretStore`: the 32-byte message secrets of one device, kept so later
//! add-ons (poll votes, reactions, edits, bot replies) referencing a message
//! can be decrypted, with per-row retention deadlines.
//!
//! Conflicts merge exactly like `merge_msg_secret_expiry` /
//! `merge_msg_secret_message_ts`: the later deadline wins (`0` = never wins
//! over everything) and the later non-zero parent time wins. Duplicates inside
//! one batch are merged the same way in Rust before the upsert.

use std::sync::Arc;

use async_trait::async_trait;
use wacore::store::error::Result;
use wacore::store::traits::{
    MsgSecretEntry, MsgSecretStore, merge_msg_secret_expiry, merge_msg_secret_message_ts,
};

use super::fence::WriteOn;
use super::{CHUNK, DeviceBackend, db_err, dyn_query, now_secs, values_rows};

/// `(chat, sender, msg_id)`.
type SecretKey = (Arc<str>, Arc<str>, Arc<str>);

/// Merge duplicate keys of one batch: last secret wins, deadlines and parent
/// times merge as on a database conflict.
fn merge_batch(entries: Vec<MsgSecretEntry>) -> Vec<MsgSecretEntry> {
    let mut index: std::collections::HashMap<SecretKey, usize> =
        std::collections::HashMap::with_capacity(entries.len());
    let mut out: Vec<MsgSecretEntry> = Vec::with_capacity(entries.len());
    for e in entries {
        let key = (e.chat.clone(), e.sender.clone(), e.msg_id.clone());
        match index.get(&key) {
            Some(&i) => {
                let prev = &out[i];
                let expires_at = merge_msg_secret_expiry(prev.expires_at, e.expires_at);
                let message_ts = merge_msg_secret_message_ts(prev.message_ts, e.message_ts);
                out[i] = MsgSecretEntry {
                    expires_at,
                    message_ts,
                    ..e
                };
            }
            None => {
                index.insert(key, out.len());
                out.push(e);
            }
        }
    }
    out
}

#[async_trait]
impl MsgSecretStore for DeviceBackend {
    async fn put_msg_secrets(&self, entries: Vec<MsgSecretEntry>) -> Result<usize> {
        let stored = entries.len();
        if stored == 0 {
            return Ok(0);
        }
        let now = now_secs();
        let entries = merge_batch(entries);
        let mut queries = Vec::new();
        for chunk in entries.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO wa_msg_secrets (device_id, chat, sender, msg_id, secret, created_at, expires_at, message_ts) \
                 VALUES {} ON CONFLICT (device_id, chat, sender, msg_id) DO UPDATE SET \
                 secret = excluded.secret, \
                 created_at = excluded.created_at, \
                 expires_at = CASE \
                   WHEN wa_msg_secrets.expires_at = 0 OR excluded.expires_at = 0 THEN 0 \
                   WHEN wa_msg_secrets.expires_at > excluded.expires_at THEN wa_msg_secrets.expires_at \
                   ELSE excluded.expires_at END, \
                 message_ts = CASE \
                   WHEN wa_msg_secrets.message_ts > excluded.message_ts THEN wa_msg_secrets.message_ts \
                   ELSE excluded.message_ts END",
                values_rows(chunk.len(), 8, 1)
            );
            let mut q = dyn_query(sql);
            for e in chunk {
                q = q
                    .bind(self.device_id)
                    .bind(e.chat.to_string())
                    .bind(e.sender.to_string())
                    .bind(e.msg_id.to_string())
                    .bind(e.secret.to_vec())
                    .bind(now)
                    .bind(e.expires_at)
                    .bind(e.message_ts);
            }
            queries.push(q);
        }
        self.execute_atomically(queries).await?;
        // No wait for a sync: a sent message's secret is written before it
        // goes out, and waiting would put an fsync on every send's path. It
        // is committed (a crash cannot take it back) and durable with the
        // next sync, which the send's own record and a received message's
        // store (before its ack) wait for.
        Ok(stored)
    }

    async fn get_msg_secret(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<Vec<u8>>> {
        Ok(self
            .get_msg_secret_with_ts(chat, sender, msg_id)
            .await?
            .map(|(secret, _)| secret))
    }

    async fn get_msg_secret_with_ts(
        &self,
        chat: &str,
        sender: &str,
        msg_id: &str,
    ) -> Result<Option<(Vec<u8>, i64)>> {
        let row: Option<(Vec<u8>, i64)> = sqlx::query_as(
            "SELECT secret, message_ts FROM wa_msg_secrets \
             WHERE device_id = $1 AND chat = $2 AND sender = $3 AND msg_id = $4",
        )
        .bind(self.device_id)
        .bind(chat)
        .bind(sender)
        .bind(msg_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row)
    }

    async fn delete_expired_msg_secrets(&self, cutoff_timestamp: i64) -> Result<u32> {
        let res = sqlx::query(
            "DELETE FROM wa_msg_secrets \
             WHERE device_id = $1 AND expires_at <> 0 AND expires_at <= $2",
        )
        .bind(self.device_id)
        .bind(cutoff_timestamp)
        .execute_on(self)
        .await?;
        self.durable().await?;
        Ok(u32::try_from(res.rows_affected()).unwrap_or(u32::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(msg_id: &str, secret: u8, expires_at: i64, message_ts: i64) -> MsgSecretEntry {
        MsgSecretEntry {
            chat: Arc::from("c@s.whatsapp.net"),
            sender: Arc::from("s@s.whatsapp.net"),
            msg_id: Arc::from(msg_id),
            secret: [secret; 32],
            expires_at,
            message_ts,
        }
    }

    #[test]
    fn batch_duplicates_merge_like_conflicts() {
        let merged = merge_batch(vec![
            entry("a", 1, 100, 5),
            entry("b", 2, 10, 0),
            entry("a", 3, 50, 0),
            entry("b", 4, 0, 7),
        ]);
        assert_eq!(merged.len(), 2);
        assert_eq!(&*merged[0].msg_id, "a");
        assert_eq!(merged[0].secret, [3; 32]);
        assert_eq!((merged[0].expires_at, merged[0].message_ts), (100, 5));
        assert_eq!(merged[1].secret, [4; 32]);
        assert_eq!((merged[1].expires_at, merged[1].message_ts), (0, 7));
    }
}
