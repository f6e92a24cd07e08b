//! Channels (WhatsApp newsletters): the ones the session follows or owns
//! (with its role), a channel's metadata by id or invite, creating one,
//! following and unfollowing, posting a text to one the session owns or
//! administers, reading a channel's messages from WhatsApp, and reacting to
//! one by its server id.
//!
//! Channel ids are `<digits>@newsletter`; anything else is 400
//! `CHANNEL_INVALID_ID`. Posts go straight to WhatsApp (not through the
//! send queue, whose pacing and recipient checks are about people): a post
//! is stored and announced as `message.sent`, and a session that is not
//! the channel's owner or admin is refused with 403 `CHANNEL_NOT_ADMIN`
//! before anything is sent. Posts in a followed channel arrive as
//! `message.received` with chat `…@newsletter` and the post's `serverId`
//! (unless the session's `ignore.channels` is on).

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use wagate_core::channel::{
    CHANNEL_DESCRIPTION_MAX_CHARS, CHANNEL_INVITE_LINK, CHANNEL_MESSAGES_MAX,
    CHANNEL_NAME_MAX_CHARS, CHANNEL_REACTION_MAX_CHARS,
};
use wagate_core::{ChannelId, ChannelRef, ChannelRole, ErrorCode, iso_ms};
use wagate_engine::channels::{ChannelInfo, ChannelMessage};

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::{Json, Query};
use crate::owned::OwnedSession;
use crate::send::check_text;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/sessions/{id}/channels",
            get(list_channels).post(create_channel),
        )
        .route("/sessions/{id}/channels/{channel_id}", get(get_channel))
        .route(
            "/sessions/{id}/channels/{channel_id}/follow",
            post(follow_channel),
        )
        .route(
            "/sessions/{id}/channels/{channel_id}/unfollow",
            post(unfollow_channel),
        )
        .route(
            "/sessions/{id}/channels/{channel_id}/messages",
            get(channel_messages).post(post_to_channel),
        )
        .route(
            "/sessions/{id}/channels/{channel_id}/messages/{server_id}/react",
            post(react),
        )
}

/// A channel and the session's place in it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelDto {
    #[schema(example = "120363012345678901@newsletter")]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// How many follow it.
    pub subscribers: u64,
    /// The session's role: `owner`, `admin`, `subscriber` or `guest`.
    #[schema(value_type = Option<String>, example = "subscriber")]
    pub role: Option<ChannelRole>,
    #[schema(example = "0029VaAbCdEfGhIjKlMnOp")]
    pub invite_code: Option<String>,
    #[schema(example = "https://whatsapp.com/channel/0029VaAbCdEfGhIjKlMnOp")]
    pub invite_link: Option<String>,
    pub verified: bool,
    /// `active`, `suspended` or `geosuspended`.
    #[schema(example = "active")]
    pub state: String,
    pub created_at: Option<String>,
}

