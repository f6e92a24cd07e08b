//! whatsapp-rust's storage traits over the shared [`Store`].
//!
//! [`DeviceBackend`] is one linked device's view of the engine tables (the
//! `wa_*` tables of `migrations/*/0001_engine.sql`): every statement is scoped
//! by its `device_id`, so one database holds any number of devices. It
//! implements every trait that makes up `wacore::store::traits::Backend`, one
//! file per trait family:
//! - `signal.rs` holds `SignalStore` (identities, sessions, prekeys, sender keys);
//! - `appstate.rs` holds `AppSyncStore` (sync keys, collection versions, MACs);
//! - `protocol/` holds `ProtocolStore` (SKDM tracking, LID↔PN, base keys, device
//!   lists, group metadata, tc tokens, sent messages, pending inbound);
//! - `device.rs` holds `DeviceStore` (the persisted `wacore::store::Device`);
//! - `msgsecret.rs` holds `MsgSecretStore`;
//! - `devices.rs`: a device's rows as a whole (allocate an id, bind a
//!   backend, wipe every table of [`DEVICE_TABLES`]).
//!
//! The semantics follow `wacore`'s in-memory backend and the official
//! `whatsapp-rust-sqlite-storage` crate; the SQL is written once for both
//! SQLite and PostgreSQL (`$N` placeholders, `ON CONFLICT … DO UPDATE`).

mod appstate;
mod device;
mod devices;
mod fence;
mod msgsecret;
mod protocol;
mod signal;
mod wire;

use std::sync::Arc;

use fence::WriteOn;
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe};
use wacore::store::error::StoreError as WaStoreError;

use crate::db::Store;

/// Every engine table keyed by `device_id`, children before parents.
/// `Store::delete_device` wipes these (then the `wa_devices` row).
pub(crate) const DEVICE_TABLES: &[&str] = &[
    "wa_identities",
    "wa_sessions",
    "wa_prekeys",
    "wa_signed_prekeys",
    "wa_sender_keys",
    "wa_app_state_keys",
    "wa_app_state_versions",
    "wa_app_state_mutation_macs",
    "wa_sender_key_devices",
    "wa_lid_pn_mappings",
    "wa_base_keys",
    "wa_device_lists",
    "wa_group_metadata",
    "wa_tc_tokens",
    "wa_sent_messages",
    "wa_pending_inbound",
    "wa_msg_secrets",
    "wa_device_data",
];

/// Rows per multi-row statement. Keeps every statement far below SQLite's
/// host-parameter limit (32766) and PostgreSQL's (65535) even at 8 columns.
pub(crate) const CHUNK: usize = 200;

/// One linked device's storage: implements whatsapp-rust's `Backend`.
#[derive(Clone)]
pub struct DeviceBackend {
    store: Store,
    device_id: i64,
    /// The lease this device's writes are fenced by (`fence.rs`).
    fence: Option<fence::DeviceFence>,
    /// Trusted-contact tokens as last read (`protocol/tc_token_cache.rs`).
    tc_tokens: Arc<protocol::tc_token_cache::TcTokenCache>,
}

impl std::fmt::Debug for DeviceBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceBackend")
            .field("kind", &self.store.kind)
            .field("device_id", &self.device_id)
            .finish()
    }
}

impl DeviceBackend {
    pub(crate) fn new(store: Store, device_id: i64) -> Self {
        Self {
            store,
            device_id,
            fence: None,
            tc_tokens: Arc::default(),
        }
    }

    fn fenced(mut self, session_id: &str, fence: crate::app::Fence) -> Self {
        self.fence = Some(fence::DeviceFence {
            session_id: session_id.to_string(),
            fence,
        });
        self
    }

    /// The `wa_devices.id` this backend is bound to.
    pub fn device_id(&self) -> i64 {
        self.device_id
    }

    /// The store this backend writes to.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The pool reads go to.
    pub(crate) fn pool(&self) -> &sqlx::AnyPool {
        &self.store.pool
    }

