//! Webhook endpoints, their delivery cursors and their delivery log.
//!
//! A webhook row is an endpoint plus a durable cursor (`last_seq`, the last
//! event of the log it was given, successfully or finally failed). The
//! delivery worker advances the cursor only with compare-and-set, so a replay
//! requested through the API (`replay_from`) is never overwritten by a
//! delivery that was in flight, and a restart (even a SIGKILL) resumes from
//! exactly where the cursor stands.
//!
//! `webhook_deliveries` is one row per attempt (the `deliveryId` the receiver
//! saw), `webhook_redeliveries` a queue of events to send again on request.
//! The secret is stored (the worker signs with it) but never shown: the
//! record's `Debug` redacts it.
//!
//! One concept per file:
//! - `record`: the endpoint row and its SQL;
//! - `endpoints`: creating, reading, patching and deleting webhooks;
//! - `cursor`: the worker's cursor, replays, failure runs, disabling;
//! - `deliveries`: the delivery log;
//! - `redeliveries`: events queued to be sent again;
//! - `retention`: pruning the event log and orphaned webhooks;
//! - `settle`: the worker's group commit (attempts and cursor together).

mod cursor;
mod deliveries;
mod endpoints;
mod record;
mod redeliveries;
mod retention;
mod settle;

pub use deliveries::DeliveryRecord;
pub use record::{NewWebhook, WebhookPatch, WebhookRecord};

/// Whether an events filter lets `event` through.
pub fn event_matches(filter: &[String], event: &str) -> bool {
    wagate_core::event::filter_matches(filter, event)
}

#[cfg(test)]
mod tests;
