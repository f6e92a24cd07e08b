//! A device's writes, fenced by its session's lease (a cluster on
//! PostgreSQL).
//!
//! A node runs a session only while it holds the session's lease, and it
//! stops the session when it cannot renew. But a node that was paused (a
//! frozen VM, a stalled disk) past its lease's expiry wakes up with the
//! session still running for a moment, while another node has taken the
//! lease and runs the same device. Two writers of one device's Signal state
//! would corrupt its ratchets: every message after would fail to decrypt.
//!
//! So a [`DeviceBackend`] made for a session run under a lease carries that
//! lease's [`Fence`], and each of its writes runs in a transaction that
//! first locks the lease row (`FOR SHARE`) and checks the node and the
//! generation. A write from a node that lost the lease is refused; a
//! takeover waits for a write in flight to commit, and then sees it. A
//! backend without a fence (SQLite, or no cluster) writes as before.

use sqlx::Any;
use sqlx::any::{AnyArguments, AnyQueryResult};
use sqlx::query::Query;
use wacore::store::error::StoreError as WaStoreError;

use super::{DeviceBackend, db_err};
use crate::StoreError;
use crate::app::Fence;
use crate::db::DbKind;
use crate::writer::WriterTx;

/// The lease a device's writes are fenced by.
#[derive(Clone, Debug)]
pub(crate) struct DeviceFence {
    pub session_id: String,
    pub fence: Fence,
}

impl DeviceBackend {
    /// The fence of this backend's writes: only on PostgreSQL (a SQLite
    /// file serves one node, and has no leases).
    pub(super) fn write_fence(&self) -> Option<&DeviceFence> {
        self.fence
            .as_ref()
            .filter(|_| self.store.kind == DbKind::Postgres)
    }

    /// A transaction on the writer for this device's writes: under a
    /// fence, it holds the lease row (`FOR SHARE`) and is refused when this
    /// node no longer holds the lease.
    pub(crate) async fn begin_write(&self) -> Result<WriterTx, WaStoreError> {
        let mut tx = self.store.begin_writer_tx().await.map_err(db_err)?;
        if let Some(f) = self.write_fence() {
            let held = sqlx::query(
                "SELECT 1 AS one FROM session_leases
                  WHERE session_id = $1 AND node_id = $2 AND generation = $3 FOR SHARE",
            )
            .bind(&f.session_id)
            .bind(&f.fence.node_id)
            .bind(f.fence.generation)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
            if held.is_none() {
                return Err(lease_lost(f));
            }
        }
        Ok(tx)
    }
}

/// Runs a device's write statement on the writer (see the module doc).
pub(crate) trait WriteOn {
    /// Executes the statement for device `b`: as one write statement
    /// (`Store::execute_write`), or, under a fence, in a transaction that
    /// checks it.
    async fn execute_on(self, b: &DeviceBackend) -> Result<AnyQueryResult, WaStoreError>;
}

impl<'q> WriteOn for Query<'q, Any, AnyArguments> {
    async fn execute_on(self, b: &DeviceBackend) -> Result<AnyQueryResult, WaStoreError> {
        if b.write_fence().is_none() {
            return b.store.execute_write(self).await.map_err(db_err);
        }
        let mut tx = b.begin_write().await?;
        let done = self.execute(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(done)
    }
}

fn lease_lost(f: &DeviceFence) -> WaStoreError {
    WaStoreError::Database(Box::new(StoreError::Conflict(format!(
        "this node ({}) no longer holds the lease of session {} (generation {}): the device's write was refused",
        f.fence.node_id, f.session_id, f.fence.generation
    ))))
}
