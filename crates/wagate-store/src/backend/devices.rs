//! A linked device's rows: allocating its id, binding a [`DeviceBackend`]
//! to it, and wiping every engine table of it (the list lives in
//! [`DEVICE_TABLES`], beside the backend that writes them).

use std::sync::Arc;

use super::{DEVICE_TABLES, DeviceBackend};
use crate::StoreError;
use crate::db::Store;

impl Store {
    /// A backend bound to one linked device; cheap (clones the pool handle).
    pub fn device_backend(&self, device_id: i64) -> Arc<DeviceBackend> {
        Arc::new(DeviceBackend::new(self.clone(), device_id))
    }

    /// A backend bound to one linked device whose writes are fenced by the
    /// lease its session runs under (see `backend/fence.rs`): refused once
    /// this node no longer holds it.
    pub fn fenced_device_backend(
        &self,
        device_id: i64,
        session_id: &str,
        fence: crate::app::Fence,
    ) -> Arc<DeviceBackend> {
        Arc::new(DeviceBackend::new(self.clone(), device_id).fenced(session_id, fence))
    }

    /// Allocate a new device row id (a new linked device); returns it.
    /// Ids are never reused, even after [`Store::delete_device`].
    pub async fn create_device(&self) -> Result<i64, StoreError> {
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO wa_devices (created_at) VALUES ($1) RETURNING id")
                .bind(chrono::Utc::now().timestamp())
                .fetch_one(self.pool())
                .await?;
        Ok(id)
    }

    /// Wipe every engine row of a device (identity, sessions, prekeys, sender
    /// keys, app state, protocol bookkeeping, message secrets) and the device
    /// row itself, in one transaction. Deleting an unknown id is a no-op.
    pub async fn delete_device(&self, device_id: i64) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for table in DEVICE_TABLES {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM {table} WHERE device_id = $1"
            )))
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM wa_devices WHERE id = $1")
            .bind(device_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
