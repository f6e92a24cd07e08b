//! Outbox worker configurations: what each `wagate worker` process serves.
//!
//! A worker (a separate process, a client of this API) claims rows of an
//! outbox table in a database of the application's choosing and sends them
//! through the gateway. These routes keep its configuration: which
//! applications it claims rows for, the circle of sessions it sends
//! through, its pace, and its status webhook. Running workers reload them
//! every 30 seconds. A tenant sees and manages its own configurations; the
//! admin key sees every tenant's.
//!
//! `webhookSecret` is write-only: answers say `hasWebhookSecret`, except
//! when the caller asks with `?includeSecret=true` (what the worker does,
//! to sign its status webhook).

use axum::Router;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::routing::get;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::{ErrorCode, iso_ms};
use wagate_store::StoreError;
use wagate_store::app::Principal;
use wagate_store::app::outbox_workers::{NewOutboxWorker, OutboxWorkerPatch, OutboxWorkerRecord};

use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/outbox/workers",
            get(list_outbox_workers).post(create_outbox_worker),
        )
        .route(
            "/outbox/workers/{id}",
            get(get_outbox_worker)
                .patch(update_outbox_worker)
                .delete(delete_outbox_worker),
        )
}

const NAME_MAX_CHARS: usize = 100;
const CIRCLE_MAX_CHARS: usize = 100;
const APPLICATION_MAX_CHARS: usize = 1000;
const SECRET_MAX_CHARS: usize = 512;
/// Longest pause between two rows: a day.
const INTERVAL_MAX: i64 = 86_400;

/// `Some(None)` for an explicit `null`, `None` when the field is absent.
fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateOutboxWorker {
    /// Unique per tenant; `wagate worker` with `WORKER_NAME` runs only this one.
    #[schema(example = "blast-1")]
    pub name: String,
    /// Send through CONNECTED sessions of this circle (round-robin); absent: any session the worker's key sees.
    #[schema(example = "blast")]
    pub circle: Option<String>,
    /// The outbox rows served: one application, a comma list, or `*` for every row.
    #[schema(example = "App1, App2")]
    pub application: String,
    /// Pause after each row, in seconds (default 5; 0 sends back to back).
    #[schema(example = 5)]
    pub interval_seconds: Option<i64>,
    /// With it, each pause is random between `intervalSeconds` and this.
    #[schema(example = 15)]
    pub interval_max_seconds: Option<i64>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Receives `outbox.status` for every row the worker settles (http/https).
    #[schema(example = "https://your-app.example/outbox-status")]
    pub webhook_url: Option<String>,
    /// Signs the status webhook: HMAC-SHA256 of the body, hex, in `X-Wagate-Signature`. Write-only.
    pub webhook_secret: Option<String>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateOutboxWorker {
    pub name: Option<String>,
    /// `null` or `""`: any session.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub circle: Option<Option<String>>,
    pub application: Option<String>,
    pub interval_seconds: Option<i64>,
    /// `null`: no jitter.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub interval_max_seconds: Option<Option<i64>>,
    /// `false` stops the workers' loop for it within their reload interval.
    pub enabled: Option<bool>,
    /// `null` or `""` removes the status webhook.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub webhook_url: Option<Option<String>>,
    /// `null` or `""` removes the secret.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub webhook_secret: Option<Option<String>>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OutboxWorkerDto {
    #[schema(example = 1)]
    pub id: i64,
    /// The tenant it belongs to: a worker sends only through that tenant's sessions.
    pub tenant_id: String,
    pub name: String,
    pub circle: Option<String>,
    pub application: String,
    pub interval_seconds: i64,
    pub interval_max_seconds: Option<i64>,
    pub enabled: bool,
    pub webhook_url: Option<String>,
    /// Whether the status webhook is signed (the secret itself is not shown).
    pub has_webhook_secret: bool,
    /// Only with `?includeSecret=true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl OutboxWorkerDto {
    fn from_record(w: &OutboxWorkerRecord, include_secret: bool) -> Self {
        OutboxWorkerDto {
            id: w.id,
            tenant_id: w.tenant_id.clone(),
            name: w.name.clone(),
            circle: w.circle.clone(),
            application: w.application.clone(),
            interval_seconds: w.interval_seconds,
            interval_max_seconds: w.interval_max_seconds,
            enabled: w.enabled,
            webhook_url: w.webhook_url.clone(),
            has_webhook_secret: w.webhook_secret.is_some(),
            webhook_secret: w.webhook_secret.clone().filter(|_| include_secret),
            created_at: iso_ms(w.created_at),
            updated_at: iso_ms(w.updated_at),
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
pub struct SecretQuery {
    /// `true`: include `webhookSecret` (the worker signs its status webhook with it).
    pub include_secret: Option<bool>,
}

fn name_ok(name: &str) -> Result<String, ApiError> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > NAME_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "name must be 1 to {NAME_MAX_CHARS} characters"
        )));
    }
    Ok(name.to_string())
}

