//! Groups: list, info, create, participants, subject, description, invite
//! link, leave.

use axum::Router;
use axum::extract::Path;
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_core::limits::{GROUP_DESCRIPTION_MAX_CHARS, GROUP_NAME_MAX_CHARS};
use wagate_core::{ChatId, ErrorCode, iso_ms};
use wagate_engine::groups::{GroupInfo, ParticipantAction};

use crate::envelope::{self, Envelope};
use crate::error::ApiError;
use crate::extract::Json;
use crate::owned::OwnedSession;
use crate::send::parse_chat_id;
use crate::state::AppState;

/// Most participants in one request.
const MAX_PARTICIPANTS: usize = 256;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions/{id}/groups", get(list_groups).post(create_group))
        .route("/sessions/{id}/groups/join", post(join_group))
        .route("/sessions/{id}/groups/{group_id}", get(get_group))
        .route(
            "/sessions/{id}/groups/{group_id}/participants/{action}",
            post(change_participants),
        )
        .route("/sessions/{id}/groups/{group_id}/subject", put(set_subject))
        .route(
            "/sessions/{id}/groups/{group_id}/description",
            put(set_description),
        )
        .route(
            "/sessions/{id}/groups/{group_id}/invite-link",
            get(invite_link),
        )
        .route(
            "/sessions/{id}/groups/{group_id}/invite-link/revoke",
            post(revoke_invite_link),
        )
        .route("/sessions/{id}/groups/{group_id}/leave", post(leave_group))
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupSummaryDto {
    #[schema(example = "628123456789-1234567890@g.us")]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub participants_count: usize,
    pub created_at: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantDto {
    #[schema(example = "628123456789@c.us")]
    pub id: String,
    pub is_admin: bool,
    pub is_super_admin: bool,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GroupDto {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub participants: Vec<ParticipantDto>,
    pub created_at: Option<String>,
}

fn created(g: &GroupInfo) -> Option<String> {
    g.created_at.map(|s| iso_ms(s as i64 * 1000))
}

impl From<GroupInfo> for GroupDto {
    fn from(g: GroupInfo) -> Self {
        GroupDto {
            created_at: created(&g),
            id: g.id,
            name: g.name,
            description: g.description,
            owner: g.owner,
            participants: g
                .participants
                .into_iter()
                .map(|p| ParticipantDto {
                    id: p.id,
                    is_admin: p.is_admin,
                    is_super_admin: p.is_super_admin,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateGroup {
    #[schema(example = "New Group")]
    pub name: String,
    #[schema(example = json!(["628123456789@c.us", "628987654321@c.us"]))]
    pub participants: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Participants {
    #[schema(example = json!(["628123456789@c.us"]))]
    pub participants: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ParticipantResultDto {
    pub id: String,
    pub success: bool,
    /// The server's error code for this participant, when it failed.
    pub error: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetSubject {
    #[schema(example = "Family Group")]
    pub subject: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SetDescription {
    /// `null` or empty clears it.
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteLinkDto {
    #[schema(example = "https://chat.whatsapp.com/AbCdEfGhIjKl")]
    pub invite_link: String,
    pub invite_code: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DoneDto {
    pub message: String,
}

fn group_id(raw: &str) -> Result<ChatId, ApiError> {
    let chat = parse_chat_id(raw)?;
    if !chat.jid().ends_with("@g.us") {
        return Err(ApiError::new(
            ErrorCode::MessageInvalidChatId,
            format!("{raw} is not a group id (…@g.us)"),
        ));
    }
    Ok(chat)
}

fn people(raw: &[String]) -> Result<Vec<ChatId>, ApiError> {
    if raw.is_empty() || raw.len() > MAX_PARTICIPANTS {
        return Err(ApiError::validation(format!(
            "participants must hold 1 to {MAX_PARTICIPANTS} phone numbers"
        )));
    }
    raw.iter()
        .map(|p| {
            let c = parse_chat_id(p)?;
            if c.jid().ends_with("@s.whatsapp.net") {
                Ok(c)
            } else {
                Err(ApiError::validation(format!("{p} is not a phone number")))
            }
        })
        .collect()
}

fn check_name(name: &str) -> Result<(), ApiError> {
    if name.trim().is_empty() {
        return Err(ApiError::validation("the group name must not be empty"));
    }
    if name.chars().count() > GROUP_NAME_MAX_CHARS {
        return Err(ApiError::new(
            ErrorCode::GroupNameTooLong,
            format!("the group name exceeds {GROUP_NAME_MAX_CHARS} characters"),
        ));
    }
    Ok(())
}

/// Every group the session is in.
#[utoipa::path(get, path = "/api/sessions/{id}/groups", tag = "groups",
    params(("id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Groups", body = [GroupSummaryDto])))]
pub async fn list_groups(
    OwnedSession { session, .. }: OwnedSession,
) -> Result<Envelope<Vec<GroupSummaryDto>>, ApiError> {
    let groups = session.list_groups().await?;
    Ok(envelope::ok(
        groups
            .into_iter()
            .map(|g| GroupSummaryDto {
                created_at: created(&g),
                participants_count: g.participants.len(),
                id: g.id,
                name: g.name,
                description: g.description,
            })
            .collect(),
    ))
}

/// Create a group.
#[utoipa::path(post, path = "/api/sessions/{id}/groups", tag = "groups",
    params(("id" = String, Path)), request_body = CreateGroup, security(("api_key" = [])),
    responses((status = 201, description = "Created", body = GroupDto),
              (status = 400, description = "GROUP_NAME_TOO_LONG, VALIDATION_ERROR, SESSION_NOT_READY")))]
pub async fn create_group(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<CreateGroup>,
) -> Result<Envelope<GroupDto>, ApiError> {
    check_name(&body.name)?;
    let members = people(&body.participants)?;
    let group = session.create_group(body.name.trim(), &members).await?;
    Ok(envelope::created(GroupDto::from(group)))
}

/// A group's details and participants.
#[utoipa::path(get, path = "/api/sessions/{id}/groups/{group_id}", tag = "groups",
    params(("id" = String, Path), ("group_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The group", body = GroupDto),
              (status = 404, description = "GROUP_NOT_FOUND")))]
pub async fn get_group(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, gid)): Path<(String, String)>,
) -> Result<Envelope<GroupDto>, ApiError> {
    let group = group_id(&gid)?;
    Ok(envelope::ok(GroupDto::from(
        session.group_info(&group).await?,
    )))
}

/// Add, remove, promote or demote participants (`action` is one of those).
#[utoipa::path(post, path = "/api/sessions/{id}/groups/{group_id}/participants/{action}", tag = "groups",
    params(("id" = String, Path), ("group_id" = String, Path),
           ("action" = String, Path, description = "add, remove, promote or demote")),
    request_body = Participants, security(("api_key" = [])),
    responses((status = 200, description = "One result per participant", body = [ParticipantResultDto]),
              (status = 403, description = "GROUP_NOT_ADMIN"),
              (status = 404, description = "GROUP_NOT_FOUND, GROUP_PARTICIPANT_NOT_FOUND"),
              (status = 409, description = "GROUP_PARTICIPANT_EXISTS")))]
pub async fn change_participants(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, gid, action)): Path<(String, String, String)>,
    Json(body): Json<Participants>,
) -> Result<Envelope<Vec<ParticipantResultDto>>, ApiError> {
    let action = match action.as_str() {
        "add" => ParticipantAction::Add,
        "remove" => ParticipantAction::Remove,
        "promote" => ParticipantAction::Promote,
        "demote" => ParticipantAction::Demote,
        _ => {
            return Err(ApiError::new(
                ErrorCode::NotFound,
                "no such route: the action is add, remove, promote or demote",
            ));
        }
    };
    let group = group_id(&gid)?;
    let members = people(&body.participants)?;
    let results = session
        .change_participants(&group, action, &members)
        .await?;
    Ok(envelope::ok(
        results
            .into_iter()
            .map(|r| ParticipantResultDto {
                id: r.id,
                success: r.error.is_none(),
                error: r.error,
            })
            .collect(),
    ))
}

/// Rename a group (admins).
#[utoipa::path(put, path = "/api/sessions/{id}/groups/{group_id}/subject", tag = "groups",
    params(("id" = String, Path), ("group_id" = String, Path)), request_body = SetSubject, security(("api_key" = [])),
    responses((status = 200, description = "Renamed", body = DoneDto),
              (status = 400, description = "GROUP_NAME_TOO_LONG"),
              (status = 403, description = "GROUP_NOT_ADMIN"),
              (status = 404, description = "GROUP_NOT_FOUND")))]
