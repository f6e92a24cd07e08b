//! Event-bus outputs of a tenant: create, list, get, update, delete.
//!
//! An output publishes the tenant's events (or one session's) from the
//! durable log to NATS JetStream (subject `wagate.<tenant>.<session>.<event>`)
//! or RabbitMQ (topic exchange, routing key `<tenant>.<session>.<event>`);
//! the publisher (`wagate-events`) notices new, edited and re-enabled
//! outputs within a second. The broker URL's password is write-only: answers
//! show it as `***`. A tenant's broker must be an address the outbound
//! policy lets the gateway reach (checked now and again at every connect);
//! the admin tenant's may be anywhere, as the operator's own. The admin key
//! sees every tenant's outputs, including those from the environment
//! (`NATS_URL`, `RABBITMQ_URL`), which only the environment changes.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::output::{check_broker_url, check_target};
use wagate_core::{ErrorCode, OutputKind, iso_ms};
use wagate_store::app::outputs::{NewOutput, OutputPatch, OutputRecord, redact_url};
use wagate_store::app::{ADMIN_TENANT_ID, Principal};

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;
use crate::webhook_config::events_ok;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/outputs", get(list_outputs).post(create_output))
        .route(
            "/outputs/{id}",
            get(get_output).patch(update_output).delete(delete_output),
        )
}

