//! `DeviceStore`: the persisted `wacore::store::Device` of one linked device
//! (our identity, noise and signed-prekey key pairs, registration id, account
//! signature, push name, prekey counters, cached server cert chain, …).
//!
//! Stored column by column in `wa_device_data`, encoded exactly as
//! `whatsapp-rust-sqlite-storage` does: key pairs as 32-byte private ‖ 32-byte
//! public key, the account as its protobuf bytes, JIDs as strings ("" = none),
//! the cert chain as protobuf. Runtime-only fields (`device_props`,
//! `client_profile`, `nct_salt_sync_seen`) are not stored and come back with
//! the same defaults the reference backend uses.

use std::sync::Arc;

use async_trait::async_trait;
use wacore::libsignal::protocol::{KeyPair, PrivateKey, PublicKey};
use wacore::store::Device;
use wacore::store::error::{Result, StoreError};
use wacore::store::traits::DeviceStore;
use wacore_binary::Jid;

use super::fence::WriteOn;
use super::wire::{decode_server_cert_chain, encode_server_cert_chain};
use super::{DeviceBackend, db_err, now_secs, to_u32};

fn encode_key_pair(key_pair: &KeyPair) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(64);
    bytes.extend_from_slice(key_pair.private_key.serialize());
    bytes.extend_from_slice(key_pair.public_key.public_key_bytes());
    bytes
}

fn decode_key_pair(what: &str, bytes: &[u8]) -> Result<KeyPair> {
    if bytes.len() != 64 {
        return Err(StoreError::Validation(format!(
            "{what}: expected a 64-byte key pair, got {} bytes",
            bytes.len()
        )));
    }
    let private_key = PrivateKey::deserialize(&bytes[..32])
        .map_err(|e| StoreError::Serialization(Box::new(e)))?;
    let public_key = PublicKey::from_djb_public_key_bytes(&bytes[32..])
        .map_err(|e| StoreError::Serialization(Box::new(e)))?;
    Ok(KeyPair::new(public_key, private_key))
}

fn fixed<const N: usize>(what: &str, bytes: Vec<u8>) -> Result<[u8; N]> {
    let len = bytes.len();
    bytes
        .try_into()
        .map_err(|_| StoreError::Validation(format!("{what}: expected {N} bytes, got {len}")))
}

fn parse_jid(device_id: i64, what: &str, s: &str) -> Option<Jid> {
    if s.is_empty() {
        return None;
    }
    match s.parse::<Jid>() {
        Ok(jid) => Some(jid),
        Err(e) => {
            tracing::warn!(device_id, field = what, value = s, error = %e, "stored JID does not parse; treating it as absent");
            None
        }
    }
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    lid: String,
    pn: String,
    registration_id: i64,
    noise_key: Vec<u8>,
    identity_key: Vec<u8>,
    signed_pre_key: Vec<u8>,
    signed_pre_key_id: i64,
    signed_pre_key_signature: Vec<u8>,
    adv_secret_key: Vec<u8>,
    account: Option<Vec<u8>>,
    push_name: String,
    app_version_primary: i64,
    app_version_secondary: i64,
    app_version_tertiary: i64,
    app_version_last_fetched_ms: i64,
    edge_routing_info: Option<Vec<u8>>,
    props_hash: Option<String>,
    next_pre_key_id: i64,
    first_unupload_pre_key_id: i64,
    server_has_prekeys: i64,
    nct_salt: Option<Vec<u8>>,
    server_cert_chain: Option<Vec<u8>>,
    login_counter: i64,
    lid_migrated: i64,
    last_signed_pre_key_rotation_ms: i64,
    read_receipts_disabled: i64,
}

const DEVICE_COLUMNS: &str = "lid, pn, registration_id, noise_key, identity_key, signed_pre_key, \
    signed_pre_key_id, signed_pre_key_signature, adv_secret_key, account, push_name, \
    app_version_primary, app_version_secondary, app_version_tertiary, app_version_last_fetched_ms, \
    edge_routing_info, props_hash, next_pre_key_id, first_unupload_pre_key_id, server_has_prekeys, \
    nct_salt, server_cert_chain, login_counter, lid_migrated, last_signed_pre_key_rotation_ms, \
    read_receipts_disabled";