impl From<ChannelInfo> for ChannelDto {
    fn from(c: ChannelInfo) -> Self {
        ChannelDto {
            invite_link: c
                .invite_code
                .as_ref()
                .map(|code| format!("{CHANNEL_INVITE_LINK}{code}")),
            created_at: c.created_at.map(|s| iso_ms(s as i64 * 1000)),
            id: c.id,
            name: c.name,
            description: c.description,
            subscribers: c.subscribers,
            role: c.role,
            invite_code: c.invite_code,
            verified: c.verified,
            state: c.state.to_string(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateChannel {
    #[schema(example = "Daily News")]
    pub name: String,
    pub description: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PostToChannel {
    #[schema(example = "Good morning, followers!")]
    pub text: String,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct ReactBody {
    /// One emoji; empty takes the session's reaction back.
    #[schema(example = "👍")]
    pub reaction: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChannelMessagesQuery {
    /// How many messages (1–100, default 20).
    pub limit: Option<u32>,
    /// Only messages older than this server id.
    pub before: Option<u64>,
}

/// One reaction and how many gave it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ReactionCountDto {
    #[schema(example = "👍")]
    pub reaction: String,
    pub count: u64,
}

/// A message of a channel, as WhatsApp keeps it.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelMessageDto {
    /// The server's id (what reactions name).
    pub server_id: u64,
    /// The message's WhatsApp id (empty when WhatsApp gave none).
    pub wa_id: String,
    pub timestamp: String,
    /// The message type (`chat`, `image`, …); `null` for content not shown.
    #[serde(rename = "type")]
    #[schema(value_type = Option<String>)]
    pub msg_type: Option<wagate_core::MessageType>,
    pub body: Option<String>,
    /// Whether this session posted it.
    pub from_me: bool,
    pub reactions: Vec<ReactionCountDto>,
}

impl From<ChannelMessage> for ChannelMessageDto {
    fn from(m: ChannelMessage) -> Self {
        ChannelMessageDto {
            server_id: m.server_id,
            wa_id: m.wa_id,
            timestamp: iso_ms(m.timestamp as i64 * 1000),
            msg_type: m.msg_type,
            body: m.body,
            from_me: m.from_me,
            reactions: m
                .reactions
                .into_iter()
                .map(|r| ReactionCountDto {
                    reaction: r.reaction,
                    count: r.count,
                })
                .collect(),
        }
    }
}

/// A post the session made.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelPostDto {
    #[schema(example = "true_120363012345678901@newsletter_3EB0ABC123")]
    pub message_id: String,
    pub channel_id: String,
    pub timestamp: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ChannelDoneDto {
    pub channel_id: String,
    pub message: String,
}

fn channel_id(raw: &str) -> Result<ChannelId, ApiError> {
    ChannelId::parse(raw).map_err(|e| ApiError::new(ErrorCode::ChannelInvalidId, e.0))
}

fn channel_ref(raw: &str) -> Result<ChannelRef, ApiError> {
    ChannelRef::parse(raw).map_err(|e| ApiError::new(ErrorCode::ChannelInvalidId, e.0))
}

fn server_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>()
        .ok()
        .filter(|id| *id > 0)
        .ok_or_else(|| ApiError::validation("serverId must be a positive number"))
}

/// Every channel the session follows or owns, with its role.
#[utoipa::path(get, path = "/api/sessions/{id}/channels", tag = "channels",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Channels", body = [ChannelDto])))]
pub async fn list_channels(
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<Vec<ChannelDto>>, ApiError> {
    let list = session.list_channels().await?;
    Ok(envelope::ok(
        list.into_iter().map(ChannelDto::from).collect(),
    ))
}

/// Create a channel the session owns.
#[utoipa::path(post, path = "/api/sessions/{id}/channels", tag = "channels",
    params(("id" = String, Path)), request_body = CreateChannel, security(("api_key" = [])),
    responses((status = 201, description = "Created", body = ChannelDto),
              (status = 400, description = "VALIDATION_ERROR, SESSION_NOT_READY")))]
pub async fn create_channel(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<CreateChannel>,
) -> Result<Envelope<ChannelDto>, ApiError> {
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > CHANNEL_NAME_MAX_CHARS {
        return Err(ApiError::validation(format!(
            "name must be 1 to {CHANNEL_NAME_MAX_CHARS} characters"
        )));
    }
    let description = body
        .description
        .as_deref()
        .map(str::trim)
        .filter(|d| !d.is_empty());
    if description.is_some_and(|d| d.chars().count() > CHANNEL_DESCRIPTION_MAX_CHARS) {
        return Err(ApiError::validation(format!(
            "description must be at most {CHANNEL_DESCRIPTION_MAX_CHARS} characters"
        )));
    }
    let channel = session.create_channel(name, description).await?;
    Ok(envelope::created(ChannelDto::from(channel)))
}

/// A channel's metadata: by id (`…@newsletter`), invite link or invite code.
#[utoipa::path(get, path = "/api/sessions/{id}/channels/{channel_id}", tag = "channels",
    params(("id" = String, Path),
           ("channel_id" = String, Path, description = "`<digits>@newsletter`, an invite link or its code")),
    security(("api_key" = [])),
    responses((status = 200, description = "The channel", body = ChannelDto),
              (status = 400, description = "CHANNEL_INVALID_ID"),
              (status = 404, description = "CHANNEL_NOT_FOUND")))]
pub async fn get_channel(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw)): Path<(String, String)>,
) -> Result<Envelope<ChannelDto>, ApiError> {
    let channel = channel_ref(&raw)?;
    Ok(envelope::ok(ChannelDto::from(
        session.channel_info(&channel).await?,
    )))
}

/// Follow a channel.
#[utoipa::path(post, path = "/api/sessions/{id}/channels/{channel_id}/follow", tag = "channels",
    params(("id" = String, Path), ("channel_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Followed; the channel", body = ChannelDto),
              (status = 400, description = "CHANNEL_INVALID_ID"),
              (status = 404, description = "CHANNEL_NOT_FOUND")))]
pub async fn follow_channel(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw)): Path<(String, String)>,
) -> Result<Envelope<ChannelDto>, ApiError> {
    let channel = channel_id(&raw)?;
    Ok(envelope::ok(ChannelDto::from(
        session.follow_channel(&channel).await?,
    )))
}

/// Stop following a channel.
#[utoipa::path(post, path = "/api/sessions/{id}/channels/{channel_id}/unfollow", tag = "channels",
    params(("id" = String, Path), ("channel_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Unfollowed", body = ChannelDoneDto),
              (status = 400, description = "CHANNEL_INVALID_ID"),
              (status = 404, description = "CHANNEL_NOT_FOUND")))]