/// Most outputs one tenant may have.
const MAX_PER_TENANT: u64 = 10;
/// The stream a NATS output writes to unless told otherwise (the admin's
/// and the environment's; a tenant's default is its own, see
/// [`default_target`]).
const DEFAULT_NATS_STREAM: &str = "WAGATE";
const DEFAULT_RABBITMQ_EXCHANGE: &str = "wagate";

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOutput {
    /// `nats` (JetStream) or `rabbitmq`.
    #[serde(rename = "type")]
    #[schema(example = "nats")]
    pub kind: String,
    /// `nats://[user:pass@]host:4222` (or `tls://`), `amqp://user:pass@host:5672/vhost` (or `amqps://`). The password is write-only.
    #[schema(example = "nats://127.0.0.1:4222")]
    pub url: String,
    /// Event names to publish; `*` (the default) is every event.
    pub events: Option<Vec<String>>,
    /// Only this session's events (default: every session of the tenant).
    pub session_id: Option<String>,
    /// NATS: the JetStream stream, created when missing (default `WAGATE_<tenant>`, capturing `wagate.<tenant>.>`).
    pub stream: Option<String>,
    /// RabbitMQ: the durable topic exchange, declared when missing (default `wagate`).
    pub exchange: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOutput {
    pub url: Option<String>,
    pub events: Option<Vec<String>>,
    pub stream: Option<String>,
    pub exchange: Option<String>,
    /// `false` pauses publishing (the cursor stays), `true` resumes it.
    pub active: Option<bool>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutputDto {
    #[schema(example = "out_3f1c2a9b7d6e4f10")]
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// The broker URL with its password shown as `***`.
    pub url: String,
    /// NATS: the JetStream stream.
    pub stream: Option<String>,
    /// RabbitMQ: the topic exchange.
    pub exchange: Option<String>,
    pub session_id: Option<String>,
    pub tenant_id: String,
    pub events: Vec<String>,
    pub active: bool,
    /// From the environment: every tenant's events.
    pub global: bool,
    /// The last event sequence number the broker confirmed.
    pub last_published_seq: i64,
    /// Messages published so far.
    pub published: i64,
    /// Why the last attempt failed (cleared by the next confirmed publish).
    pub last_error: Option<String>,
    pub last_error_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl From<&OutputRecord> for OutputDto {
    fn from(o: &OutputRecord) -> Self {
        let (stream, exchange) = match o.kind {
            OutputKind::Nats => (Some(o.target.clone()), None),
            OutputKind::Rabbitmq => (None, Some(o.target.clone())),
        };
        OutputDto {
            id: o.id.clone(),
            kind: o.kind.to_string(),
            url: redact_url(&o.url),
            stream,
            exchange,
            session_id: o.session_id.clone(),
            tenant_id: o.tenant_id.clone(),
            events: o.events.clone(),
            active: o.enabled,
            global: o.global,
            last_published_seq: o.last_seq,
            published: o.published,
            last_error: o.last_error.clone(),
            last_error_at: o.last_error_at.map(iso_ms),
            created_at: iso_ms(o.created_at),
            updated_at: iso_ms(o.updated_at),
        }
    }
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("Output '{id}' not found"))
}

fn kind_ok(kind: &str) -> Result<OutputKind, ApiError> {
    kind.trim()
        .parse()
        .map_err(|_| ApiError::validation("type must be 'nats' or 'rabbitmq'"))
}

/// A broker URL of the right scheme, and (for a tenant) one whose host the
/// outbound policy lets the gateway reach.
async fn url_ok(
    state: &AppState,
    principal: &Principal,
    kind: OutputKind,
    url: &str,
) -> Result<String, ApiError> {
    let url = url.trim();
    let parsed =
        check_broker_url(kind, url).map_err(|e| ApiError::validation(format!("url {e}")))?;
    if principal.tenant_id == ADMIN_TENANT_ID {
        return Ok(url.to_string());
    }
    // A name that does not resolve now is let through, as for webhooks:
    // the publisher checks again at every connect.
    let port = wagate_core::output::broker_port(kind, &parsed);
    let policy = state.manager.config().outbound.policy();
    if let Err(e) = policy.check_host_resolving(&parsed, port).await {
        return Err(ApiError::validation(format!("url: {}", e.message))
            .with_details(serde_json::json!({ "reason": e.reason.as_str() })));
    }
    Ok(url.to_string())
}

fn target_ok(kind: OutputKind, target: &str) -> Result<String, ApiError> {
    let field = match kind {
        OutputKind::Nats => "stream",
        OutputKind::Rabbitmq => "exchange",
    };
    let target = target.trim();
    check_target(kind, target).map_err(|e| ApiError::validation(format!("{field}: {e}")))?;
    Ok(target.to_string())
}

/// The stream or exchange named for `kind` in a body; naming the other
/// kind's is an error (it would be silently ignored otherwise).
fn named_target(
    kind: OutputKind,
    stream: Option<String>,
    exchange: Option<String>,
) -> Result<Option<String>, ApiError> {
    match (kind, stream, exchange) {
        (OutputKind::Nats, _, Some(_)) => Err(ApiError::validation(
            "exchange is for rabbitmq outputs; a nats output has a stream",
        )),
        (OutputKind::Rabbitmq, Some(_), _) => Err(ApiError::validation(
            "stream is for nats outputs; a rabbitmq output has an exchange",
        )),
        (OutputKind::Nats, s, None) => s.map(|s| target_ok(kind, &s)).transpose(),
        (OutputKind::Rabbitmq, None, e) => e.map(|e| target_ok(kind, &e)).transpose(),
    }
}

/// A tenant's own stream by default, so tenants sharing a NATS server never
/// share a stream; the admin's is `WAGATE`.
fn default_target(kind: OutputKind, tenant_id: &str) -> String {
    match kind {
        OutputKind::Nats if tenant_id == ADMIN_TENANT_ID => DEFAULT_NATS_STREAM.to_string(),
        OutputKind::Nats => format!(
            "{DEFAULT_NATS_STREAM}_{}",
            wagate_core::output::token(tenant_id)
        ),
        OutputKind::Rabbitmq => DEFAULT_RABBITMQ_EXCHANGE.to_string(),
    }
}

async fn owned(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<OutputRecord, ApiError> {
    state
        .store
        .get_output(id)
        .await?
        .filter(|o| principal.can_access(&o.tenant_id))
        .ok_or_else(|| not_found(id))
}

fn output_id() -> String {
    let raw = uuid::Uuid::new_v4().simple().to_string();
    format!("out_{}", &raw[..16])
}

/// Create an event-bus output (NATS JetStream or RabbitMQ) for the caller's events.
#[utoipa::path(post, path = "/api/outputs", tag = "outputs", request_body = CreateOutput,
    security(("api_key" = [])),
    responses((status = 201, description = "Created: publishing starts with the next event", body = OutputDto),
              (status = 400, description = "VALIDATION_ERROR (type, url, stream/exchange, events; `details.reason: forbidden_address` for an internal broker address)"),
              (status = 403, description = "FORBIDDEN: the tenant has the most outputs allowed"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn create_output(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateOutput>,
) -> Result<Envelope<OutputDto>, ApiError> {
    let kind = kind_ok(&body.kind)?;
    let url = url_ok(&state, &principal, kind, &body.url).await?;
    let events = events_ok(body.events)?.unwrap_or_else(|| vec!["*".to_string()]);
    let target = named_target(kind, body.stream, body.exchange)?
        .unwrap_or_else(|| default_target(kind, &principal.tenant_id));
    if let Some(session_id) = &body.session_id {
        let visible = state
            .store
            .get_session(session_id)
            .await?
            .is_some_and(|s| s.tenant_id == principal.tenant_id);
        if !visible {
            return Err(ApiError::new(
                ErrorCode::SessionNotFound,
                format!("Session '{session_id}' not found"),
            ));
        }
    }
    if state.store.count_outputs(&principal.tenant_id).await? >= MAX_PER_TENANT {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            format!("a tenant may have at most {MAX_PER_TENANT} outputs"),
        ));
    }
    let created = state
        .store
        .insert_output(&NewOutput {
            id: output_id(),
            tenant_id: principal.tenant_id.clone(),
            global: false,
            session_id: body.session_id,
            kind,
            url,
            target,
            events,
            last_seq: state.store.last_event_seq().await?,
        })
        .await?;
    Ok(envelope::created(OutputDto::from(&created)))
}

/// List the caller's outputs (the admin key: every tenant's, and the environment's).
#[utoipa::path(get, path = "/api/outputs", tag = "outputs",
    security(("api_key" = [])),
    responses((status = 200, description = "The outputs, oldest first", body = [OutputDto])))]
pub async fn list_outputs(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> Result<Envelope<Vec<OutputDto>>, ApiError> {
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let list = state.store.list_outputs(tenant).await?;
    Ok(envelope::ok(list.iter().map(OutputDto::from).collect()))
}

/// Get one output, with its cursor and last error.
#[utoipa::path(get, path = "/api/outputs/{id}", tag = "outputs",
    params(("id" = String, Path, description = "Output id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The output", body = OutputDto),
              (status = 404, description = "NOT_FOUND")))]
