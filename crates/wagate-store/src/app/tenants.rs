//! Tenants and API keys.
//!
//! The admin key comes from the environment and is never stored; it acts as
//! the built-in admin tenant, which sees every session. Tenant keys are
//! created through the API, shown once, and stored as SHA-256 hashes.

use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::{Store, StoreError};

/// The tenant that the environment's admin key acts as.
pub const ADMIN_TENANT_ID: &str = "tnt_admin";

#[derive(Clone, Debug)]
pub struct Tenant {
    pub id: String,
    pub name: String,
    pub created_at: i64,
}

#[derive(Clone, Debug)]
pub struct ApiKeyRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: Option<String>,
    pub created_at: i64,
}

/// Who is calling: a tenant, or the admin (who may act on every tenant).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub tenant_id: String,
    pub is_admin: bool,
}

impl Principal {
    pub fn admin() -> Self {
        Principal {
            tenant_id: ADMIN_TENANT_ID.to_string(),
            is_admin: true,
        }
    }

    /// Whether this caller may see a resource owned by `tenant_id`.
    pub fn can_access(&self, tenant_id: &str) -> bool {
        self.is_admin || self.tenant_id == tenant_id
    }
}

pub fn hash_key(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

impl Store {
    /// Makes sure the admin tenant row exists (sessions reference it).
    pub async fn ensure_admin_tenant(&self) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING",
        )
        .bind(ADMIN_TENANT_ID)
        .bind("admin")
        .bind(wagate_core::now_ms())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Creates a tenant and its first API key; returns the key in the clear
    /// (the only time it is ever visible).
    pub async fn create_tenant(
        &self,
        name: &str,
    ) -> Result<(Tenant, ApiKeyRecord, String), StoreError> {
        let tenant = Tenant {
            id: wagate_core::ids::tenant_id(),
            name: name.to_string(),
            created_at: wagate_core::now_ms(),
        };
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&tenant.id)
            .bind(&tenant.name)
            .bind(tenant.created_at)
            .execute(&self.pool)
            .await?;
        let (key, secret) = self.create_api_key(&tenant.id, Some("default")).await?;
        Ok((tenant, key, secret))
    }

    pub async fn get_tenant(&self, id: &str) -> Result<Option<Tenant>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| tenant_from_row(&r)).transpose()?)
    }

    pub async fn list_tenants(&self) -> Result<Vec<Tenant>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at")
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.iter().map(tenant_from_row).collect::<Result<_, _>>()?)
    }

    /// Deletes a tenant, its keys and its event-bus outputs. Its sessions
    /// must be deleted first (the caller stops them); returns false when
    /// there was no such tenant.
    pub async fn delete_tenant(&self, id: &str) -> Result<bool, StoreError> {
        sqlx::query("DELETE FROM api_keys WHERE tenant_id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM outputs WHERE tenant_id = $1 AND global = 0")
            .bind(id)
            .execute(&self.pool)
            .await?;
        let done = sqlx::query("DELETE FROM tenants WHERE id = $1")
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn create_api_key(
        &self,
        tenant_id: &str,
        name: Option<&str>,
    ) -> Result<(ApiKeyRecord, String), StoreError> {
        let secret = wagate_core::ids::api_key_secret();
        let record = ApiKeyRecord {
            id: wagate_core::ids::key_id(),
            tenant_id: tenant_id.to_string(),
            name: name.map(str::to_owned),
            created_at: wagate_core::now_ms(),
        };
        sqlx::query(
            "INSERT INTO api_keys (id, tenant_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&record.id)
        .bind(&record.tenant_id)
        .bind(&record.name)
        .bind(hash_key(&secret))
        .bind(record.created_at)
        .execute(&self.pool)
        .await?;
        Ok((record, secret))
    }

    pub async fn list_api_keys(&self, tenant_id: &str) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, tenant_id, name, created_at FROM api_keys WHERE tenant_id = $1 ORDER BY created_at",
        )
        .bind(tenant_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(ApiKeyRecord {
                    id: r.try_get("id")?,
                    tenant_id: r.try_get("tenant_id")?,
                    name: r.try_get("name")?,
                    created_at: r.try_get("created_at")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(Into::into)
    }

    pub async fn delete_api_key(&self, tenant_id: &str, key_id: &str) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND tenant_id = $2")
            .bind(key_id)
            .bind(tenant_id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The id and tenant of a presented key, if it exists.
    pub async fn resolve_api_key_id(
        &self,
        secret: &str,
    ) -> Result<Option<(String, String)>, StoreError> {
        let row = sqlx::query("SELECT id, tenant_id FROM api_keys WHERE key_hash = $1")
            .bind(hash_key(secret))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .map(|r| Ok::<_, sqlx::Error>((r.try_get("id")?, r.try_get("tenant_id")?)))
            .transpose()?)
    }

    /// The tenant of the key `key_id`, while the key exists.
    pub async fn api_key_tenant(&self, key_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT tenant_id FROM api_keys WHERE id = $1")
            .bind(key_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("tenant_id")).transpose()?)
    }

    /// The tenant a presented key belongs to, if any.
    pub async fn resolve_api_key(&self, secret: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT tenant_id FROM api_keys WHERE key_hash = $1")
            .bind(hash_key(secret))
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("tenant_id")).transpose()?)
    }
}

fn tenant_from_row(r: &sqlx::any::AnyRow) -> Result<Tenant, sqlx::Error> {
    Ok(Tenant {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        created_at: r.try_get("created_at")?,
    })
}