fn circle_ok(circle: Option<String>) -> Result<Option<String>, ApiError> {
    let Some(circle) = circle else {
        return Ok(None);
    };
    let circle = circle.trim();
    if circle.chars().count() > CIRCLE_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "circle must be at most {CIRCLE_MAX_CHARS} characters"
        )));
    }
    Ok((!circle.is_empty()).then(|| circle.to_string()))
}

/// `App1`, `App1, App2` or `*`, normalised to `a, b` (or `*`).
fn application_ok(application: &str) -> Result<String, ApiError> {
    let parts: Vec<&str> = application
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .collect();
    if parts.is_empty() || application.chars().count() > APPLICATION_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "application must name one application, a comma list, or * (at most {APPLICATION_MAX_CHARS} characters)"
        )));
    }
    if parts.contains(&"*") {
        return Ok("*".to_string());
    }
    Ok(parts.join(", "))
}

/// An http(s) URL the outbound policy lets a worker reach (an internal
/// address is refused with `reason: forbidden_address`).
async fn url_ok(state: &AppState, url: Option<String>) -> Result<Option<String>, ApiError> {
    match url.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(url) => crate::webhook_config::checked_url(state, "webhookUrl", url)
            .await
            .map(Some),
    }
}

fn secret_ok(secret: Option<String>) -> Result<Option<String>, ApiError> {
    match secret {
        Some(s) if s.chars().count() > SECRET_MAX_CHARS => Err(ApiError::validation(format!(
            "webhookSecret must be at most {SECRET_MAX_CHARS} characters"
        ))),
        Some(s) if s.is_empty() => Ok(None),
        other => Ok(other),
    }
}

fn intervals_ok(min: i64, max: Option<i64>) -> Result<(), ApiError> {
    if !(0..=INTERVAL_MAX).contains(&min) {
        return Err(ApiError::validation(format!(
            "intervalSeconds must be 0 to {INTERVAL_MAX}"
        )));
    }
    if let Some(max) = max
        && !(min..=INTERVAL_MAX).contains(&max)
    {
        return Err(ApiError::validation(format!(
            "intervalMaxSeconds must be at least intervalSeconds and at most {INTERVAL_MAX}"
        )));
    }
    Ok(())
}

fn not_found(id: &str) -> ApiError {
    ApiError::new(ErrorCode::NotFound, format!("outbox worker {id} not found"))
}

fn conflict(e: StoreError) -> ApiError {
    match e {
        StoreError::Conflict(m) => ApiError::new(ErrorCode::Conflict, m),
        other => other.into(),
    }
}

async fn owned(
    state: &AppState,
    principal: &Principal,
    id: &str,
) -> Result<OutboxWorkerRecord, ApiError> {
    let Ok(n) = id.parse::<i64>() else {
        return Err(not_found(id));
    };
    state
        .store
        .get_outbox_worker(n)
        .await?
        .filter(|w| principal.can_access(&w.tenant_id))
        .ok_or_else(|| not_found(id))
}

/// The configuration the route's `{id}` names, as the caller may see it:
/// an extractor, so it is checked before a body is read (another tenant
/// learns nothing from a 400).
pub struct OwnedWorker(OutboxWorkerRecord);

impl FromRequestParts<AppState> for OwnedWorker {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Auth(principal) = Auth::from_request_parts(parts, state).await?;
        let Path(id) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|e| ApiError::validation(e.body_text()))?;
        owned(state, &principal, &id).await.map(OwnedWorker)
    }
}

/// Create an outbox worker configuration.
#[utoipa::path(post, path = "/api/outbox/workers", tag = "outbox", request_body = CreateOutboxWorker,
    security(("api_key" = [])),
    responses((status = 201, description = "Created", body = OutboxWorkerDto),
              (status = 400, description = "VALIDATION_ERROR or WEBHOOK_URL_INVALID"),
              (status = 409, description = "CONFLICT: the name is taken")))]
pub async fn create_outbox_worker(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Json(body): Json<CreateOutboxWorker>,
) -> Result<Envelope<OutboxWorkerDto>, ApiError> {
    let interval_seconds = body.interval_seconds.unwrap_or(5);
    intervals_ok(interval_seconds, body.interval_max_seconds)?;
    let new = NewOutboxWorker {
        tenant_id: principal.tenant_id.clone(),
        name: name_ok(&body.name)?,
        circle: circle_ok(body.circle)?,
        application: application_ok(&body.application)?,
        interval_seconds,
        interval_max_seconds: body.interval_max_seconds,
        enabled: body.enabled.unwrap_or(true),
        webhook_url: url_ok(&state, body.webhook_url).await?,
        webhook_secret: secret_ok(body.webhook_secret)?,
    };
    let created = state
        .store
        .insert_outbox_worker(&new)
        .await
        .map_err(conflict)?;
    Ok(envelope::created(OutboxWorkerDto::from_record(
        &created, false,
    )))
}

