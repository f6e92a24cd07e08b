//! The durable send queue and bulk batches.
//!
//! Every outgoing message is a `send_queue` row before it is sent. A row
//! carries the WhatsApp id the message will have (chosen when it is queued),
//! its lane (`direct`, `bulk`, `drip`), and a status that only moves forward:
//! `queued` → `sending` → `sent` | `failed`, or `queued` → `cancelled`. A row
//! left in `sending` by a crash goes back to `queued` at start-up and is sent
//! again under the same id, which the recipient's side treats as the same
//! message.
//!
//! Idempotency keys are unique per tenant, on messages and on batches alike;
//! the request's fingerprint is kept beside the key so a reuse with a
//! different request can be told apart from a retry.
//!
//! One concept per file:
//! - `record`: the row ([`NewQueued`], [`QueuedRecord`]) and its SQL;
//! - `submit`: queueing (idempotently), looking up, listing, cancelling;
//! - `dispatch`: the sender's side (next due, claim, settle, requeue);
//! - `batches`: bulk batches and their progress;
//! - `pacing`: a session's pacing overrides;
//! - `retention`: forgetting keys and deleting finished rows.

mod batches;
mod dispatch;
mod pacing;
mod record;
mod retention;
mod submit;

pub use batches::{BatchCreated, BatchProgress, BatchRecord};
pub use record::{Enqueued, LaneBacklog, NewQueued, QueueTurn, QueuedRecord};
