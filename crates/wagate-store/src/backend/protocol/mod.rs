//! `ProtocolStore`: WhatsApp Web protocol bookkeeping of one device — which
//! group devices hold our sender key, LID↔phone-number mappings, retry
//! base-key collision detection, the device registry, cached group metadata,
//! trusted-contact tokens, sent messages kept for retries and the durable
//! pending-inbound buffer.
//!
//! The tc-token writers that must be atomic (newer-wins receive, advance-only
//! sender timestamp) are single `INSERT … ON CONFLICT DO UPDATE` statements,
//! and `take_sent_message` is one `DELETE … RETURNING`, so no read-then-write
//! transaction ever holds SQLite's single write lock.

use async_trait::async_trait;
use wacore::store::error::{Result, StoreError};
use wacore::store::traits::{
    DeviceInfo, DeviceListRecord, LidPnMappingEntry, PendingInboundKey, PendingInboundRow,
    ProtocolStore, TcTokenEntry,
};

use super::{
    CHUNK, DeviceBackend, db_err, dedup_last_by, dyn_query, now_secs, placeholders, to_u32,
    values_rows,
};

type LidRow = (String, String, i64, i64, String);

fn lid_entry(
    (lid, phone_number, created_at, updated_at, learning_source): LidRow,
) -> LidPnMappingEntry {
    LidPnMappingEntry {
        lid,
        phone_number,
        created_at,
        updated_at,
        learning_source,
    }
}

fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Pending-inbound rows per statement (4 key columns each).
const PENDING_CHUNK: usize = 100;