/// List outbox worker configurations (a tenant's own; the admin sees all).
#[utoipa::path(get, path = "/api/outbox/workers", tag = "outbox", params(SecretQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "The configurations, by id", body = [OutboxWorkerDto])))]
pub async fn list_outbox_workers(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Query(q): Query<SecretQuery>,
) -> Result<Envelope<Vec<OutboxWorkerDto>>, ApiError> {
    let tenant = (!principal.is_admin).then_some(principal.tenant_id.as_str());
    let list = state.store.list_outbox_workers(tenant).await?;
    let include = q.include_secret.unwrap_or(false);
    Ok(envelope::ok(
        list.iter()
            .map(|w| OutboxWorkerDto::from_record(w, include))
            .collect(),
    ))
}

/// Get one outbox worker configuration.
#[utoipa::path(get, path = "/api/outbox/workers/{id}", tag = "outbox",
    params(("id" = i64, Path, description = "Configuration id"), SecretQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "The configuration", body = OutboxWorkerDto),
              (status = 404, description = "NOT_FOUND")))]
pub async fn get_outbox_worker(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Query(q): Query<SecretQuery>,
) -> Result<Envelope<OutboxWorkerDto>, ApiError> {
    let w = owned(&state, &principal, &id).await?;
    Ok(envelope::ok(OutboxWorkerDto::from_record(
        &w,
        q.include_secret.unwrap_or(false),
    )))
}

/// Update an outbox worker configuration; running workers apply it within their reload interval.
#[utoipa::path(patch, path = "/api/outbox/workers/{id}", tag = "outbox", request_body = UpdateOutboxWorker,
    params(("id" = i64, Path, description = "Configuration id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The updated configuration", body = OutboxWorkerDto),
              (status = 400, description = "VALIDATION_ERROR or WEBHOOK_URL_INVALID"),
              (status = 404, description = "NOT_FOUND"),
              (status = 409, description = "CONFLICT: the name is taken")))]
pub async fn update_outbox_worker(
    State(state): State<AppState>,
    OwnedWorker(current): OwnedWorker,
    Json(body): Json<UpdateOutboxWorker>,
) -> Result<Envelope<OutboxWorkerDto>, ApiError> {
    let patch = OutboxWorkerPatch {
        name: body.name.as_deref().map(name_ok).transpose()?,
        circle: body.circle.map(circle_ok).transpose()?,
        application: body
            .application
            .as_deref()
            .map(application_ok)
            .transpose()?,
        interval_seconds: body.interval_seconds,
        interval_max_seconds: body.interval_max_seconds,
        enabled: body.enabled,
        webhook_url: match body.webhook_url {
            Some(u) => Some(url_ok(&state, u).await?),
            None => None,
        },
        webhook_secret: body.webhook_secret.map(secret_ok).transpose()?,
    };
    let next = patch.apply(current.clone());
    intervals_ok(next.interval_seconds, next.interval_max_seconds)?;
    let updated = state
        .store
        .update_outbox_worker(current.id, &patch)
        .await
        .map_err(conflict)?
        .ok_or_else(|| not_found(&current.id.to_string()))?;
    Ok(envelope::ok(OutboxWorkerDto::from_record(&updated, false)))
}

/// Delete an outbox worker configuration; running workers stop its loop within their reload interval.
#[utoipa::path(delete, path = "/api/outbox/workers/{id}", tag = "outbox",
    params(("id" = i64, Path, description = "Configuration id")),
    security(("api_key" = [])),
    responses((status = 200, description = "Deleted"),
              (status = 404, description = "NOT_FOUND")))]
pub async fn delete_outbox_worker(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
) -> Result<Envelope<serde_json::Value>, ApiError> {
    let w = owned(&state, &principal, &id).await?;
    state.store.delete_outbox_worker(w.id).await?;
    Ok(envelope::message("Outbox worker deleted successfully"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applications_are_normalised() {
        assert_eq!(application_ok("App1").unwrap(), "App1");
        assert_eq!(application_ok(" App1 ,App2,, ").unwrap(), "App1, App2");
        assert_eq!(application_ok("App1, *").unwrap(), "*");
        assert!(application_ok(" , ").is_err());
    }

    #[test]
    fn intervals() {
        assert!(intervals_ok(0, None).is_ok());
        assert!(intervals_ok(5, Some(5)).is_ok());
        assert!(intervals_ok(5, Some(4)).is_err());
        assert!(intervals_ok(-1, None).is_err());
    }

    #[test]
    fn patch_tells_null_from_absent() {
        let p: UpdateOutboxWorker =
            serde_json::from_str(r#"{"circle": null, "enabled": false}"#).unwrap();
        assert_eq!(p.circle, Some(None));
        assert_eq!(p.webhook_url, None);
        assert_eq!(p.enabled, Some(false));
    }
}
