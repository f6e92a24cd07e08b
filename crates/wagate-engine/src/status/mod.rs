//! Status updates ("stories"): posting a text, image or video status,
//! revoking one, and statuses from others arriving as `status.received`.
//!
//! A status is a message to the chat `status@broadcast`, encrypted once
//! with a sender key and the key handed to each recipient device, like a
//! group message whose members the poster names. whatsapp-rust
//! (`client.status()`) addresses a status by LID, so each recipient's
//! LID↔phone mapping must be known before it is sent: the engine asks
//! WhatsApp (a number check) for those it does not know yet, and a person
//! WhatsApp gives no LID for is left out (the sandbox reveals the LIDs of
//! its LID-addressed phones only).
//!
//! Who sees a status: the `contacts` given, else the session's contacts —
//! everyone it exchanged a one-to-one message with or heard in a group
//! (the contact list, [`crate::contact_list`]), blocked ones left out,
//! newest first, at most [`STATUS_RECIPIENTS_MAX`]. A linked device never
//! learns the phone's address book, so this is the audience it can know.
//!
//! Statuses are kept in the message history under the chat
//! `status@broadcast` (not listed among the chats): an own status with the
//! audience it went to, so that a revoke reaches the same people; a
//! received one with its file, downloaded like any received file (its
//! `message.media` event names it) and served by the files route. Rooms:
//! `post` (posting and revoking), `incoming` (statuses from others).

mod incoming;
mod post;

use wagate_core::ChatId;
pub use wagate_core::status_post::STATUS_RECIPIENTS_MAX;

use crate::media::StagedMedia;

/// What a status shows.
#[derive(Debug)]
pub enum StatusContent {
    /// A text on a coloured background (ARGB), in one of WhatsApp's fonts
    /// (`wagate_core::status_post::STATUS_FONTS`).
    Text {
        text: String,
        background_argb: u32,
        font: i32,
    },
    /// An image or a video (checked and kept, with its caption).
    Media(StagedMedia),
}

/// A status to post.
#[derive(Debug)]
pub struct StatusPost {
    pub content: StatusContent,
    /// Who sees it (`None`: the session's contacts).
    pub contacts: Option<Vec<ChatId>>,
}

/// A status posted (or revoked).
#[derive(Clone, Debug)]
pub struct PostedStatus {
    /// The contract's message id (`true_status@broadcast_<id>`).
    pub message_id: String,
    /// WhatsApp's id of the status.
    pub wa_id: String,
    /// The people it went to (those WhatsApp knows).
    pub recipients: Vec<ChatId>,
    pub timestamp_ms: i64,
}
