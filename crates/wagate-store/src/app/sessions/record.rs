//! The `sessions` row: [`SessionRecord`] as read back, what creates one
//! ([`NewSession`], [`SessionMeta`]), what patches one ([`SessionMetaPatch`]),
//! how lists are filtered ([`SessionFilter`]), and the column list and
//! decoder every query shares.

use sqlx::Row;
use wagate_core::{SessionStatus, SettingsPatch, StatusReason};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub status: SessionStatus,
    pub status_reason: Option<StatusReason>,
    pub desired_running: bool,
    pub device_id: Option<i64>,
    pub phone: Option<String>,
    pub push_name: Option<String>,
    pub platform: Option<String>,
    pub connected_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// Kept for external apps: is this session taken (default false)?
    pub used: bool,
    pub notes: Option<String>,
    /// The named group of sessions it belongs to.
    pub circle: Option<String>,
    /// What the phone shows under Linked Devices.
    pub device_name: Option<String>,
    pub device_os: Option<String>,
    /// The behaviour settings the session chose (`settings.rs`).
    pub settings: SettingsPatch,
}

#[derive(Clone, Debug)]
pub struct NewSession {
    pub id: String,
    pub tenant_id: String,
    pub name: String,
    pub meta: SessionMeta,
}

/// What a client may set on a session besides its name.
#[derive(Clone, Debug, Default)]
pub struct SessionMeta {
    pub used: bool,
    pub notes: Option<String>,
    pub circle: Option<String>,
    pub device_name: Option<String>,
    pub device_os: Option<String>,
    /// Behaviour settings chosen at creation.
    pub settings: SettingsPatch,
}

/// A partial update of a session's metadata: `None` leaves a field as it is;
/// `Some(None)` clears a nullable one.
#[derive(Clone, Debug, Default)]
pub struct SessionMetaPatch {
    pub used: Option<bool>,
    pub notes: Option<Option<String>>,
    pub circle: Option<Option<String>>,
    /// A new name (unique per tenant: `Conflict` otherwise).
    pub name: Option<String>,
    /// The device name shown on the phone from the next pairing on.
    pub device_name: Option<Option<String>>,
}

#[derive(Clone, Debug, Default)]
pub struct SessionFilter {
    /// `None` lists every tenant's sessions (admin only).
    pub tenant_id: Option<String>,
    pub status: Option<SessionStatus>,
    pub used: Option<bool>,
    pub circle: Option<String>,
    /// 1-based.
    pub page: u32,
    pub limit: u32,
}

pub(super) const COLUMNS: &str = "id, tenant_id, name, status, status_reason, desired, device_id, phone, push_name, platform, connected_at, created_at, updated_at, used, notes, circle, device_name, device_os, settings";

pub(super) fn session_from_row(r: &sqlx::any::AnyRow) -> Result<SessionRecord, sqlx::Error> {
    let status: String = r.try_get("status")?;
    let reason: Option<String> = r.try_get("status_reason")?;
    let desired: String = r.try_get("desired")?;
    Ok(SessionRecord {
        id: r.try_get("id")?,
        tenant_id: r.try_get("tenant_id")?,
        name: r.try_get("name")?,
        status: SessionStatus::from_internal(&status).unwrap_or(SessionStatus::Error),
        status_reason: reason.as_deref().and_then(StatusReason::parse),
        desired_running: desired == "running",
        device_id: r.try_get("device_id")?,
        phone: r.try_get("phone")?,
        push_name: r.try_get("push_name")?,
        platform: r.try_get("platform")?,
        connected_at: r.try_get("connected_at")?,
        created_at: r.try_get("created_at")?,
        updated_at: r.try_get("updated_at")?,
        used: r.try_get::<i64, _>("used")? != 0,
        notes: r.try_get("notes")?,
        circle: r.try_get("circle")?,
        device_name: r.try_get("device_name")?,
        device_os: r.try_get("device_os")?,
        settings: super::settings::decode(r.try_get("settings")?),
    })
}
