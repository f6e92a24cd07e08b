//! Channels (WhatsApp newsletters): the ones this session follows or owns,
//! a channel's metadata (by id or invite), creating one, following and
//! unfollowing. Posting, reading a channel's messages and reacting live in
//! [`posts`].
//!
//! Channels speak WhatsApp's GraphQL ("mex") for metadata and a plain
//! `newsletter` iq for messages; posts are plaintext, not end-to-end
//! encrypted. A channel the server does not know (or does not show this
//! session) is `ChannelNotFound`; a post or change by a session that is not
//! the channel's owner or admin is `ChannelNotAdmin`, checked against the
//! channel's metadata before anything is sent.
//!
//! Messages posted in a followed channel reach the session as ordinary
//! incoming messages (chat `…@newsletter`, with the post's `serverId`), and
//! go through the session's `ignore.channels` setting like any other.

mod posts;

use wagate_core::session_settings::ChatKind;
use wagate_core::{ChannelId, ChannelRef, ChannelRole};
use whatsapp_rust::features::{
    MexError, NewsletterError, NewsletterMetadata, NewsletterRole, NewsletterState,
    NewsletterVerification,
};
use whatsapp_rust::{IqError, Jid};

pub use posts::{ChannelMessage, ChannelPost, ReactionCount};

use crate::error::EngineError;
use crate::session::Session;

/// A channel as the API shows it.
#[derive(Clone, Debug)]
pub struct ChannelInfo {
    /// `<digits>@newsletter`.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub subscribers: u64,
    /// This session's role (`None` when WhatsApp did not say).
    pub role: Option<ChannelRole>,
    /// The invite code (the link is `https://whatsapp.com/channel/<code>`).
    pub invite_code: Option<String>,
    pub verified: bool,
    /// `active`, `suspended` or `geosuspended`.
    pub state: &'static str,
    /// Unix seconds.
    pub created_at: Option<u64>,
}

impl From<NewsletterMetadata> for ChannelInfo {
    fn from(m: NewsletterMetadata) -> Self {
        ChannelInfo {
            id: m.jid.to_non_ad_string(),
            name: m.name,
            description: m.description,
            subscribers: m.subscriber_count,
            role: m.role.as_ref().map(role),
            invite_code: m.invite_code,
            verified: m.verification == NewsletterVerification::Verified,
            state: match m.state {
                NewsletterState::Suspended => "suspended",
                NewsletterState::Geosuspended => "geosuspended",
                _ => "active",
            },
            created_at: m.creation_time,
        }
    }
}

fn role(r: &NewsletterRole) -> ChannelRole {
    match r {
        NewsletterRole::Owner => ChannelRole::Owner,
        NewsletterRole::Admin => ChannelRole::Admin,
        NewsletterRole::Subscriber => ChannelRole::Subscriber,
        _ => ChannelRole::Guest,
    }
}

/// Maps the engine's channel errors: a missing channel (null in the
/// answer, or a 404) → `ChannelNotFound`; a 403 → `ChannelNotAdmin`; a
/// connection gone under the request → not ready.
pub(crate) fn channel_error(e: NewsletterError) -> EngineError {
    let code = match &e {
        NewsletterError::Iq(IqError::ServerError { code, .. }) => Some(*code),
        NewsletterError::Mex(MexError::Request(IqError::ServerError { code, .. })) => Some(*code),
        NewsletterError::Mex(MexError::ExtensionError { code, .. }) => u16::try_from(*code).ok(),
        _ => None,
    };
    match code {
        Some(404) => return EngineError::ChannelNotFound,
        Some(403) => return EngineError::ChannelNotAdmin,
        _ => {}
    }
    if let NewsletterError::Iq(
        IqError::NotConnected | IqError::Disconnected(_) | IqError::InternalChannelClosed,
    )
    | NewsletterError::Mex(MexError::Request(
        IqError::NotConnected | IqError::Disconnected(_) | IqError::InternalChannelClosed,
    )) = &e
    {
        return EngineError::NotReady("the session's connection dropped; try again");
    }
    if let NewsletterError::InvalidRequest(_) = &e {
        return EngineError::ChannelNotFound;
    }
    EngineError::Engine(format!("channel request failed: {e}"))
}

/// Refuses a channel's message where only a chat's will do: reacting,
/// editing or deleting for everyone go end-to-end encrypted, which a
/// channel is not (its reactions have their own route).
pub(crate) fn not_a_channel(chat_jid: &str) -> Result<(), EngineError> {
    if ChatKind::of(chat_jid) == ChatKind::Channel {
        return Err(EngineError::Invalid(
            "this is a channel's message: react with POST /api/sessions/{id}/channels/{channelId}/messages/{serverId}/react".into(),
        ));
    }
    Ok(())
}

pub(crate) fn channel_jid(id: &ChannelId) -> Result<Jid, EngineError> {
    id.jid()
        .parse()
        .map_err(|_| EngineError::Invalid(format!("invalid channel id {id}")))
}

impl Session {
    /// The channels this session follows or owns, by id.
    pub async fn list_channels(&self) -> Result<Vec<ChannelInfo>, EngineError> {
        let client = self.ready_client().await?;
        let list = client
            .newsletter()
            .list_subscribed()
            .await
            .map_err(channel_error)?;
        let mut out: Vec<ChannelInfo> = list.into_iter().map(ChannelInfo::from).collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(out)
    }

    /// A channel's metadata, by id or invite.
    pub async fn channel_info(&self, channel: &ChannelRef) -> Result<ChannelInfo, EngineError> {
        let client = self.ready_client().await?;
        let news = client.newsletter();
        let meta = match channel {
            ChannelRef::Id(id) => news.get_metadata(&channel_jid(id)?).await,
            ChannelRef::Invite(code) => news.get_metadata_by_invite(code).await,
        };
        Ok(ChannelInfo::from(meta.map_err(channel_error)?))
    }

    /// Creates a channel owned by this session.
    pub async fn create_channel(
        &self,
        name: &str,
        description: Option<&str>,
    ) -> Result<ChannelInfo, EngineError> {
        let client = self.ready_client().await?;
        let meta = client
            .newsletter()
            .create(name, description)
            .await
            .map_err(|e| match channel_error(e) {
                EngineError::ChannelNotFound => {
                    EngineError::Engine("WhatsApp did not create the channel".into())
                }
                other => other,
            })?;
        Ok(ChannelInfo::from(meta))
    }

    /// Follows a channel; answers its metadata.
    pub async fn follow_channel(&self, id: &ChannelId) -> Result<ChannelInfo, EngineError> {
        let client = self.ready_client().await?;
        let meta = client
            .newsletter()
            .join(&channel_jid(id)?)
            .await
            .map_err(channel_error)?;
        Ok(ChannelInfo::from(meta))
    }

    /// Stops following a channel.
    pub async fn unfollow_channel(&self, id: &ChannelId) -> Result<(), EngineError> {
        let client = self.ready_client().await?;
        client
            .newsletter()
            .leave(&channel_jid(id)?)
            .await
            .map_err(channel_error)
    }
}