pub async fn set_subject(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, gid)): Path<(String, String)>,
    Json(body): Json<SetSubject>,
) -> Result<Envelope<DoneDto>, ApiError> {
    check_name(&body.subject)?;
    let group = group_id(&gid)?;
    session
        .set_group_subject(&group, body.subject.trim())
        .await?;
    Ok(envelope::ok(DoneDto {
        message: "Group subject updated".into(),
    }))
}

/// Set or clear a group's description (admins).
#[utoipa::path(put, path = "/api/sessions/{id}/groups/{group_id}/description", tag = "groups",
    params(("id" = String, Path), ("group_id" = String, Path)), request_body = SetDescription, security(("api_key" = [])),
    responses((status = 200, description = "Updated", body = DoneDto),
              (status = 400, description = "VALIDATION_ERROR (longer than 2048 characters)"),
              (status = 403, description = "GROUP_NOT_ADMIN"),
              (status = 404, description = "GROUP_NOT_FOUND")))]
pub async fn set_description(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, gid)): Path<(String, String)>,
    Json(body): Json<SetDescription>,
) -> Result<Envelope<DoneDto>, ApiError> {
    let description = body.description.filter(|d| !d.trim().is_empty());
    if let Some(d) = &description
        && d.chars().count() > GROUP_DESCRIPTION_MAX_CHARS
    {
        return Err(ApiError::validation(format!(
            "the description exceeds {GROUP_DESCRIPTION_MAX_CHARS} characters"
        )));
    }
    let group = group_id(&gid)?;
    session
        .set_group_description(&group, description.as_deref())
        .await?;
    Ok(envelope::ok(DoneDto {
        message: "Group description updated".into(),
    }))
}

