//! Groups: list, info, create, participants (add, remove, promote, demote),
//! subject, description, invite link, leave.
//!
//! Preconditions the contract has codes for are checked against the group's
//! metadata first (not a member or no such group → `GroupNotFound`; a change
//! that needs admin rights → `GroupNotAdmin`; adding a member or removing a
//! non-member → `GroupParticipantExists` / `GroupParticipantNotFound`), and
//! the server's own 403/404 answers map to the same errors.
//!
//! Group notifications become `group.join` (added, created), `group.leave`
//! (removed, left) and `group.update` (promote, demote, subject,
//! description, settings) events.

use crate::events::EventKind;
use wagate_core::ChatId;
use whatsapp_rust::features::{
    GroupCreateOptions, GroupDescription, GroupError, GroupMetadata, GroupParticipantOptions,
    GroupSubject, PreviousDescription,
};
use whatsapp_rust::types::events::GroupUpdate;
use whatsapp_rust::wacore::stanza::groups::{GroupNotificationAction, GroupParticipantInfo};
use whatsapp_rust::{IqError, Jid};

use crate::error::EngineError;
use crate::session::Session;

/// A group as the API shows it (ids in the contract's `…@c.us` / `…@g.us`).
#[derive(Clone, Debug)]
pub struct GroupInfo {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub participants: Vec<GroupMember>,
    /// Unix seconds.
    pub created_at: Option<u64>,
}

#[derive(Clone, Debug)]
pub struct GroupMember {
    pub id: String,
    pub is_admin: bool,
    pub is_super_admin: bool,
}

/// What to do with participants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParticipantAction {
    Add,
    Remove,
    Promote,
    Demote,
}

/// One participant's outcome.
#[derive(Clone, Debug)]
pub struct ParticipantResult {
    pub id: String,
    /// `None` when it worked; the server's error code otherwise.
    pub error: Option<String>,
}

fn api_id(jid: &Jid) -> String {
    ChatId::api_from_jid(&jid.to_non_ad_string())
}

fn member_id(p: &whatsapp_rust::features::GroupParticipant) -> String {
    api_id(p.phone_number.as_ref().unwrap_or(&p.jid))
}

impl From<&GroupMetadata> for GroupInfo {
    fn from(m: &GroupMetadata) -> Self {
        GroupInfo {
            id: api_id(&m.id),
            name: m.subject.clone(),
            description: m.description.clone(),
            owner: m.creator_pn.as_ref().or(m.creator.as_ref()).map(api_id),
            participants: m
                .participants
                .iter()
                .map(|p| GroupMember {
                    id: member_id(p),
                    is_admin: p.is_admin(),
                    is_super_admin: p.is_super_admin(),
                })
                .collect(),
            created_at: m.creation_time,
        }
    }
}

/// Maps the engine's group errors: 404 → no such group, 403 → `forbidden`
/// (admin rights missing for a change; not a member for a query).
fn group_error(e: GroupError, change: bool) -> EngineError {
    if let GroupError::Iq(IqError::ServerError { code, .. }) = &e {
        match (code, change) {
            (404, _) | (403, false) => return EngineError::GroupNotFound,
            (403, true) => return EngineError::GroupNotAdmin,
            _ => {}
        }
    }
    // The connection went away under the request: the session is not
    // ready (the caller may retry), not a server fault.
    if let GroupError::Iq(
        IqError::NotConnected | IqError::Disconnected(_) | IqError::InternalChannelClosed,
    ) = &e
    {
        return EngineError::NotReady("the session's connection dropped; try again");
    }
    EngineError::Engine(format!("group request failed: {e}"))
}

fn group_jid(group: &ChatId) -> Result<Jid, EngineError> {
    let jid = group.jid();
    if !jid.ends_with("@g.us") {
        return Err(EngineError::InvalidChatId(format!(
            "{} is not a group id (…@g.us)",
            group.api()
        )));
    }
    jid.parse()
        .map_err(|_| EngineError::InvalidChatId(group.api()))
}

fn phone_jid(p: &ChatId) -> Result<Jid, EngineError> {
    let jid = p.jid();
    if !jid.ends_with("@s.whatsapp.net") {
        return Err(EngineError::InvalidChatId(format!(
            "{} is not a phone number",
            p.api()
        )));
    }
    jid.parse().map_err(|_| EngineError::InvalidChatId(p.api()))
}

impl Session {
    async fn metadata(
        &self,
        group: &ChatId,
    ) -> Result<(GroupMetadata, Option<String>), EngineError> {
        let client = self.ready_client().await?;
        let jid = group_jid(group)?;
        let meta = client
            .groups()
            .get_metadata(&jid)
            .await
            .map_err(|e| group_error(e, false))?;
        let me = client.pn().map(|j| api_id(&j));
        Ok((meta, me))
    }

