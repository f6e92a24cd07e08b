//! `SignalStore`: identity keys, sessions, one-time and signed prekeys and
//! group sender keys of one device — the Signal protocol's durable state.
//!
//! Batch writes are one multi-row upsert per chunk inside one transaction
//! (duplicate keys in a batch collapse to the last value first: PostgreSQL
//! refuses to upsert the same row twice in one statement).

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;
use wacore::store::error::{Result, StoreError};
use wacore::store::traits::SignalStore;

use super::fence::WriteOn;
use super::{
    CHUNK, DeviceBackend, db_err, dyn_query, last_wins, placeholders, to_u32, values_rows,
};

impl DeviceBackend {
    /// Upsert `(address, blob)` rows into a `(device_id, address, <col>)` table.
    async fn upsert_address_blobs(
        &self,
        table: &str,
        col: &str,
        rows: &[(&str, &[u8])],
    ) -> Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        let rows = last_wins(rows);
        let mut queries = Vec::new();
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO {table} (device_id, address, {col}) VALUES {} \
                 ON CONFLICT (device_id, address) DO UPDATE SET {col} = excluded.{col}",
                values_rows(chunk.len(), 3, 1)
            );
            let mut q = dyn_query(sql);
            for (address, blob) in chunk {
                q = q
                    .bind(self.device_id)
                    .bind(address.to_string())
                    .bind(blob.to_vec());
            }
            queries.push(q);
        }
        self.execute_atomically(queries).await?;
        self.durable().await
    }

    async fn get_address_blob(
        &self,
        table: &str,
        col: &str,
        address: &str,
    ) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {col} FROM {table} WHERE device_id = $1 AND address = $2"
        )))
        .bind(self.device_id)
        .bind(address)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(|(b,)| b))
    }

    async fn delete_address(&self, table: &str, address: &str) -> Result<()> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE device_id = $1 AND address = $2"
        )))
        .bind(self.device_id)
        .bind(address)
        .execute_on(self)
        .await?;
        self.durable().await?;
        Ok(())
    }

    async fn upsert_prekeys(&self, keys: &[(u32, &[u8])], uploaded: bool) -> Result<()> {
        if keys.is_empty() {
            return Ok(());
        }
        let keys = last_wins(keys);
        let mut queries = Vec::new();
        for chunk in keys.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO wa_prekeys (device_id, id, record, uploaded) VALUES {} \
                 ON CONFLICT (device_id, id) DO UPDATE SET record = excluded.record, uploaded = excluded.uploaded",
                values_rows(chunk.len(), 4, 1)
            );
            let mut q = dyn_query(sql);
            for (id, record) in chunk {
                q = q
                    .bind(self.device_id)
                    .bind(i64::from(*id))
                    .bind(record.to_vec())
                    .bind(i64::from(uploaded));
            }
            queries.push(q);
        }
        self.execute_atomically(queries).await?;
        self.durable().await
    }
}

fn identity_key(address: &str, bytes: Vec<u8>) -> Result<[u8; 32]> {
    let len = bytes.len();
    bytes.try_into().map_err(|_| {
        StoreError::Validation(format!(
            "identity key for {address}: expected 32 bytes, got {len}"
        ))
    })
}

#[async_trait]
impl SignalStore for DeviceBackend {
    async fn put_identity(&self, address: &str, key: [u8; 32]) -> Result<()> {
        self.upsert_address_blobs("wa_identities", "key", &[(address, &key[..])])
            .await
    }

    async fn put_identities_batch(&self, identities: &[(Arc<str>, [u8; 32])]) -> Result<()> {
        let rows: Vec<(&str, &[u8])> = identities
            .iter()
            .map(|(a, k)| (a.as_ref(), &k[..]))
            .collect();
        self.upsert_address_blobs("wa_identities", "key", &rows)
            .await
    }

