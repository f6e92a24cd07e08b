//! Contacts: whether phone numbers are on WhatsApp, one or a batch.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_engine::contacts::{MAX_BATCH, NumberCheck, phone_digits};

use super::owned_session;
use crate::auth::Auth;
use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/contacts/check/{phone}", get(check_one))
        .route("/sessions/{id}/contacts/check", post(check_many))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckDto {
    pub exists: bool,
    /// `628123456789@c.us` when the number is on WhatsApp.
    #[schema(example = "628123456789@c.us")]
    pub chat_id: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BatchCheckDto {
    /// The number as it was sent.
    pub phone: String,
    pub exists: bool,
    pub chat_id: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CheckMany {
    /// Phone numbers with the country code (at most 50).
    #[schema(example = json!(["628123456789", "+62 812-0000-0000"]))]
    pub phones: Vec<String>,
}

fn digits(raw: &str) -> Result<String, ApiError> {
    phone_digits(raw).ok_or_else(|| {
        ApiError::validation(format!(
            "'{raw}' is not a phone number: use digits with the country code"
        ))
    })
}

/// Whether a phone number is on WhatsApp.
#[utoipa::path(get, path = "/api/sessions/{id}/contacts/check/{phone}", tag = "contacts",
    params(("id" = String, Path), ("phone" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The answer", body = CheckDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn check_one(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path((id, phone)): Path<(String, String)>,
) -> Result<Envelope<CheckDto>, ApiError> {
    let phone = digits(&phone)?;
    let (_, session) = owned_session(&state, &principal, &id).await?;
    let answer = session.check_numbers(std::slice::from_ref(&phone)).await?;
    let a = answer.into_iter().next().unwrap_or(NumberCheck {
        phone,
        exists: false,
        chat_id: None,
    });
    Ok(envelope::ok(CheckDto {
        exists: a.exists,
        chat_id: a.chat_id,
    }))
}

/// Whether each of several phone numbers is on WhatsApp (at most 50).
#[utoipa::path(post, path = "/api/sessions/{id}/contacts/check", tag = "contacts",
    params(("id" = String, Path)), request_body = CheckMany, security(("api_key" = [])),
    responses((status = 200, description = "One answer per number, in order", body = [BatchCheckDto]),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND")))]
pub async fn check_many(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Path(id): Path<String>,
    Json(body): Json<CheckMany>,
) -> Result<Envelope<Vec<BatchCheckDto>>, ApiError> {
    if body.phones.is_empty() || body.phones.len() > MAX_BATCH {
        return Err(ApiError::validation(format!(
            "phones must hold 1 to {MAX_BATCH} numbers"
        )));
    }
    let parsed = body
        .phones
        .iter()
        .map(|p| digits(p))
        .collect::<Result<Vec<_>, _>>()?;
    let (_, session) = owned_session(&state, &principal, &id).await?;
    let mut unique = parsed.clone();
    unique.sort();
    unique.dedup();
    let answers = session.check_numbers(&unique).await?;
    Ok(envelope::ok(
        body.phones
            .iter()
            .zip(parsed.iter())
            .map(|(raw, digits)| {
                let a = answers.iter().find(|a| a.phone == *digits);
                BatchCheckDto {
                    phone: raw.clone(),
                    exists: a.is_some_and(|a| a.exists),
                    chat_id: a.and_then(|a| a.chat_id.clone()),
                }
            })
            .collect(),
    ))
}