    /// The metadata of a group this session administers.
    async fn admin_metadata(&self, group: &ChatId) -> Result<GroupMetadata, EngineError> {
        let (meta, me) = self.metadata(group).await?;
        let is_admin = meta
            .participants
            .iter()
            .any(|p| Some(member_id(p)) == me && p.is_admin());
        if !is_admin {
            return Err(EngineError::GroupNotAdmin);
        }
        Ok(meta)
    }

    /// Every group this session is in.
    pub async fn list_groups(&self) -> Result<Vec<GroupInfo>, EngineError> {
        let client = self.ready_client().await?;
        let groups = client
            .groups()
            .get_participating()
            .await
            .map_err(|e| group_error(e, false))?;
        let mut out: Vec<GroupInfo> = groups.values().map(GroupInfo::from).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    pub async fn group_info(&self, group: &ChatId) -> Result<GroupInfo, EngineError> {
        Ok(GroupInfo::from(&self.metadata(group).await?.0))
    }

    /// Creates a group with this session as its owner.
    pub async fn create_group(
        &self,
        name: &str,
        participants: &[ChatId],
    ) -> Result<GroupInfo, EngineError> {
        let client = self.ready_client().await?;
        let members = participants
            .iter()
            .map(|p| phone_jid(p).map(GroupParticipantOptions::from_phone))
            .collect::<Result<Vec<_>, _>>()?;
        let created = client
            .groups()
            .create_group(
                GroupCreateOptions::builder()
                    .subject(name)
                    .participants(members)
                    .build(),
            )
            .await
            .map_err(|e| group_error(e, true))?;
        Ok(GroupInfo::from(&created.metadata))
    }

    /// Adds, removes, promotes or demotes participants.
    pub async fn change_participants(
        &self,
        group: &ChatId,
        action: ParticipantAction,
        participants: &[ChatId],
    ) -> Result<Vec<ParticipantResult>, EngineError> {
        let meta = self.admin_metadata(group).await?;
        let jids = participants
            .iter()
            .map(phone_jid)
            .collect::<Result<Vec<_>, _>>()?;
        for p in participants {
            let present = meta.participants.iter().any(|m| member_id(m) == p.api());
            match action {
                ParticipantAction::Add if present => {
                    return Err(EngineError::GroupParticipantExists(p.api()));
                }
                ParticipantAction::Remove
                | ParticipantAction::Promote
                | ParticipantAction::Demote
                    if !present =>
                {
                    return Err(EngineError::GroupParticipantNotFound(p.api()));
                }
                _ => {}
            }
        }
        let client = self.ready_client().await?;
        let gid = group_jid(group)?;
        let groups = client.groups();
        let answers = match action {
            ParticipantAction::Add => groups.add_participants(gid, &jids).await,
            ParticipantAction::Remove => groups.remove_participants(gid, &jids).await,
            ParticipantAction::Promote => groups.promote_participants(gid, &jids).await,
            ParticipantAction::Demote => groups.demote_participants(gid, &jids).await,
        }
        .map_err(|e| group_error(e, true))?;
        Ok(participants
            .iter()
            .zip(jids.iter())
            .map(|(p, jid)| {
                let answer = answers.iter().find(|a| {
                    a.jid.user == jid.user
                        || a.phone_number.as_ref().is_some_and(|n| n.user == jid.user)
                });
                ParticipantResult {
                    id: p.api(),
                    error: answer.and_then(|a| a.error.clone()),
                }
            })
            .collect())
    }

    /// Renames a group (admins only).
    pub async fn set_group_subject(&self, group: &ChatId, name: &str) -> Result<(), EngineError> {
        self.admin_metadata(group).await?;
        let subject = GroupSubject::new(name).map_err(|e| EngineError::Invalid(e.to_string()))?;
        let client = self.ready_client().await?;
        client
            .groups()
            .set_subject(group_jid(group)?, subject)
            .await
            .map_err(|e| group_error(e, true))
    }

    /// Sets or clears a group's description (admins only).
    pub async fn set_group_description(
        &self,
        group: &ChatId,
        description: Option<&str>,
    ) -> Result<(), EngineError> {
        self.admin_metadata(group).await?;
        let description = description
            .map(|d| GroupDescription::new(d).map_err(|e| EngineError::Invalid(e.to_string())))
            .transpose()?;
        let client = self.ready_client().await?;
        client
            .groups()
            .set_description(group_jid(group)?, description, PreviousDescription::Resolve)
            .await
            .map_err(|e| group_error(e, true))
    }

    /// The group's invite link; `reset` makes a new one (the old stops working).
    pub async fn group_invite_link(
        &self,
        group: &ChatId,
        reset: bool,
    ) -> Result<String, EngineError> {
        if reset {
            self.admin_metadata(group).await?;
        } else {
            self.metadata(group).await?;
        }
        let client = self.ready_client().await?;
        client
            .groups()
            .get_invite_link(group_jid(group)?, reset)
            .await
            .map_err(|e| group_error(e, true))
    }

    /// Leaves a group.
    pub async fn leave_group(&self, group: &ChatId) -> Result<(), EngineError> {
        self.metadata(group).await?;
        let client = self.ready_client().await?;
        client
            .groups()
            .leave(group_jid(group)?)
            .await
            .map_err(|e| group_error(e, false))
    }
}

/// What a `w:gp2` notification did, as an event name and an action name.
fn group_event_kind(u: &GroupUpdate) -> (EventKind, String, Vec<String>) {
    let people = |ps: &[GroupParticipantInfo]| -> Vec<String> {
        ps.iter()
            .map(|p| api_id(p.phone_number.as_ref().unwrap_or(&p.jid)))
            .collect()
    };
    let by = u
        .participant_pn
        .as_ref()
        .or(u.participant.as_ref())
        .map(api_id);
    match &u.action {
        GroupNotificationAction::Add { participants, .. } => {
            (EventKind::GroupJoin, "add".into(), people(participants))
        }
        GroupNotificationAction::Create { .. } => {
            (EventKind::GroupJoin, "create".into(), Vec::new())
        }
        GroupNotificationAction::Remove { participants, .. } => {
            let who = people(participants);
            let action = if who.len() == 1 && by.as_deref() == Some(who[0].as_str()) {
                "leave"
            } else {
                "remove"
            };
            (EventKind::GroupLeave, action.into(), who)
        }
        GroupNotificationAction::Promote { participants } => (
            EventKind::GroupUpdate,
            "promote".into(),
            people(participants),
        ),
        GroupNotificationAction::Demote { participants } => (
            EventKind::GroupUpdate,
            "demote".into(),
            people(participants),
        ),
        GroupNotificationAction::Subject { .. } => {
            (EventKind::GroupUpdate, "subject".into(), Vec::new())
        }
        GroupNotificationAction::Description { .. } => {
            (EventKind::GroupUpdate, "description".into(), Vec::new())
        }
        other => {
            // The variant's name, e.g. `Locked { … }` → `locked`.
            let name: String = format!("{other:?}")
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            (
                EventKind::GroupUpdate,
                name.to_ascii_lowercase(),
                Vec::new(),
            )
        }
    }
}

impl Session {
    /// `group.join`, `group.leave` or `group.update` for a group notification.
    pub(crate) async fn on_group_update(&self, u: &GroupUpdate) {
        let (event, action, participants) = group_event_kind(u);
        let mut data = serde_json::json!({
            "groupId": api_id(&u.group_jid),
            "action": action,
            "participants": participants,
            "by": u.participant_pn.as_ref().or(u.participant.as_ref()).map(api_id),
            "timestamp": wagate_core::iso_ms(u.timestamp.timestamp_millis()),
        });
        match &u.action {
            GroupNotificationAction::Subject { subject, .. } => {
                data["subject"] = subject.clone().into()
            }
            GroupNotificationAction::Description { description, .. } => {
                data["description"] = description.clone().into()
            }
            _ => {}
        }
        self.emit(event, data).await;
    }
}

/// The outcome of joining by invite.
#[derive(Clone, Debug)]
pub struct Joined {
    pub group_id: String,
    /// The group needs an admin's approval first.
    pub pending_approval: bool,
}

impl Session {
    /// Joins a group by an invite link (`https://chat.whatsapp.com/<code>`)
    /// or its code.
    pub async fn join_group(&self, invite: &str) -> Result<Joined, EngineError> {
        let client = self.ready_client().await?;
        let result = client
            .groups()
            .join_with_invite_code(invite)
            .await
            .map_err(|e| match &e {
                GroupError::InvalidRequest(_) => EngineError::GroupInviteInvalid,
                GroupError::Iq(IqError::ServerError {
                    code: 400 | 401 | 404 | 406 | 410,
                    ..
                }) => EngineError::GroupInviteInvalid,
                _ => group_error(e, false),
            })?;
        Ok(Joined {
            group_id: api_id(result.group_jid()),
            pending_approval: matches!(
                result,
                whatsapp_rust::features::JoinGroupResult::PendingApproval(_)
            ),
        })
    }
}
