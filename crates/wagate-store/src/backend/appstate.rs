//! `AppSyncStore`: WhatsApp app-state sync of one device — the sync keys the
//! primary phone shares, each collection's version and ltHash state, and the
//! per-mutation value MACs.
//!
//! Keys and hash states are stored as protobuf (see `wire`). As in the
//! reference backend, an undecodable key reads as absent (it gets
//! re-requested) and an undecodable hash state reads as the default (the
//! collection re-syncs from version 0) instead of failing the sync.

use std::collections::HashMap;

use async_trait::async_trait;
use wacore::appstate::hash::HashState;
use wacore::appstate::processor::AppStateMutationMAC;
use wacore::store::error::{Result, StoreError};
use wacore::store::traits::{AppStateSyncKey, AppSyncStore};

use super::fence::WriteOn;
use super::wire::{
    decode_app_state_sync_key, decode_hash_state, encode_app_state_sync_key, encode_hash_state,
};
use super::{CHUNK, DeviceBackend, db_err, dedup_last_by, dyn_query, placeholders, values_rows};

#[async_trait]
impl AppSyncStore for DeviceBackend {
    async fn get_sync_key(&self, key_id: &[u8]) -> Result<Option<AppStateSyncKey>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT key_data FROM wa_app_state_keys WHERE device_id = $1 AND key_id = $2",
        )
        .bind(self.device_id)
        .bind(key_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        let Some((data,)) = row else {
            return Ok(None);
        };
        match decode_app_state_sync_key(&data) {
            Ok(key) => Ok(Some(key)),
            Err(e) => {
                tracing::warn!(
                    device_id = self.device_id,
                    len = data.len(),
                    error = %e,
                    "app-state sync key failed to decode; treating it as absent so it is re-requested"
                );
                Ok(None)
            }
        }
    }

    async fn set_sync_key(&self, key_id: &[u8], key: AppStateSyncKey) -> Result<()> {
        sqlx::query(
            "INSERT INTO wa_app_state_keys (device_id, key_id, key_data) VALUES ($1, $2, $3) \
             ON CONFLICT (device_id, key_id) DO UPDATE SET key_data = excluded.key_data",
        )
        .bind(self.device_id)
        .bind(key_id)
        .bind(encode_app_state_sync_key(&key))
        .execute_on(self)
        .await?;
        self.durable().await?;
        Ok(())
    }

    async fn get_version(&self, name: &str) -> Result<HashState> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT state_data FROM wa_app_state_versions WHERE device_id = $1 AND name = $2",
        )
        .bind(self.device_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        let Some((data,)) = row else {
            return Ok(HashState::default());
        };
        match decode_hash_state(&data) {
            Ok(state) => Ok(state),
            Err(e) => {
                tracing::warn!(
                    device_id = self.device_id,
                    collection = name,
                    len = data.len(),
                    error = %e,
                    "app-state version failed to decode; resetting it so the collection re-syncs from 0"
                );
                Ok(HashState::default())
            }
        }
    }

    async fn set_version(&self, name: &str, state: HashState) -> Result<()> {
        sqlx::query(
            "INSERT INTO wa_app_state_versions (device_id, name, state_data) VALUES ($1, $2, $3) \
             ON CONFLICT (device_id, name) DO UPDATE SET state_data = excluded.state_data",
        )
        .bind(self.device_id)
        .bind(name)
        .bind(encode_hash_state(&state))
        .execute_on(self)
        .await?;
        self.durable().await?;
        Ok(())
    }

    async fn put_mutation_macs(
        &self,
        name: &str,
        version: u64,
        mutations: &[AppStateMutationMAC],
    ) -> Result<()> {
        if mutations.is_empty() {
            return Ok(());
        }
        let version = i64::try_from(version).map_err(|_| {
            StoreError::Validation(format!("app-state version out of range: {version}"))
        })?;
        let rows = dedup_last_by(mutations.iter(), |m| m.index_mac.as_slice());
        let mut tx = self.begin_write().await?;
        for chunk in rows.chunks(CHUNK) {
            let sql = format!(
                "INSERT INTO wa_app_state_mutation_macs (device_id, name, index_mac, version, value_mac) \
                 VALUES {} ON CONFLICT (device_id, name, index_mac) DO UPDATE SET \
                 version = excluded.version, value_mac = excluded.value_mac",
                values_rows(chunk.len(), 5, 1)
            );
            let mut q = dyn_query(sql);
            for m in chunk {
                q = q
                    .bind(self.device_id)
                    .bind(name.to_string())
                    .bind(m.index_mac.clone())
                    .bind(version)
                    .bind(m.value_mac.clone());
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.durable().await
    }

    async fn get_mutation_mac(&self, name: &str, index_mac: &[u8]) -> Result<Option<Vec<u8>>> {
        let row: Option<(Vec<u8>,)> = sqlx::query_as(
            "SELECT value_mac FROM wa_app_state_mutation_macs \
             WHERE device_id = $1 AND name = $2 AND index_mac = $3",
        )
        .bind(self.device_id)
        .bind(name)
        .bind(index_mac)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        Ok(row.map(|(v,)| v))
    }

    async fn get_mutation_macs(
        &self,
        name: &str,
        index_macs: &[[u8; 32]],
    ) -> Result<HashMap<[u8; 32], Vec<u8>>> {
        let mut out = HashMap::with_capacity(index_macs.len());
        for chunk in index_macs.chunks(CHUNK) {
            let sql = format!(
                "SELECT index_mac, value_mac FROM wa_app_state_mutation_macs \
                 WHERE device_id = $1 AND name = $2 AND index_mac IN ({})",
                placeholders(chunk.len(), 3)
            );
            let mut q = sqlx::query_as::<_, (Vec<u8>, Vec<u8>)>(sqlx::AssertSqlSafe(sql))
                .bind(self.device_id)
                .bind(name.to_string());
            for mac in chunk {
                q = q.bind(mac.to_vec());
            }
            let rows = q.fetch_all(self.pool()).await.map_err(db_err)?;
            // Only 32-byte index MACs can match the 32-byte keys asked for.
            out.extend(
                rows.into_iter()
                    .filter_map(|(k, v)| <[u8; 32]>::try_from(k.as_slice()).ok().map(|k| (k, v))),
            );
        }
        Ok(out)
    }

    async fn delete_mutation_macs(&self, name: &str, index_macs: &[Vec<u8>]) -> Result<()> {
        if index_macs.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        for chunk in index_macs.chunks(CHUNK) {
            let sql = format!(
                "DELETE FROM wa_app_state_mutation_macs \
                 WHERE device_id = $1 AND name = $2 AND index_mac IN ({})",
                placeholders(chunk.len(), 3)
            );
            let mut q = dyn_query(sql).bind(self.device_id).bind(name.to_string());
            for mac in chunk {
                q = q.bind(mac.clone());
            }
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.durable().await
    }

    async fn clear_mutation_macs(&self, name: &str) -> Result<()> {
        sqlx::query("DELETE FROM wa_app_state_mutation_macs WHERE device_id = $1 AND name = $2")
            .bind(self.device_id)
            .bind(name)
            .execute_on(self)
            .await?;
        self.durable().await?;
        Ok(())
    }

    /// The highest key id (byte order) whose blob decodes, like the
    /// reference backend: an undecodable row must not be picked for
    /// outbound patches.
    async fn get_latest_sync_key_id(&self) -> Result<Option<Vec<u8>>> {
        let rows: Vec<(Vec<u8>, Vec<u8>)> = sqlx::query_as(
            "SELECT key_id, key_data FROM wa_app_state_keys WHERE device_id = $1 ORDER BY key_id DESC",
        )
        .bind(self.device_id)
        .fetch_all(self.pool())
        .await
        .map_err(db_err)?;
        Ok(rows
            .into_iter()
            .find(|(_, data)| decode_app_state_sync_key(data).is_ok())
            .map(|(key_id, _)| key_id))
    }
}