pub async fn unfollow_channel(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw)): Path<(String, String)>,
) -> Result<Envelope<ChannelDoneDto>, ApiError> {
    let channel = channel_id(&raw)?;
    session.unfollow_channel(&channel).await?;
    Ok(envelope::ok(ChannelDoneDto {
        channel_id: channel.jid(),
        message: "unfollowed".into(),
    }))
}

/// A channel's latest messages, read from WhatsApp, with their reaction
/// counts.
#[utoipa::path(get, path = "/api/sessions/{id}/channels/{channel_id}/messages", tag = "channels",
    params(("id" = String, Path), ("channel_id" = String, Path), ChannelMessagesQuery),
    security(("api_key" = [])),
    responses((status = 200, description = "Messages, oldest first", body = [ChannelMessageDto]),
              (status = 400, description = "CHANNEL_INVALID_ID, VALIDATION_ERROR"),
              (status = 404, description = "CHANNEL_NOT_FOUND")))]
pub async fn channel_messages(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw)): Path<(String, String)>,
    Query(q): Query<ChannelMessagesQuery>,
) -> Result<Envelope<Vec<ChannelMessageDto>>, ApiError> {
    let channel = channel_id(&raw)?;
    let limit = q.limit.unwrap_or(20);
    if !(1..=CHANNEL_MESSAGES_MAX).contains(&limit) {
        return Err(ApiError::validation(format!(
            "limit is 1 to {CHANNEL_MESSAGES_MAX}"
        )));
    }
    let mut messages = session.channel_messages(&channel, limit, q.before).await?;
    messages.sort_by_key(|m| m.server_id);
    Ok(envelope::ok(
        messages.into_iter().map(ChannelMessageDto::from).collect(),
    ))
}

/// Post a text to a channel the session owns or administers. It goes to
/// WhatsApp at once (not through the send queue) and is announced as
/// `message.sent`.
#[utoipa::path(post, path = "/api/sessions/{id}/channels/{channel_id}/messages", tag = "channels",
    params(("id" = String, Path), ("channel_id" = String, Path)),
    request_body = PostToChannel, security(("api_key" = [])),
    responses((status = 200, description = "Posted", body = ChannelPostDto),
              (status = 400, description = "CHANNEL_INVALID_ID, VALIDATION_ERROR, MESSAGE_TEXT_TOO_LONG"),
              (status = 403, description = "CHANNEL_NOT_ADMIN"),
              (status = 404, description = "CHANNEL_NOT_FOUND")))]
pub async fn post_to_channel(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw)): Path<(String, String)>,
    Json(body): Json<PostToChannel>,
) -> Result<Envelope<ChannelPostDto>, ApiError> {
    let channel = channel_id(&raw)?;
    check_text(&body.text)?;
    let post = session.post_to_channel(&channel, &body.text).await?;
    Ok(envelope::ok(ChannelPostDto {
        message_id: post.message_id,
        channel_id: channel.jid(),
        timestamp: iso_ms(post.timestamp_ms),
    }))
}

/// React to a channel's message by its server id (an empty reaction takes
/// the session's back).
#[utoipa::path(post, path = "/api/sessions/{id}/channels/{channel_id}/messages/{server_id}/react", tag = "channels",
    params(("id" = String, Path), ("channel_id" = String, Path), ("server_id" = String, Path)),
    request_body = ReactBody, security(("api_key" = [])),
    responses((status = 200, description = "Reacted", body = ChannelDoneDto),
              (status = 400, description = "CHANNEL_INVALID_ID, VALIDATION_ERROR"),
              (status = 404, description = "CHANNEL_NOT_FOUND")))]
pub async fn react(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, raw, server)): Path<(String, String, String)>,
    Json(body): Json<ReactBody>,
) -> Result<Envelope<ChannelDoneDto>, ApiError> {
    let channel = channel_id(&raw)?;
    let server_id = server_id(&server)?;
    let reaction = body.reaction.trim();
    if reaction.chars().count() > CHANNEL_REACTION_MAX_CHARS
        || reaction
            .chars()
            .any(|c| c.is_control() || c.is_ascii_alphanumeric())
    {
        return Err(ApiError::validation(
            "reaction must be one emoji (or empty to take it back)",
        ));
    }
    session
        .react_in_channel(&channel, server_id, reaction)
        .await?;
    Ok(envelope::ok(ChannelDoneDto {
        channel_id: channel.jid(),
        message: if reaction.is_empty() {
            "reaction removed".into()
        } else {
            "reacted".into()
        },
    }))
}