impl DeviceRow {
    fn into_device(self, device_id: i64) -> Result<Device> {
        let account = self
            .account
            .map(|bytes| {
                wacore::store::device::account_serde::from_bytes(&bytes)
                    .map(Arc::new)
                    .map_err(|e| StoreError::Serialization(Box::new(e)))
            })
            .transpose()?;
        // The cert chain is a cache for Noise IK, not identity: a bad blob
        // degrades to None (one XX handshake repopulates it), as upstream.
        let server_cert_chain = self.server_cert_chain.as_deref().and_then(|bytes| {
            match decode_server_cert_chain(bytes) {
                Ok(chain) => Some(chain),
                Err(e) => {
                    tracing::warn!(device_id, len = bytes.len(), error = %e, "cached server cert chain does not decode; dropping it");
                    None
                }
            }
        });
        Ok(Device {
            pn: parse_jid(device_id, "pn", &self.pn),
            lid: parse_jid(device_id, "lid", &self.lid),
            registration_id: to_u32("registration_id", self.registration_id)?,
            noise_key: decode_key_pair("noise_key", &self.noise_key)?,
            identity_key: decode_key_pair("identity_key", &self.identity_key)?,
            signed_pre_key: decode_key_pair("signed_pre_key", &self.signed_pre_key)?,
            signed_pre_key_id: to_u32("signed_pre_key_id", self.signed_pre_key_id)?,
            signed_pre_key_signature: fixed(
                "signed_pre_key_signature",
                self.signed_pre_key_signature,
            )?,
            adv_secret_key: fixed("adv_secret_key", self.adv_secret_key)?,
            account,
            push_name: self.push_name,
            app_version_primary: to_u32("app_version_primary", self.app_version_primary)?,
            app_version_secondary: to_u32("app_version_secondary", self.app_version_secondary)?,
            app_version_tertiary: to_u32("app_version_tertiary", self.app_version_tertiary)?,
            app_version_last_fetched_ms: self.app_version_last_fetched_ms,
            device_props: Arc::new(wacore::store::device::DEVICE_PROPS.clone()),
            client_profile: wacore::client_profile::ClientProfile::web(),
            edge_routing_info: self.edge_routing_info,
            props_hash: self.props_hash,
            next_pre_key_id: to_u32("next_pre_key_id", self.next_pre_key_id)?,
            first_unupload_pre_key_id: to_u32(
                "first_unupload_pre_key_id",
                self.first_unupload_pre_key_id,
            )?,
            server_has_prekeys: self.server_has_prekeys != 0,
            nct_salt: self.nct_salt,
            nct_salt_sync_seen: false,
            server_cert_chain,
            login_counter: i32::try_from(self.login_counter).map_err(|_| {
                StoreError::Validation(format!(
                    "login_counter out of range: {}",
                    self.login_counter
                ))
            })?,
            lid_migrated: self.lid_migrated != 0,
            last_signed_pre_key_rotation_ms: self.last_signed_pre_key_rotation_ms,
            read_receipts_disabled: self.read_receipts_disabled != 0,
        })
    }
}

#[async_trait]
impl DeviceStore for DeviceBackend {
    async fn save(&self, device: &Device) -> Result<()> {
        let sql = format!(
            "INSERT INTO wa_device_data (device_id, {DEVICE_COLUMNS}, updated_at) VALUES ({}) \
             ON CONFLICT (device_id) DO UPDATE SET {}, updated_at = excluded.updated_at",
            super::placeholders(28, 1),
            DEVICE_COLUMNS
                .split(',')
                .map(|c| {
                    let c = c.trim();
                    format!("{c} = excluded.{c}")
                })
                .collect::<Vec<_>>()
                .join(", ")
        );
        super::dyn_query(sql)
            .bind(self.device_id)
            .bind(
                device
                    .lid
                    .as_ref()
                    .map(|j| j.to_string())
                    .unwrap_or_default(),
            )
            .bind(
                device
                    .pn
                    .as_ref()
                    .map(|j| j.to_string())
                    .unwrap_or_default(),
            )
            .bind(i64::from(device.registration_id))
            .bind(encode_key_pair(&device.noise_key))
            .bind(encode_key_pair(&device.identity_key))
            .bind(encode_key_pair(&device.signed_pre_key))
            .bind(i64::from(device.signed_pre_key_id))
            .bind(device.signed_pre_key_signature.to_vec())
            .bind(device.adv_secret_key.to_vec())
            .bind(
                device
                    .account
                    .as_deref()
                    .map(wacore::store::device::account_serde::to_bytes),
            )
            .bind(device.push_name.clone())
            .bind(i64::from(device.app_version_primary))
            .bind(i64::from(device.app_version_secondary))
            .bind(i64::from(device.app_version_tertiary))
            .bind(device.app_version_last_fetched_ms)
            .bind(device.edge_routing_info.clone())
            .bind(device.props_hash.clone())
            .bind(i64::from(device.next_pre_key_id))
            .bind(i64::from(device.first_unupload_pre_key_id))
            .bind(i64::from(device.server_has_prekeys))
            .bind(device.nct_salt.clone())
            .bind(
                device
                    .server_cert_chain
                    .as_ref()
                    .map(encode_server_cert_chain),
            )
            .bind(i64::from(device.login_counter))
            .bind(i64::from(device.lid_migrated))
            .bind(device.last_signed_pre_key_rotation_ms)
            .bind(i64::from(device.read_receipts_disabled))
            .bind(now_secs())
            .execute_on(self)
            .await?;
        self.durable().await?;
        Ok(())
    }

    async fn load(&self) -> Result<Option<Device>> {
        let row: Option<DeviceRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {DEVICE_COLUMNS} FROM wa_device_data WHERE device_id = $1"
        )))
        .bind(self.device_id)
        .fetch_optional(self.pool())
        .await
        .map_err(db_err)?;
        row.map(|r| r.into_device(self.device_id)).transpose()
    }

    /// Whether a device was saved (not merely allocated).
    async fn exists(&self) -> Result<bool> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT 1 FROM wa_device_data WHERE device_id = $1")
                .bind(self.device_id)
                .fetch_optional(self.pool())
                .await
                .map_err(db_err)?;
        Ok(row.is_some())
    }

    /// The backend is bound to a device row `Store::create_device` already
    /// allocated: return its id (an error if that row is gone).
    async fn create(&self) -> Result<i32> {
        let id = i32::try_from(self.device_id).map_err(|_| {
            StoreError::InvalidConfig(format!("device id {} exceeds i32", self.device_id))
        })?;
        let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM wa_devices WHERE id = $1")
            .bind(self.device_id)
            .fetch_optional(self.pool())
            .await
            .map_err(db_err)?;
        match row {
            Some(_) => Ok(id),
            None => Err(StoreError::DeviceNotFound(id)),
        }
    }
}
