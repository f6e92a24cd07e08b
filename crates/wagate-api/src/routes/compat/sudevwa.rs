//! Seed 000's webhook setting (SUDEVWA): `POST /api/instances/{id}/webhook-setconfig
//! {url, secret}` gives an instance (a session) one incoming-message
//! webhook in SUDEVWA's format (`incoming_message`, `X-SUDEVWA-Signature`);
//! without a `secret` one is generated, and the answer shows it once, as
//! SUDEVWA did: `{instanceId, webhookUrl, secret}`. Calling it again
//! replaces that webhook's URL and secret. The instance id is the session's
//! id (or the phone number it is linked to); `Authorization: Bearer <key>`
//! takes any wagate key. Seed 000's per-instance WebSocket,
//! `/api/listen/{id}`, is native.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::{EventKind, WebhookFormat};
use wagate_store::app::webhooks::WebhookPatch;

use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::OwnedSession;
use crate::state::AppState;
use crate::webhook_config::{CreateWebhook, create_for_session, secret_ok, url_ok};

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/api/instances/{id}/webhook-setconfig",
        post(webhook_setconfig),
    )
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct SetConfig {
    #[schema(example = "https://your-app.com/wa-webhook")]
    pub url: String,
    /// Signs each push (`X-SUDEVWA-Signature`); generated when absent.
    pub secret: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetConfigAnswer {
    #[schema(example = "sess_abc123def456")]
    pub instance_id: String,
    pub webhook_url: String,
    /// Shown here, once; never again.
    pub secret: String,
}

/// 64 hex characters of randomness (two v4 UUIDs' 244 random bits), like
/// SUDEVWA's example secret.
fn new_secret() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

/// Set the instance's incoming-message webhook (seed 000's `webhook-setconfig`).
#[utoipa::path(post, path = "/api/instances/{id}/webhook-setconfig", tag = "compat-sudevwa",
    params(("id" = String, Path, description = "The instance: a session id or its phone number")),
    request_body = SetConfig, security(("api_key" = [])),
    responses((status = 200, description = "Set; the secret is shown this once", body = SetConfigAnswer),
              (status = 400, description = "WEBHOOK_URL_INVALID or VALIDATION_ERROR"),
              (status = 403, description = "WEBHOOK_LIMIT_REACHED"),
              (status = 404, description = "SESSION_NOT_FOUND"),
              (status = 409, description = "WEBHOOK_DUPLICATE: another webhook of the session has this URL")))]
pub async fn webhook_setconfig(
    State(state): State<AppState>,
    OwnedSession { record, .. }: OwnedSession,
    Json(body): Json<SetConfig>,
) -> Result<axum::Json<SetConfigAnswer>, ApiError> {
    let url = url_ok(&state, &body.url).await?;
    let secret = match secret_ok(body.secret)? {
        Some(s) => s,
        None => new_secret(),
    };
    let existing = state
        .store
        .list_webhooks(&record.id)
        .await?
        .into_iter()
        .find(|w| w.format == WebhookFormat::Sudevwa);
    match existing {
        Some(hook) => {
            state
                .store
                .update_webhook(
                    &hook.id,
                    &WebhookPatch {
                        url: Some(url.clone()),
                        secret: Some(Some(secret.clone())),
                        enabled: Some(true),
                        ..Default::default()
                    },
                )
                .await
                .map_err(crate::webhook_config::conflict_as_duplicate)?;
        }
        None => {
            create_for_session(
                &state,
                &record,
                CreateWebhook {
                    url: url.clone(),
                    events: Some(vec![EventKind::MessageReceived.as_str().to_string()]),
                    secret: Some(secret.clone()),
                    headers: None,
                    format: Some(WebhookFormat::Sudevwa.as_str().to_string()),
                    concurrency: None,
                },
                None,
            )
            .await?;
        }
    }
    Ok(axum::Json(SetConfigAnswer {
        instance_id: record.id,
        webhook_url: url,
        secret,
    }))
}