fn invite(link: String) -> InviteLinkDto {
    let code = link.rsplit('/').next().unwrap_or_default().to_string();
    InviteLinkDto {
        invite_link: link,
        invite_code: code,
    }
}

/// The group's invite link.
#[utoipa::path(get, path = "/api/sessions/{id}/groups/{group_id}/invite-link", tag = "groups",
    params(("id" = String, Path), ("group_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The link", body = InviteLinkDto),
              (status = 403, description = "GROUP_NOT_ADMIN"),
              (status = 404, description = "GROUP_NOT_FOUND")))]
pub async fn invite_link(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, gid)): Path<(String, String)>,
) -> Result<Envelope<InviteLinkDto>, ApiError> {
    let group = group_id(&gid)?;
    Ok(envelope::ok(invite(
        session.group_invite_link(&group, false).await?,
    )))
}

/// Replace the group's invite link (the old one stops working; admins).
#[utoipa::path(post, path = "/api/sessions/{id}/groups/{group_id}/invite-link/revoke", tag = "groups",
    params(("id" = String, Path), ("group_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "The new link", body = InviteLinkDto),
              (status = 403, description = "GROUP_NOT_ADMIN"),
              (status = 404, description = "GROUP_NOT_FOUND")))]
pub async fn revoke_invite_link(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, gid)): Path<(String, String)>,
) -> Result<Envelope<InviteLinkDto>, ApiError> {
    let group = group_id(&gid)?;
    Ok(envelope::ok(invite(
        session.group_invite_link(&group, true).await?,
    )))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinGroup {
    /// An invite link or its code.
    #[schema(example = "https://chat.whatsapp.com/AbCdEfGhIjKl")]
    pub invite: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct JoinedDto {
    pub group_id: String,
    /// `joined`, or `pending` when an admin must approve first.
    pub status: &'static str,
}

/// Join a group by invite link.
#[utoipa::path(post, path = "/api/sessions/{id}/groups/join", tag = "groups",
    params(("id" = String, Path)), request_body = JoinGroup, security(("api_key" = [])),
    responses((status = 200, description = "Joined", body = JoinedDto),
              (status = 400, description = "GROUP_INVITE_INVALID")))]
pub async fn join_group(
    OwnedSession { session, .. }: OwnedSession,
    Json(body): Json<JoinGroup>,
) -> Result<Envelope<JoinedDto>, ApiError> {
    let invite = body.invite.trim();
    if invite.is_empty() || invite.len() > 200 {
        return Err(ApiError::new(
            ErrorCode::GroupInviteInvalid,
            "give an invite link or code",
        ));
    }
    let joined = session.join_group(invite).await?;
    Ok(envelope::ok(JoinedDto {
        group_id: joined.group_id,
        status: if joined.pending_approval {
            "pending"
        } else {
            "joined"
        },
    }))
}

/// Leave a group.
#[utoipa::path(post, path = "/api/sessions/{id}/groups/{group_id}/leave", tag = "groups",
    params(("id" = String, Path), ("group_id" = String, Path)), security(("api_key" = [])),
    responses((status = 200, description = "Left", body = DoneDto),
              (status = 404, description = "GROUP_NOT_FOUND")))]
pub async fn leave_group(
    OwnedSession { session, .. }: OwnedSession,
    Path((_id, gid)): Path<(String, String)>,
) -> Result<Envelope<DoneDto>, ApiError> {
    let group = group_id(&gid)?;
    session.leave_group(&group).await?;
    Ok(envelope::ok(DoneDto {
        message: "Left the group".into(),
    }))
}
