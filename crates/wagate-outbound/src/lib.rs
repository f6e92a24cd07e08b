//! The one outbound-request policy for every URL that a tenant or a remote
//! WhatsApp user can choose: media URLs, webhook URLs, outbox files.
//!
//! A URL like `http://169.254.169.254/latest/meta-data/` or
//! `http://localhost:5432/` must never be fetched on a tenant's behalf, nor
//! reveal by its error text what listens where. So:
//! - [`Policy`] says which addresses may be reached: by default no loopback,
//!   private (RFC 1918), link-local (169.254/16, fe80::/10), CGNAT,
//!   unique-local, multicast, documentation or unspecified address
//!   (`OUTBOUND_ALLOW_PRIVATE=true` lifts that; `OUTBOUND_ALLOW_HOSTS` lets
//!   named hosts and CIDRs through for on-prem receivers);
//! - [`Outbound`] is the HTTP client that enforces it *at connect time*: a
//!   DNS resolver that drops forbidden addresses (so DNS rebinding cannot
//!   slip past a check made earlier), IP-literal URLs checked before the
//!   request (reqwest does not resolve those), every redirect hop checked
//!   again, no proxy from the environment, timeouts, and a size cap
//!   enforced while the body streams in;
//! - [`OutboundError`] tells the caller the *class* of a failure
//!   ([`Reason`]: `forbidden_address`, `timeout`, `too_large`,
//!   `http_status`, `invalid_url`, `unreachable`), never raw socket text.
//!
//! The engine's own traffic to WhatsApp (or a configured sandbox) does not
//! go through here: those hosts are the operator's, not a tenant's.

mod address;
mod client;
mod error;
mod policy;
mod resolve;
mod trust;

pub use address::is_public;
pub use client::{CONNECT_TIMEOUT, MAX_REDIRECTS, Outbound};
pub use error::{OutboundError, Reason, classify};
pub use policy::Policy;
pub use resolve::Reach;
pub use trust::client_builder;

#[cfg(test)]
mod tests;
