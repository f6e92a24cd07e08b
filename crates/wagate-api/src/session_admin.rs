//! What a session looks like to a client ([`SessionDto`]) and creating
//! one ([`create`]: the request's checks, the tenant's quota, its first
//! webhook, its proxy), and starting pairing over for a fresh QR code
//! ([`fresh_qr`]).
//! The native session routes and the drop-in modes share these, so a
//! session made either way follows the same rules.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::limits::SESSION_NAME_MAX_CHARS;
use wagate_core::{ErrorCode, SessionStatus, StatusReason, iso_ms};
use wagate_engine::Session;
use wagate_store::app::{Principal, SessionMeta, SessionRecord};

use crate::error::ApiError;
use crate::state::AppState;

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateSession {
    /// Unique per tenant, 1–100 characters.
    #[schema(example = "my-bot")]
    pub name: String,
    /// A webhook to register on the new session.
    pub webhook: Option<crate::webhook_config::CreateWebhook>,
    /// Availability flag for external apps (default false).
    #[serde(default)]
    pub used: bool,
    /// Free text, up to 1000 characters.
    pub notes: Option<String>,
    /// The circle (named group of sessions) to put it in.
    #[schema(example = "sales")]
    pub circle: Option<String>,
    /// The name the phone shows under Linked Devices (default: the OS).
    pub device_name: Option<String>,
    /// The OS the linked device reports (default `DEVICE_OS`, else one of
    /// Windows, macOS, Ubuntu, Linux, Fedora at random).
    #[schema(example = "macOS")]
    pub device_os: Option<String>,
    /// A proxy for the session's WhatsApp WebSocket and media (default:
    /// its `PROXY_POOL` entry, else `PROXY_URL`, else none).
    pub proxy: Option<crate::session_proxy::ProxyInput>,
    /// What the session does by itself (calls, presence, reading, ignored
    /// chats); left out: the `SESSION_*` defaults.
    #[schema(value_type = Option<crate::session_settings::SessionSettingsChange>)]
    pub settings: Option<wagate_core::SettingsPatch>,
}

pub const NOTES_MAX_CHARS: usize = 1000;
pub const CIRCLE_MAX_CHARS: usize = 100;
pub const DEVICE_FIELD_MAX_CHARS: usize = 50;

/// `notes` checked: `None` when empty, an error when too long.
pub fn checked_notes(notes: &str) -> Result<Option<String>, ApiError> {
    if notes.chars().count() > NOTES_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "notes must be at most {NOTES_MAX_CHARS} characters"
        )));
    }
    Ok((!notes.is_empty()).then(|| notes.to_string()))
}

/// A session's new name: trimmed, 1 to the contract's maximum characters.
pub fn checked_new_name(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > SESSION_NAME_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "name must be 1 to {SESSION_NAME_MAX_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

/// A trimmed optional name field: `None` when blank, an error when too long.
pub fn checked_name(field: &str, value: &str, max: usize) -> Result<Option<String>, ApiError> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(ApiError::validation(format!(
            "{field} must be at most {max} characters"
        )));
    }
    Ok((!value.is_empty()).then(|| value.to_string()))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionDto {
    #[schema(example = "sess_abc123def456")]
    pub id: String,
    pub name: String,
    /// INITIALIZING, SCAN_QR, CONNECTING, CONNECTED, DISCONNECTED or FAILED.
    #[schema(example = "CONNECTED")]
    pub status: &'static str,
    /// Why a session is DISCONNECTED or FAILED (stopped, logged_out, banned, qr_expired, fatal), or why a CONNECTING one cannot reach WhatsApp (dns_failed, connection_refused, network_unreachable, tls_failed, connect_timeout, version_fetch_failed, handshake_failed; through its proxy: proxy_unreachable, proxy_auth_failed, proxy_refused).
    pub status_reason: Option<&'static str>,
    /// With a connection problem: the latest attempt's error, one line.
    pub last_error: Option<String>,
    /// With a connection problem: when the next attempt is due (about: ±10 %).
    pub next_retry_at: Option<String>,
    pub phone_number: Option<String>,
    pub push_name: Option<String>,
    pub platform: Option<String>,
    pub connected_at: Option<String>,
    pub created_at: String,
    /// The current QR code, when one is waiting to be scanned.
    pub qr: Option<String>,
    /// Availability flag kept for external apps.
    pub used: bool,
    pub notes: Option<String>,
    pub circle: Option<String>,
    /// What the phone shows under Linked Devices.
    pub device_name: Option<String>,
    pub device_os: Option<String>,
    /// The proxy its WhatsApp traffic goes through (password as `***`);
    /// `null`: it connects directly.
    pub proxy: Option<crate::session_proxy::ProxyDto>,
    /// What the session does by itself.
    #[schema(value_type = crate::session_settings::SessionSettingsDto)]
    pub settings: wagate_core::SessionSettings,
    /// In a cluster: the node that runs it (`NODE_ID`); `null` when none
    /// does, and absent on a single node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<Option<String>>,
}

impl SessionDto {
    /// The same view with the session's proxy.
    pub async fn with_proxy(mut self, state: &AppState) -> Result<Self, ApiError> {
        self.proxy = crate::session_proxy::view(state, &self.id).await?;
        Ok(self)
    }