    /// Runs `queries` on the writer, all or none: one statement alone in
    /// its own (implicit) transaction, several in one `BEGIN … COMMIT`
    /// (without a lease fence, one job for the writer's batcher:
    /// `statement_batch/`).
    /// Most writes are one statement (one chunk of rows), and on SQLite
    /// each of `BEGIN` and `COMMIT` is a round trip to the connection's
    /// thread of its own.
    pub(crate) async fn execute_atomically(
        &self,
        queries: Vec<Query<'static, Any, AnyArguments>>,
    ) -> Result<(), WaStoreError> {
        if queries.len() <= 1 {
            for q in queries {
                q.execute_on(self).await?;
            }
            return Ok(());
        }
        if self.write_fence().is_none() {
            // Unfenced (SQLite): one job for the writer's batcher.
            return self
                .store
                .execute_writes_atomically(queries)
                .await
                .map_err(db_err);
        }
        let mut tx = self.begin_write().await?;
        for q in queries {
            q.execute(&mut *tx).await.map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    /// Waits until this device's writes so far are durable. Writes go to
    /// the store's writer (the group-commit writer on a SQLite file) through
    /// `WriteOn::execute_on` or [`DeviceBackend::begin_write`], which fence
    /// them by the session's lease where there is one, and each is followed
    /// by this wait: whatsapp-rust sends what a ratchet step encrypted right
    /// after storing it, so the step must be on disk first, as it was with
    /// one fsync per commit.
    pub(crate) async fn durable(&self) -> Result<(), WaStoreError> {
        self.store
            .wait_durable()
            .await
            .map_err(|e| WaStoreError::Connection(Box::new(e)))
    }
}

/// Build a query from SQL assembled at run time (placeholder lists only;
/// values are always bound, never formatted in).
pub(crate) fn dyn_query(sql: String) -> Query<'static, Any, AnyArguments> {
    sqlx::query(AssertSqlSafe(sql))
}

/// `($s, $s+1, …), (…)` for `rows` rows of `cols` columns, starting at `$start`.
pub(crate) fn values_rows(rows: usize, cols: usize, start: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    let mut n = start;
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&n.to_string());
            n += 1;
        }
        out.push(')');
    }
    out
}

/// `$start, $start+1, …` (`count` placeholders), for `IN (…)` lists.
pub(crate) fn placeholders(count: usize, start: usize) -> String {
    (start..start + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Map a database error to the error type the wacore traits return.
pub(crate) fn db_err(e: sqlx::Error) -> WaStoreError {
    match e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            WaStoreError::Connection(Box::new(e))
        }
        sqlx::Error::Decode(_) | sqlx::Error::ColumnDecode { .. } => {
            WaStoreError::Serialization(Box::new(e))
        }
        other => WaStoreError::Database(Box::new(other)),
    }
}

/// A u32 read back from a BIGINT column.
pub(crate) fn to_u32(what: &str, v: i64) -> Result<u32, WaStoreError> {
    u32::try_from(v).map_err(|_| WaStoreError::Validation(format!("{what} out of range: {v}")))
}

/// Keep the last value per key, in first-seen key order.
pub(crate) fn last_wins<K: std::hash::Hash + Eq + Copy, V>(items: &[(K, V)]) -> Vec<&(K, V)> {
    let mut index: std::collections::HashMap<K, usize> =
        std::collections::HashMap::with_capacity(items.len());
    let mut out: Vec<&(K, V)> = Vec::with_capacity(items.len());
    for item in items {
        match index.get(&item.0) {
            Some(&i) => out[i] = item,
            None => {
                index.insert(item.0, out.len());
                out.push(item);
            }
        }
    }
    out
}

/// Keep the last item per key (by `key`), in first-seen key order.
pub(crate) fn dedup_last_by<T, K: std::hash::Hash + Eq>(
    items: impl IntoIterator<Item = T>,
    key: impl Fn(&T) -> K,
) -> Vec<T> {
    let mut index: std::collections::HashMap<K, usize> = std::collections::HashMap::new();
    let mut out: Vec<T> = Vec::new();
    for item in items {
        let k = key(&item);
        match index.get(&k) {
            Some(&i) => out[i] = item,
            None => {
                index.insert(k, out.len());
                out.push(item);
            }
        }
    }
    out
}

/// Current unix time in seconds.
pub(crate) fn now_secs() -> i64 {
    wacore::time::now_secs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholder_lists() {
        assert_eq!(values_rows(2, 3, 2), "($2, $3, $4), ($5, $6, $7)");
        assert_eq!(placeholders(3, 4), "$4, $5, $6");
        assert_eq!(placeholders(0, 1), "");
    }
}
