//! Polls: send one (through the send queue, like every send), vote on one
//! of the session's history, and read a poll's results. Votes others cast
//! arrive as `poll.vote` events; the results count each voter's latest
//! vote.

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use serde::Serialize;
use utoipa::ToSchema;
use wagate_core::{ChatId, iso_ms};

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::send::{self, IdempotencyKey, SendMode, SendPoll, SendResultDto, Vote, wa_id_of};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/messages/send-poll", post(send_poll))
        .route("/sessions/{id}/messages/{message_id}/vote", post(vote))
        .route(
            "/sessions/{id}/messages/{message_id}/poll",
            get(poll_results),
        )
}

/// A vote the session cast.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoteResultDto {
    #[schema(example = "false_120363025246125888@g.us_3EB0ABC123")]
    pub poll_message_id: String,
    /// The options chosen, in the poll's order (empty: the vote is withdrawn).
    pub selected_options: Vec<String>,
    pub timestamp: String,
}

/// One option of a poll's results.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollOptionDto {
    #[schema(example = "Noodles")]
    pub name: String,
    /// How many voters chose it.
    pub votes: usize,
    /// Who chose it (chat ids).
    #[schema(example = json!(["628123456789@c.us"]))]
    pub voters: Vec<String>,
}

/// A poll and its results, from each voter's latest vote.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct PollResultsDto {
    #[schema(example = "true_120363025246125888@g.us_3EB0ABC123")]
    pub poll_message_id: String,
    #[schema(example = "120363025246125888@g.us")]
    pub chat_id: String,
    #[schema(example = "Lunch?")]
    pub name: String,
    /// How many options a voter may choose (`0`: any number).
    pub selectable_count: u32,
    /// A quiz's correct option (absent for a plain poll).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct_option: Option<String>,
    /// Every option, in the poll's order.
    pub options: Vec<PollOptionDto>,
    /// Voters whose vote stands (a withdrawn vote is not counted).
    pub total_voters: usize,
}

/// Send a poll. It goes through the session's send queue: the answer waits
/// for the send (200), or with `?async=true` comes at once (202). Votes on
/// it arrive as `poll.vote` events.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/send-poll", tag = "messages",
    params(("id" = String, Path), SendMode,
           ("Idempotency-Key" = Option<String>, Header, description = "Retry-safe key: the same key returns the first result")),
    request_body = SendPoll, security(("api_key" = [])),
    responses((status = 200, description = "Sent", body = SendResultDto),
              (status = 202, description = "Queued (?async=true, or still waiting on pacing)", body = SendResultDto),
              (status = 400, description = "VALIDATION_ERROR (name, options, selectableCount), MESSAGE_INVALID_CHAT_ID, MESSAGE_NUMBER_NOT_ON_WHATSAPP, SESSION_NOT_READY"),
              (status = 404, description = "SESSION_NOT_FOUND"),
              (status = 422, description = "IDEMPOTENCY_KEY_REUSED")))]
pub async fn send_poll(
    State(state): State<AppState>,
    OwnedSession { session, .. }: OwnedSession,
    Query(mode): Query<SendMode>,
    key: IdempotencyKey,
    Json(body): Json<SendPoll>,
) -> Result<Envelope<SendResultDto>, ApiError> {
    let (chat, job) = body.into_job()?;
    send::submit(&state, &session, chat, job, &mode, key).await
}

/// Vote on a poll of this session's history, naming the options chosen
/// (an empty list withdraws the vote). A later vote replaces the earlier.
#[utoipa::path(post, path = "/api/sessions/{id}/messages/{message_id}/vote", tag = "messages",
    params(("id" = String, Path), ("message_id" = String, Path, description = "The poll's message id")),
    request_body = Vote, security(("api_key" = [])),
    responses((status = 200, description = "Voted", body = VoteResultDto),
              (status = 400, description = "VALIDATION_ERROR (not an option of the poll, more options than it allows), SESSION_NOT_READY"),
              (status = 404, description = "NOT_FOUND (no such poll in this session), SESSION_NOT_FOUND")))]
pub async fn vote(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, message_id)): Path<(String, String)>,
    Json(body): Json<Vote>,
) -> Result<Envelope<VoteResultDto>, ApiError> {
    let names = body.into_names()?;
    let cast = session.vote_poll(wa_id_of(&message_id), &names).await?;
    Ok(envelope::ok(VoteResultDto {
        poll_message_id: cast.poll_message_id,
        selected_options: cast.selected,
        timestamp: iso_ms(cast.timestamp_ms),
    }))
}

/// A poll's results: each option with its voters, from every voter's
/// latest vote this session has seen.
#[utoipa::path(get, path = "/api/sessions/{id}/messages/{message_id}/poll", tag = "messages",
    params(("id" = String, Path), ("message_id" = String, Path, description = "The poll's message id")),
    security(("api_key" = [])),
    responses((status = 200, description = "The poll and its results", body = PollResultsDto),
              (status = 404, description = "NOT_FOUND (the message is not a poll of this session), SESSION_NOT_FOUND")))]
pub async fn poll_results(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, message_id)): Path<(String, String)>,
) -> Result<Envelope<PollResultsDto>, ApiError> {
    let r = session.poll_results(wa_id_of(&message_id)).await?;
    Ok(envelope::ok(PollResultsDto {
        poll_message_id: r.poll_message_id,
        chat_id: ChatId::api_from_jid(&r.poll.chat_id),
        name: r.poll.name,
        selectable_count: r.poll.selectable_count,
        correct_option: r.correct_option,
        options: r
            .options
            .into_iter()
            .map(|o| PollOptionDto {
                name: o.name,
                votes: o.voters.len(),
                voters: o.voters.iter().map(|v| ChatId::api_from_jid(v)).collect(),
            })
            .collect(),
        total_voters: r.total_voters,
    }))
}