pub async fn get_output(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Envelope<OutputDto>, ApiError> {
    let o = owned(&state, &principal, &id).await?;
    Ok(envelope::ok(OutputDto::from(&o)))
}

/// Update an output: URL, stream or exchange, event filter, or pause/resume; the publisher reconnects within a second.
#[utoipa::path(patch, path = "/api/outputs/{id}", tag = "outputs", request_body = UpdateOutput,
    params(("id" = String, Path, description = "Output id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The updated output", body = OutputDto),
              (status = 400, description = "VALIDATION_ERROR"),
              (status = 403, description = "FORBIDDEN: an output from the environment"),
              (status = 404, description = "NOT_FOUND")))]
pub async fn update_output(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Json(body): Json<UpdateOutput>,
) -> Result<Envelope<OutputDto>, ApiError> {
    let current = owned(&state, &principal, &id).await?;
    environment_owns(&current)?;
    let url = match &body.url {
        Some(u) => Some(url_ok(&state, &principal, current.kind, u).await?),
        None => None,
    };
    let patch = OutputPatch {
        url,
        target: named_target(current.kind, body.stream, body.exchange)?,
        events: events_ok(body.events)?,
        enabled: body.active,
    };
    let updated = state
        .store
        .update_output(&current.id, &patch)
        .await?
        .ok_or_else(|| not_found(&id))?;
    Ok(envelope::ok(OutputDto::from(&updated)))
}

/// Delete an output; publishing stops within a second.
#[utoipa::path(delete, path = "/api/outputs/{id}", tag = "outputs",
    params(("id" = String, Path, description = "Output id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Deleted"),
              (status = 403, description = "FORBIDDEN: an output from the environment"),
              (status = 404, description = "NOT_FOUND")))]
pub async fn delete_output(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let current = owned(&state, &principal, &id).await?;
    environment_owns(&current)?;
    state.store.delete_output(&current.id).await?;
    Ok(envelope::message("Output deleted successfully"))
}

/// The environment's outputs are changed by the environment only (a
/// restart would undo an edit).
fn environment_owns(output: &OutputRecord) -> Result<(), ApiError> {
    if output.global {
        return Err(ApiError::new(
            ErrorCode::Forbidden,
            "this output comes from the environment (NATS_URL / RABBITMQ_URL): change it there",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_names_its_own_kind_of_target() {
        assert!(named_target(OutputKind::Nats, None, Some("x".into())).is_err());
        assert!(named_target(OutputKind::Rabbitmq, Some("X".into()), None).is_err());
        assert_eq!(
            named_target(OutputKind::Nats, Some("EV".into()), None).unwrap(),
            Some("EV".to_string())
        );
        assert!(named_target(OutputKind::Nats, Some("a.b".into()), None).is_err());
    }

    #[test]
    fn tenants_get_their_own_stream() {
        assert_eq!(
            default_target(OutputKind::Nats, "tnt_abc"),
            "WAGATE_tnt_abc"
        );
        assert_eq!(default_target(OutputKind::Nats, ADMIN_TENANT_ID), "WAGATE");
        assert_eq!(default_target(OutputKind::Rabbitmq, "tnt_abc"), "wagate");
    }
}
