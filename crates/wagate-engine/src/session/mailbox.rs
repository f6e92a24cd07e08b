//! A bot's ordered event mailbox: every event the engine raises, handed to
//! [`Session::on_engine_event`] one at a time, in the order it was raised.
//!
//! whatsapp-rust offers the same thing (`EventDelivery::Ordered`), but its
//! mailbox reserves every slot up front: 4,096 slots are 64 KiB per session,
//! a third of what an idle session costs. This one is tokio's bounded
//! channel, which allocates its slots in blocks of 32 as a backlog builds
//! up, so an idle session pays for one block. The bound and what happens
//! at it are the engine's: the bus never waits on us (a slow handler must
//! not hold up the connection's read loop), so an event that finds the
//! mailbox full is dropped and counted. Messages are not lost that way:
//! the inbound durability hook only lets the engine acknowledge a message
//! once it is stored, and a message whose event was dropped is redelivered.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::Weak;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::FutureExt;
use tokio::sync::mpsc;
use tracing::{debug, warn};
use whatsapp_rust::client::Client;
use whatsapp_rust::types::events::{Event, EventHandler};

use super::Session;

/// Events that may wait for the handler. Events are handled quickly (a few
/// database writes), so this only absorbs bursts.
const CAPACITY: usize = 4096;

/// The bus's end: registered on the bot, it queues each event without ever
/// waiting.
pub(super) struct Mailbox {
    tx: mpsc::Sender<Arc<Event>>,
    session_id: String,
    dropped: AtomicU64,
}

/// The handler's end, drained by [`deliver`].
pub(super) struct Inbox(mpsc::Receiver<Arc<Event>>);

pub(super) fn mailbox(session_id: &str) -> (Mailbox, Inbox) {
    let (tx, rx) = mpsc::channel(CAPACITY);
    let mailbox = Mailbox {
        tx,
        session_id: session_id.to_string(),
        dropped: AtomicU64::new(0),
    };
    (mailbox, Inbox(rx))
}

impl EventHandler for Mailbox {
    fn handle_event(&self, event: Arc<Event>) {
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(_)) => {
                let dropped = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // The first drop and then every power of two: a storm of
                // them must not become a storm of log lines.
                if dropped.is_power_of_two() {
                    warn!(
                        session = %self.session_id,
                        dropped,
                        "event mailbox full ({CAPACITY}): events dropped"
                    );
                }
            }
            // The drainer is gone: the bot is being torn down.
            Err(mpsc::error::TrySendError::Closed(_)) => {
                debug!(session = %self.session_id, "event mailbox closed; event dropped");
            }
        }
    }
}

/// Hands the events of bot run `generation` to `session`, in order, until
/// the bot (which owns the [`Mailbox`]) is gone. Holds neither the session
/// nor the client alive: both are borrowed per event.
pub(super) fn deliver(inbox: Inbox, session: Weak<Session>, client: Weak<Client>, generation: u64) {
    let Inbox(mut rx) = inbox;
    tokio::spawn(async move {
        while let Some(event) = rx.recv().await {
            let (Some(session), Some(client)) = (session.upgrade(), client.upgrade()) else {
                break;
            };
            // One faulty event must not stop the delivery of every later one.
            let handled = AssertUnwindSafe(session.on_engine_event(generation, &event, &client))
                .catch_unwind()
                .await;
            if handled.is_err() {
                warn!(session = %session.id, "an engine event's handler panicked; going on");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatsapp_rust::types::events::Connected;

    fn event() -> Arc<Event> {
        Arc::new(Event::Connected(Connected::builder().build()))
    }

    #[tokio::test]
    async fn events_wait_in_order_and_a_full_mailbox_drops_and_counts() {
        // Step: the bus raises more events than the mailbox holds, with
        // nobody draining it yet.
        let (mailbox, Inbox(mut rx)) = mailbox("sess_test");
        let first = event();
        mailbox.handle_event(first.clone());
        for _ in 1..CAPACITY {
            mailbox.handle_event(event());
        }
        mailbox.handle_event(event());
        mailbox.handle_event(event());

        // Then: the bus never waited, the two past the bound were dropped
        // and counted, and the rest wait in the order they came.
        assert_eq!(mailbox.dropped.load(Ordering::Relaxed), 2);
        let head = rx.recv().await.unwrap();
        assert!(Arc::ptr_eq(&head, &first));
        let mut waiting = 1;
        while rx.try_recv().is_ok() {
            waiting += 1;
        }
        assert_eq!(waiting, CAPACITY);

        // And once the bot (the mailbox's owner) is gone, the inbox ends.
        drop(mailbox);
        assert!(rx.recv().await.is_none());
    }
}
