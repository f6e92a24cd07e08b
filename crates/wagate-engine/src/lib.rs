//! Sessions on the real WhatsApp engine.
//!
//! This is the only crate that knows `whatsapp-rust` exists. It owns:
//! - [`config`]: where the engine connects and which client version it claims;
//! - [`http`]: the engine's HTTP client (media upload/download), which can
//!   route media to a sandbox over plain HTTP without any TLS-disabling flag;
//! - [`session`]: one live session — its `whatsapp-rust` bot, its status
//!   machine, its QR codes — and the translation of engine events into the
//!   gateway's own ([`convert`]);
//! - [`manager`]: every session of this process, started again at boot;
//! - [`events`]: the gateway events sessions emit;
//! - [`media`]: media send and receive, size limits, the media directory;
//! - [`incoming`]: received files, downloaded off the ack path by a bounded
//!   pool into the media storage, announced by `message.media`;
//! - [`queue`]: the durable send queue every message goes through, with
//!   per-session pacing, retries, idempotency and bulk batches;
//! - [`polls`]: polls sent and received, votes cast and decrypted;
//! - [`proxy`]: the proxy a session's WhatsApp traffic goes through.
//! - [`calls`]: incoming calls told as events, rejected by setting.
//! - [`chats`]: chat settings and clean-up through WhatsApp's app state.
//! - [`channels`]: channels (newsletters): follow, create, post, read, react.
//! - [`status`]: status updates (stories) posted, revoked and received.

pub mod actions;
pub mod blocklist;
pub mod calls;
pub mod channels;
pub mod chats;
pub mod cluster;
pub mod config;
pub mod contact_list;
pub mod contacts;
pub mod convert;
pub mod error;
pub mod events;
pub mod groups;
pub mod http;
pub mod incoming;
pub mod labels;
pub mod lid;
pub mod manager;
pub mod media;
pub mod media_store;
pub mod polls;
pub mod presence;
pub mod profile;
pub mod proxy;
pub mod queue;
pub mod recipient_cache;
pub mod reconnect;
pub mod session;
pub mod status;
pub mod warming;

pub use config::EngineConfig;
pub use error::EngineError;
pub use events::GatewayEvent;
pub use manager::SessionManager;
pub use session::{LiveState, Session};

/// Whether this build accepts a non-WhatsApp server certificate chain
/// (the `sandbox` feature). Shown in health output and at start-up.
pub const ACCEPTS_SANDBOX_CERTIFICATES: bool = cfg!(feature = "sandbox");
