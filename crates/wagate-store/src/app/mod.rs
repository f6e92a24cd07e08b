//! The gateway's own tables, over the shared pool.
//!
//! - [`tenants`]: tenants and their API keys (stored as SHA-256 hashes, never
//!   in the clear);
//! - [`sessions`]: one row per WhatsApp session, its status and identity;
//! - [`messages`]: message history, incoming and outgoing;
//! - [`chats`]: the chat list and each chat's app-state settings;
//! - [`labels`]: the account's labels and the chats that carry them;
//! - [`cluster`]: nodes, their heartbeats and the (fenced) leases that say
//!   which node runs each session and each single-runner worker;
//! - [`lid_pn`]: the LID ↔ phone-number pairs a session's device learned;
//! - [`polls`]: polls' options and secrets, and the votes seen on them;
//! - [`events`]: the durable event log every consumer reads by cursor;
//! - [`queue`]: the durable send queue and bulk batches;
//! - [`webhooks`] and [`outputs`]: the log's HTTP and broker consumers and
//!   their durable cursors.
//!
//! All SQL here is written once for both databases (`$N` placeholders,
//! `ON CONFLICT`), and timestamps are epoch milliseconds.

pub mod chats;
pub mod cluster;
pub mod contacts;
pub mod events;
pub mod gauges;
pub mod incoming_media;
pub mod labels;
pub mod lid_pn;
pub mod message_feed;
pub mod messages;
pub mod outbox_workers;
pub mod outputs;
pub mod polls;
pub mod queue;
pub mod sessions;
pub mod tenant_limits;
pub mod tenant_stats;
pub mod tenants;
pub mod warming;
pub mod webhooks;

pub use chats::{ChatChange, ChatPage, ChatRow, ChatSettings};
pub use cluster::{Fence, NodeBeat, NodeRecord, SessionOwner};
pub use contacts::KnownContact;
pub use events::{EventQuery, EventRecord, Publisher, SpineTx, SpineUnit};
pub use incoming_media::IncomingMediaJob;
pub use labels::LabelRecord;
pub use message_feed::MessageFeed;
pub use messages::{MediaFile, MessageRecord, NewMessage};
pub use polls::{NewPoll, PollRecord, PollVote};
pub use queue::{
    BatchCreated, BatchProgress, BatchRecord, Enqueued, LaneBacklog, NewQueued, QueueTurn,
    QueuedRecord,
};
pub use sessions::{
    NewSession, SessionFilter, SessionMeta, SessionMetaPatch, SessionProxyRow, SessionRecord,
};
pub use tenant_limits::TenantRateLimits;
pub use tenants::{ADMIN_TENANT_ID, ApiKeyRecord, Principal, Tenant};
pub use warming::{WarmingHealth, WarmingLine, WarmingMessage, WarmingRoom};

/// A column holding a vocabulary word (a status, a lane, a type), parsed;
/// a word no value has is a decode error, not a silent default.
pub(crate) fn wire<T>(r: &sqlx::any::AnyRow, column: &str) -> Result<T, sqlx::Error>
where
    T: std::str::FromStr<Err = wagate_core::wire::UnknownName>,
{
    use sqlx::Row;
    let name: String = r.try_get(column)?;
    name.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}