    pub fn from_record(r: &SessionRecord, live: Option<&wagate_engine::LiveState>) -> Self {
        let (status, reason) = match live {
            Some(l) => (l.status, l.reason),
            None => (r.status, r.status_reason),
        };
        SessionDto {
            id: r.id.clone(),
            name: r.name.clone(),
            status: status.api(),
            status_reason: reason.map(StatusReason::as_str),
            last_error: live.and_then(|l| l.last_error.clone()),
            next_retry_at: live.and_then(|l| l.next_retry_at_ms).map(iso_ms),
            phone_number: r.phone.clone(),
            push_name: r.push_name.clone(),
            platform: r.platform.clone(),
            connected_at: r.connected_at.map(iso_ms),
            created_at: iso_ms(r.created_at),
            qr: live
                .and_then(|l| l.qr.clone())
                .filter(|_| status == SessionStatus::QrReady),
            used: r.used,
            notes: r.notes.clone(),
            circle: r.circle.clone(),
            device_name: r.device_name.clone(),
            device_os: r.device_os.clone(),
            proxy: None,
            settings: live.map(|l| l.settings.clone()).unwrap_or_default(),
            node: None,
        }
    }

    /// The same view with the node that runs the session (in a cluster).
    pub async fn with_node(mut self, state: &AppState) -> Result<Self, ApiError> {
        if let Some(cluster) = state.manager.cluster() {
            self.node = Some(if cluster.holds(&self.id) {
                Some(cluster.node_id().to_string())
            } else {
                cluster.owner_of(&self.id).await?.map(|o| o.node_id)
            });
        }
        Ok(self)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QrDto {
    /// The raw QR payload.
    pub code: String,
    /// The QR as a PNG data URL.
    pub image: Option<String>,
}

impl QrDto {
    /// A QR payload with its PNG rendering.
    pub fn of(code: String) -> QrDto {
        let image = wagate_core::qr::png_data_url(&code);
        QrDto { code, image }
    }
}

/// Creates a session for `principal` and starts pairing it.
pub async fn create(
    state: &AppState,
    principal: &Principal,
    body: CreateSession,
) -> Result<SessionDto, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > SESSION_NAME_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "name must be 1 to {SESSION_NAME_MAX_CHARS} characters"
        )));
    }
    if let Some(webhook) = &body.webhook {
        crate::webhook_config::validate(state, webhook).await?;
    }
    let meta = SessionMeta {
        used: body.used,
        notes: body
            .notes
            .as_deref()
            .map(checked_notes)
            .transpose()?
            .flatten(),
        circle: body
            .circle
            .as_deref()
            .map(|c| checked_name("circle", c, CIRCLE_MAX_CHARS))
            .transpose()?
            .flatten(),
        device_name: body
            .device_name
            .as_deref()
            .map(|c| checked_name("deviceName", c, DEVICE_FIELD_MAX_CHARS))
            .transpose()?
            .flatten(),
        device_os: body
            .device_os
            .as_deref()
            .map(|c| checked_name("deviceOs", c, DEVICE_FIELD_MAX_CHARS))
            .transpose()?
            .flatten(),
        settings: body.settings.unwrap_or_default(),
    };
    let proxy = match &body.proxy {
        Some(p) => Some(crate::session_proxy::checked(state, &principal.tenant_id, p).await?),
        None => None,
    };
    crate::session_settings::checked(&meta.settings)?;
    if !principal.is_admin {
        check_session_quota(state, &principal.tenant_id).await?;
    }
    // Where the new session's webhook starts: before its first event.
    let webhook_start = state.store.last_event_seq().await?;
    let created = state
        .manager
        .create_with_proxy(&principal.tenant_id, name, meta, proxy.as_ref())
        .await;
    let (record, session) = match created {
        Ok(v) => v,
        Err(wagate_engine::EngineError::Store(wagate_store::StoreError::Conflict(m))) => {
            return Err(ApiError::new(ErrorCode::SessionAlreadyExists, m));
        }
        Err(e) => return Err(e.into()),
    };
    if let Some(webhook) = body.webhook {
        crate::webhook_config::create_for_session(state, &record, webhook, Some(webhook_start))
            .await?;
    }
    let live = session.live();
    SessionDto::from_record(&record, Some(&live))
        .with_proxy(state)
        .await?
        .with_node(state)
        .await
}

/// 403 `SESSION_LIMIT_REACHED` when the tenant holds its quota already: its
/// own (`PUT /api/tenants/{id}/session-limit`), else
/// `MAX_SESSIONS_PER_TENANT` (default: unlimited).
async fn check_session_quota(state: &AppState, tenant: &str) -> Result<(), ApiError> {
    let own = state.store.tenant_session_limit(tenant).await?.flatten();
    let Some(max) = own.or(state.config.max_sessions_per_tenant) else {
        return Ok(());
    };
    if state.store.count_tenant_sessions(tenant).await? >= max {
        return Err(ApiError::new(
            ErrorCode::SessionLimitReached,
            format!("this tenant may hold at most {max} sessions: delete one first"),
        )
        .with_details(serde_json::json!({ "limit": max })));
    }
    Ok(())
}

/// Starts the pairing flow over and waits for its first QR code (the codes
/// shown before stop working). A connected session has nothing to pair.
pub async fn fresh_qr(
    state: &AppState,
    record: &SessionRecord,
    session: &std::sync::Arc<Session>,
) -> Result<QrDto, ApiError> {
    if session.status() == SessionStatus::Ready {
        return Err(ApiError::new(
            ErrorCode::SessionQrExpired,
            "the session is already connected: log it out to pair it again",
        ));
    }
    state.manager.stop(&record.id).await?;
    let code = session.wait_for_qr(state.config.qr_wait).await?;
    Ok(QrDto::of(code))
}