    async fn load_identity(&self, address: &str) -> Result<Option<[u8; 32]>> {
        self.get_address_blob("wa_identities", "key", address)
            .await?
            .map(|b| identity_key(address, b))
            .transpose()
    }

    async fn delete_identity(&self, address: &str) -> Result<()> {
        self.delete_address("wa_identities", address).await
    }

    async fn get_session(&self, address: &str) -> Result<Option<Bytes>> {
        Ok(self
            .get_address_blob("wa_sessions", "record", address)
            .await?
            .map(Bytes::from))
    }

    async fn put_session(&self, address: &str, session: &[u8]) -> Result<()> {
        self.upsert_address_blobs("wa_sessions", "record", &[(address, session)])
            .await
    }

    async fn put_sessions_batch(&self, sessions: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows: Vec<(&str, &[u8])> = sessions
            .iter()
            .map(|(a, s)| (a.as_ref(), s.as_ref()))
            .collect();
        self.upsert_address_blobs("wa_sessions", "record", &rows)
            .await
    }

    async fn delete_session(&self, address: &str) -> Result<()> {
        self.delete_address("wa_sessions", address).await
    }

    async fn has_session(&self, address: &str) -> Result<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM wa_sessions WHERE device_id = $1 AND address = $2")
                .bind(self.device_id)
                .bind(address)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn has_signal_state_for_user(&self, user: &str) -> Result<bool> {
        // Addresses are `user@server` (device 0) or `user:dev@server`.
        let escaped = user
            .replace('!', "!!")
            .replace('%', "!%")
            .replace('_', "!_");
        let pat_at = format!("{escaped}@%");
        let pat_dev = format!("{escaped}:%");
        let row: Option<(i64,)> = sqlx::query_as(
            "SELECT 1 FROM wa_sessions WHERE device_id = $1 \
               AND (address LIKE $2 ESCAPE '!' OR address LIKE $3 ESCAPE '!') \
             UNION ALL \
             SELECT 1 FROM wa_identities WHERE device_id = $1 \
               AND (address LIKE $2 ESCAPE '!' OR address LIKE $3 ESCAPE '!') \
             LIMIT 1",
        )
        .bind(self.device_id)
        .bind(pat_at)
        .bind(pat_dev)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.is_some())
    }

    async fn store_prekey(&self, id: u32, record: &[u8], uploaded: bool) -> Result<()> {
        self.upsert_prekeys(&[(id, record)], uploaded).await
    }

    async fn store_prekeys_batch(&self, keys: &[(u32, Bytes)], uploaded: bool) -> Result<()> {
        let rows: Vec<(u32, &[u8])> = keys.iter().map(|(id, r)| (*id, r.as_ref())).collect();
        self.upsert_prekeys(&rows, uploaded).await
    }

    async fn load_prekey(&self, id: u32) -> Result<Option<Bytes>> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT record FROM wa_prekeys WHERE device_id = $1 AND id = $2")
                .bind(self.device_id)
                .bind(i64::from(id))
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(row.map(|(r,)| Bytes::from(r)))
    }

    async fn load_prekeys_batch(&self, ids: &[u32]) -> Result<Vec<(u32, Bytes)>> {
        let mut found: HashMap<u32, Bytes> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "SELECT id, record FROM wa_prekeys WHERE device_id = $1 AND id IN ({})",
                placeholders(chunk.len(), 2)
            );
            let mut q =
                sqlx::query_as::<_, (i64, Vec<u8>)>(sqlx::AssertSqlSafe(sql)).bind(self.device_id);
            for id in chunk {
                q = q.bind(i64::from(*id));
            }
            for (id, record) in q.fetch_all(self.pool()).await.map_err(db_err)? {
                found.insert(to_u32("prekey id", id)?, Bytes::from(record));
            }
        }
        // Same order as asked, only the keys that exist (like the default impl).
        Ok(ids
            .iter()
            .filter_map(|id| found.get(id).map(|r| (*id, r.clone())))
            .collect())
    }

    async fn mark_prekeys_uploaded(&self, ids: &[u32]) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        // UPDATE only: a key consumed meanwhile must stay deleted.
        let mut queries = Vec::new();
        for chunk in ids.chunks(CHUNK) {
            let sql = format!(
                "UPDATE wa_prekeys SET uploaded = 1 WHERE device_id = $1 AND id IN ({})",
                placeholders(chunk.len(), 2)
            );
            let mut q = dyn_query(sql).bind(self.device_id);
            for id in chunk {
                q = q.bind(i64::from(*id));
            }
            queries.push(q);
        }
        self.execute_atomically(queries).await?;
        self.durable().await
    }

    async fn remove_prekey(&self, id: u32) -> Result<()> {
        sqlx::query("DELETE FROM wa_prekeys WHERE device_id = $1 AND id = $2")
            .bind(self.device_id)
            .bind(i64::from(id))
            .execute_on(self)
            .await?;
        self.durable().await?;
        Ok(())
    }

    async fn get_max_prekey_id(&self) -> Result<u32> {
        let (max,): (Option<i64>,) =
            sqlx::query_as("SELECT MAX(id) FROM wa_prekeys WHERE device_id = $1")
                .bind(self.device_id)
                .fetch_one(self.pool())
                .await
                .map_err(db_err)?;
        to_u32("prekey id", max.unwrap_or(0))
    }

    async fn store_signed_prekey(&self, id: u32, record: &[u8]) -> Result<()> {
        sqlx::query(
            "INSERT INTO wa_signed_prekeys (device_id, id, record) VALUES ($1, $2, $3) \
             ON CONFLICT (device_id, id) DO UPDATE SET record = excluded.record",
        )
        .bind(self.device_id)
        .bind(i64::from(id))
        .bind(record)
        .execute_on(self)
        .await?;
        self.durable().await?;
        Ok(())
    }

    async fn load_signed_prekey(&self, id: u32) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> =
            sqlx::query_as("SELECT record FROM wa_signed_prekeys WHERE device_id = $1 AND id = $2")
                .bind(self.device_id)
                .bind(i64::from(id))
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(row.map(|(r,)| r))
    }

    async fn load_all_signed_prekeys(&self) -> Result<Vec<(u32, Vec<u8>)>> {
        let rows: Vec<(i64, Vec<u8>)> = sqlx::query_as(
            "SELECT id, record FROM wa_signed_prekeys WHERE device_id = $1 ORDER BY id",
        )
        .bind(self.device_id)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|(id, r)| Ok((to_u32("signed prekey id", id)?, r)))
            .collect()
    }

    async fn remove_signed_prekey(&self, id: u32) -> Result<()> {
        sqlx::query("DELETE FROM wa_signed_prekeys WHERE device_id = $1 AND id = $2")
            .bind(self.device_id)
            .bind(i64::from(id))
            .execute_on(self)
            .await?;
        self.durable().await?;
        Ok(())
    }

    async fn put_sender_key(&self, address: &str, record: &[u8]) -> Result<()> {
        self.upsert_address_blobs("wa_sender_keys", "record", &[(address, record)])
            .await
    }

    async fn put_sender_keys_batch(&self, sender_keys: &[(Arc<str>, Bytes)]) -> Result<()> {
        let rows: Vec<(&str, &[u8])> = sender_keys
            .iter()
            .map(|(a, r)| (a.as_ref(), r.as_ref()))
            .collect();
        self.upsert_address_blobs("wa_sender_keys", "record", &rows)
            .await
    }

    async fn get_sender_key(&self, address: &str) -> Result<Option<Vec<u8>>> {
        self.get_address_blob("wa_sender_keys", "record", address)
            .await
    }

    async fn delete_sender_key(&self, address: &str) -> Result<()> {
        self.delete_address("wa_sender_keys", address).await
    }
}