impl DeviceBackend {
    async fn upsert_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
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
        let mut tx = self.pool().begin().await.map_err(db_err)?;
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
                    .bind(self.device_id)
                    .bind(r.user.clone())
                    .bind(json.clone())
                    .bind(r.timestamp)
                    .bind(r.phash.clone())
                    .bind(r.raw_id.map(i64::from))
                    .bind(now);
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn upsert_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let entries = dedup_last_by(entries.iter(), |e| e.lid.as_str());
        let mut tx = self.pool().begin().await.map_err(db_err)?;
        for chunk in entries.chunks(CHUNK) {
            // created_at is kept from the first time the LID was learned.
            let sql = format!(
                "INSERT INTO wa_lid_pn_mappings (device_id, lid, phone_number, created_at, updated_at, learning_source) \
                 VALUES {} ON CONFLICT (device_id, lid) DO UPDATE SET \
                 phone_number = excluded.phone_number, updated_at = excluded.updated_at, \
                 learning_source = excluded.learning_source",
                values_rows(chunk.len(), 6, 1)
            );
            let mut q = dyn_query(sql);
            for e in chunk {
                q = q
                    .bind(self.device_id)
                    .bind(e.lid.clone())
                    .bind(e.phone_number.clone())
                    .bind(e.created_at)
                    .bind(e.updated_at)
                    .bind(e.learning_source.clone());
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn insert_pending(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let now = now_secs();
        let rows = dedup_last_by(rows.iter(), |r| (r.chat, r.sender, r.id));
        let mut tx = self.pool().begin().await.map_err(db_err)?;
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
                    .bind(self.device_id)
                    .bind(r.chat.to_string())
                    .bind(r.sender.to_string())
                    .bind(r.id.to_string())
                    .bind(r.message.to_vec())
                    .bind(now);
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn remove_pending(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await.map_err(db_err)?;
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
            let mut q = dyn_query(sql).bind(self.device_id);
            for k in chunk {
                q = q
                    .bind(k.chat.to_string())
                    .bind(k.sender.to_string())
                    .bind(k.id.to_string());
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }
}

#[async_trait]
impl ProtocolStore for DeviceBackend {
    // --- sender key distribution tracking ---

    async fn get_sender_key_devices(&self, group_jid: &str) -> Result<Vec<(String, bool)>> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT device_jid, has_key FROM wa_sender_key_devices \
             WHERE device_id = $1 AND group_jid = $2 ORDER BY device_jid",
        )
        .bind(self.device_id)
        .bind(group_jid)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(|(jid, k)| (jid, k != 0)).collect())
    }

    async fn set_sender_key_status(&self, group_jid: &str, entries: &[(&str, bool)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let now = now_secs();
        let entries = dedup_last_by(entries.iter(), |(jid, _)| *jid);
        let mut tx = self.pool().begin().await.map_err(db_err)?;
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
                    .bind(self.device_id)
                    .bind(group_jid.to_string())
                    .bind(jid.to_string())
                    .bind(i64::from(*has_key))
                    .bind(now);
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn clear_sender_key_devices(&self, group_jid: &str) -> Result<()> {
        sqlx::query("DELETE FROM wa_sender_key_devices WHERE device_id = $1 AND group_jid = $2")
            .bind(self.device_id)
            .bind(group_jid)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete_sender_key_device_rows(&self, device_jids: &[&str]) -> Result<()> {
        if device_jids.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await.map_err(db_err)?;
        for chunk in device_jids.chunks(CHUNK) {
            let sql = format!(
                "DELETE FROM wa_sender_key_devices WHERE device_id = $1 AND device_jid IN ({})",
                placeholders(chunk.len(), 2)
            );
            let mut q = dyn_query(sql).bind(self.device_id);
            for jid in chunk {
                q = q.bind(jid.to_string());
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn clear_all_sender_key_devices(&self) -> Result<()> {
        sqlx::query("DELETE FROM wa_sender_key_devices WHERE device_id = $1")
            .bind(self.device_id)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // --- LID ↔ phone number ---

    async fn get_lid_mapping(&self, lid: &str) -> Result<Option<LidPnMappingEntry>> {
        let row: Option<LidRow> = sqlx::query_as(
            "SELECT lid, phone_number, created_at, updated_at, learning_source \
             FROM wa_lid_pn_mappings WHERE device_id = $1 AND lid = $2",
        )
        .bind(self.device_id)
        .bind(lid)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(lid_entry))
    }

    /// The most recently updated LID for this phone number.
    async fn get_pn_mapping(&self, phone: &str) -> Result<Option<LidPnMappingEntry>> {
        let row: Option<LidRow> = sqlx::query_as(
            "SELECT lid, phone_number, created_at, updated_at, learning_source \
             FROM wa_lid_pn_mappings WHERE device_id = $1 AND phone_number = $2 \
             ORDER BY updated_at DESC, created_at DESC LIMIT 1",
        )
        .bind(self.device_id)
        .bind(phone)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(lid_entry))
    }

    async fn put_lid_mapping(&self, entry: &LidPnMappingEntry) -> Result<()> {
        self.upsert_lid_mappings(std::slice::from_ref(entry)).await
    }

    async fn put_lid_mappings(&self, entries: &[LidPnMappingEntry]) -> Result<()> {
        self.upsert_lid_mappings(entries).await
    }

    async fn get_all_lid_mappings(&self) -> Result<Vec<LidPnMappingEntry>> {
        let rows: Vec<LidRow> = sqlx::query_as(
            "SELECT lid, phone_number, created_at, updated_at, learning_source \
             FROM wa_lid_pn_mappings WHERE device_id = $1 ORDER BY lid",
        )
        .bind(self.device_id)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().map(lid_entry).collect())
    }

    // --- base key collision detection ---

    async fn save_base_key(&self, address: &str, message_id: &str, base_key: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO wa_base_keys (device_id, address, message_id, base_key, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id, address, message_id) \
             DO UPDATE SET base_key = excluded.base_key",
        )
        .bind(self.device_id)
        .bind(address)
        .bind(message_id)
        .bind(base_key)
        .bind(now_secs())
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn has_same_base_key(
        &self,
        address: &str,
        message_id: &str,
        current_base_key: &[u8],
    ) -> Result<bool> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT base_key FROM wa_base_keys \
             WHERE device_id = $1 AND address = $2 AND message_id = $3",
        )
        .bind(self.device_id)
        .bind(address)
        .bind(message_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.is_some_and(|(stored,)| stored == current_base_key))
    }

    async fn delete_base_key(&self, address: &str, message_id: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM wa_base_keys WHERE device_id = $1 AND address = $2 AND message_id = $3",
        )
        .bind(self.device_id)
        .bind(address)
        .bind(message_id)
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    // --- device registry ---

    async fn update_device_list(&self, record: DeviceListRecord) -> Result<()> {
        self.upsert_device_lists(vec![record]).await
    }

    async fn update_device_lists(&self, records: Vec<DeviceListRecord>) -> Result<()> {
        self.upsert_device_lists(records).await
    }

    async fn get_devices(&self, user: &str) -> Result<Option<DeviceListRecord>> {
        type Row = (String, String, i64, Option<String>, Option<i64>);
        let row: Option<Row> = sqlx::query_as(
            "SELECT user_id, devices_json, timestamp, phash, raw_id FROM wa_device_lists \
             WHERE device_id = $1 AND user_id = $2",
        )
        .bind(self.device_id)
        .bind(user)
        .fetch_optional(self.pool())
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

    async fn delete_devices(&self, user: &str) -> Result<()> {
        sqlx::query("DELETE FROM wa_device_lists WHERE device_id = $1 AND user_id = $2")
            .bind(self.device_id)
            .bind(user)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // --- group metadata cache ---

    async fn get_group_metadata(&self, group_jid: &str) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT info FROM wa_group_metadata WHERE device_id = $1 AND group_jid = $2",
        )
        .bind(self.device_id)
        .bind(group_jid)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(|(b,)| b))
    }

    async fn put_group_metadata(&self, group_jid: &str, blob: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO wa_group_metadata (device_id, group_jid, info, updated_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (device_id, group_jid) DO UPDATE SET \
             info = excluded.info, updated_at = excluded.updated_at",
        )
        .bind(self.device_id)
        .bind(group_jid)
        .bind(blob)
        .bind(now_secs())
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_group_metadata(&self, group_jid: &str) -> Result<()> {
        sqlx::query("DELETE FROM wa_group_metadata WHERE device_id = $1 AND group_jid = $2")
            .bind(self.device_id)
            .bind(group_jid)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    // --- trusted contact tokens ---

    async fn get_tc_token(&self, jid: &str) -> Result<Option<TcTokenEntry>> {
        let row: Option<(Vec<u8>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT token, token_timestamp, sender_timestamp FROM wa_tc_tokens \
             WHERE device_id = $1 AND jid = $2",
        )
        .bind(self.device_id)
        .bind(jid)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(
            row.map(|(token, token_timestamp, sender_timestamp)| TcTokenEntry {
                token,
                token_timestamp,
                sender_timestamp,
            }),
        )
    }

    async fn put_tc_token(&self, jid: &str, entry: &TcTokenEntry) -> Result<()> {
        sqlx::query(
            "INSERT INTO wa_tc_tokens (device_id, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device_id, jid) DO UPDATE SET \
             token = excluded.token, token_timestamp = excluded.token_timestamp, \
             sender_timestamp = excluded.sender_timestamp, updated_at = excluded.updated_at",
        )
        .bind(self.device_id)
        .bind(jid)
        .bind(entry.token.as_slice())
        .bind(entry.token_timestamp)
        .bind(entry.sender_timestamp)
        .bind(now_secs())
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_tc_token(&self, jid: &str) -> Result<()> {
        sqlx::query("DELETE FROM wa_tc_tokens WHERE device_id = $1 AND jid = $2")
            .bind(self.device_id)
            .bind(jid)
            .execute(self.pool())
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn get_all_tc_token_jids(&self) -> Result<Vec<String>> {
        let rows: Vec<(String,)> =
            sqlx::query_as("SELECT jid FROM wa_tc_tokens WHERE device_id = $1 ORDER BY jid")
                .bind(self.device_id)
                .fetch_all(self.pool())
                .await
                .map_err(db_err)?;
        Ok(rows.into_iter().map(|(j,)| j).collect())
    }

    async fn delete_expired_tc_tokens(&self, token_cutoff: i64, sender_cutoff: i64) -> Result<u32> {
        // Dropped only when both the received token and the sender bucket are
        // expired or absent.
        let res = sqlx::query(
            "DELETE FROM wa_tc_tokens WHERE device_id = $1 \
             AND (length(token) = 0 OR token_timestamp < $2) \
             AND (sender_timestamp IS NULL OR sender_timestamp < $3)",
        )
        .bind(self.device_id)
        .bind(token_cutoff)
        .bind(sender_cutoff)
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(count(res.rows_affected()))
    }

    async fn touch_tc_token_sender_timestamp(
        &self,
        jid: &str,
        sender_timestamp: i64,
    ) -> Result<()> {
        // Insert a byte-less placeholder, or advance only sender_timestamp.
        sqlx::query(
            "INSERT INTO wa_tc_tokens (device_id, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, $4, $5) ON CONFLICT (device_id, jid) DO UPDATE SET \
             sender_timestamp = CASE \
               WHEN wa_tc_tokens.sender_timestamp IS NULL \
                 OR wa_tc_tokens.sender_timestamp < excluded.sender_timestamp \
               THEN excluded.sender_timestamp ELSE wa_tc_tokens.sender_timestamp END, \
             updated_at = excluded.updated_at",
        )
        .bind(self.device_id)
        .bind(jid)
        .bind(Vec::<u8>::new())
        .bind(sender_timestamp)
        .bind(now_secs())
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn store_received_tc_token(
        &self,
        jid: &str,
        token: &[u8],
        token_timestamp: i64,
    ) -> Result<()> {
        // Newer-wins, atomically: overwrite the token pair only over a
        // placeholder or an older-or-equal token; never touch sender_timestamp.
        sqlx::query(
            "INSERT INTO wa_tc_tokens (device_id, jid, token, token_timestamp, sender_timestamp, updated_at) \
             VALUES ($1, $2, $3, $4, NULL, $5) ON CONFLICT (device_id, jid) DO UPDATE SET \
             token = excluded.token, token_timestamp = excluded.token_timestamp, \
             updated_at = excluded.updated_at \
             WHERE length(wa_tc_tokens.token) = 0 \
                OR excluded.token_timestamp >= wa_tc_tokens.token_timestamp",
        )
        .bind(self.device_id)
        .bind(jid)
        .bind(token)
        .bind(token_timestamp)
        .bind(now_secs())
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    // --- sent messages (retry receipts) ---

    async fn store_sent_message(
        &self,
        chat_jid: &str,
        message_id: &str,
        payload: &[u8],
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO wa_sent_messages (device_id, chat_jid, message_id, payload, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (device_id, chat_jid, message_id) DO UPDATE SET \
             payload = excluded.payload, created_at = excluded.created_at",
        )
        .bind(self.device_id)
        .bind(chat_jid)
        .bind(message_id)
        .bind(payload)
        .bind(now_secs())
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn take_sent_message(&self, chat_jid: &str, message_id: &str) -> Result<Option<Vec<u8>>> {
        let rows: Vec<(Vec<u8>,)> = sqlx::query_as(
            "DELETE FROM wa_sent_messages \
             WHERE device_id = $1 AND chat_jid = $2 AND message_id = $3 RETURNING payload",
        )
        .bind(self.device_id)
        .bind(chat_jid)
        .bind(message_id)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows.into_iter().next().map(|(p,)| p))
    }

    async fn delete_expired_sent_messages(&self, cutoff_timestamp: i64) -> Result<u32> {
        let res =
            sqlx::query("DELETE FROM wa_sent_messages WHERE device_id = $1 AND created_at < $2")
                .bind(self.device_id)
                .bind(cutoff_timestamp)
                .execute(self.pool())
                .await
                .map_err(db_err)?;
        Ok(count(res.rows_affected()))
    }

    // --- pending inbound buffer ---

    async fn store_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
        message: &[u8],
    ) -> Result<()> {
        self.insert_pending(&[PendingInboundRow {
            chat,
            sender,
            id,
            message,
        }])
        .await
    }

    async fn get_pending_inbound(
        &self,
        chat: &str,
        sender: &str,
        id: &str,
    ) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT message FROM wa_pending_inbound \
             WHERE device_id = $1 AND chat = $2 AND sender = $3 AND id = $4",
        )
        .bind(self.device_id)
        .bind(chat)
        .bind(sender)
        .bind(id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(|(m,)| m))
    }

    async fn delete_pending_inbound(&self, chat: &str, sender: &str, id: &str) -> Result<()> {
        sqlx::query(
            "DELETE FROM wa_pending_inbound \
             WHERE device_id = $1 AND chat = $2 AND sender = $3 AND id = $4",
        )
        .bind(self.device_id)
        .bind(chat)
        .bind(sender)
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn delete_expired_pending_inbound(&self, cutoff_timestamp: i64) -> Result<u32> {
        let res =
            sqlx::query("DELETE FROM wa_pending_inbound WHERE device_id = $1 AND inserted_at < $2")
                .bind(self.device_id)
                .bind(cutoff_timestamp)
                .execute(self.pool())
                .await
                .map_err(db_err)?;
        Ok(count(res.rows_affected()))
    }

    async fn store_pending_inbound_batch(&self, rows: &[PendingInboundRow<'_>]) -> Result<()> {
        self.insert_pending(rows).await
    }

    async fn delete_pending_inbound_batch(&self, keys: &[PendingInboundKey<'_>]) -> Result<()> {
        self.remove_pending(keys).await
    }
}
