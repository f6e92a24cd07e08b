//! Callers waiting for a message's outcome: a sync send waits until its
//! message is sent, failed or cancelled (or a timeout passes).
//!
//! A waiter listens under the message's queue id. Whoever settles the
//! message tells every listener, with the row as settled when it knows it
//! (the dispatcher after a send: no read back), or with nothing, and the
//! waiter reads the row. A sync send listens before its row is written
//! ([`SendQueue::submit_and_wait`]), so it cannot be finished unseen; a
//! waiter that stops waiting leaves no entry behind.

use super::*;

impl SendQueue {
    /// Waits until a message is sent, failed or cancelled, or `timeout`
    /// passes; returns its row as it is then.
    pub async fn wait(&self, id: &str, timeout: Duration) -> Result<QueuedRecord, EngineError> {
        let told = self.listen(id);
        match self.get(id).await {
            Ok(current) if !current.is_final() => self.outcome(id, told, timeout).await,
            // Already final (an idempotent repeat), or gone: it never
            // rings again for this waiter.
            current => {
                self.stop_listening(id, told);
                current
            }
        }
    }

    /// Starts listening for message `id` to finish.
    pub(super) fn listen(&self, id: &str) -> oneshot::Receiver<Option<QueuedRecord>> {
        let (tx, rx) = oneshot::channel();
        self.inner
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(id.to_string())
            .or_default()
            .push(tx);
        rx
    }

    /// Waits up to `timeout` for message `id` to finish; its row as the
    /// dispatcher settled it, or else as it is now.
    pub(super) async fn outcome(
        &self,
        id: &str,
        told: oneshot::Receiver<Option<QueuedRecord>>,
        timeout: Duration,
    ) -> Result<QueuedRecord, EngineError> {
        let told = tokio::time::timeout(timeout, told).await;
        // Still waiting after `timeout` (its session deleted, say): this
        // waiter's entry goes.
        self.drop_closed_waiters(id);
        match told {
            Ok(Ok(Some(record))) => Ok(record),
            _ => self.get(id).await,
        }
    }

    /// Stops listening for message `id` (and forgets the entry if no one
    /// else listens).
    pub(super) fn stop_listening(&self, id: &str, told: oneshot::Receiver<Option<QueuedRecord>>) {
        drop(told);
        self.drop_closed_waiters(id);
    }

    /// Forgets the waiters of `id` that stopped waiting.
    fn drop_closed_waiters(&self, id: &str) {
        let mut waiters = self.inner.waiters.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(list) = waiters.get_mut(id) {
            list.retain(|w| !w.is_closed());
            if list.is_empty() {
                waiters.remove(id);
            }
        }
    }

    /// How many messages have callers waiting on them (for tests).
    pub fn waiting(&self) -> usize {
        self.inner
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }

    /// Tells whoever waits for message `id` that it is done: `row` is its
    /// row as settled (`None`: they read it).
    pub(crate) fn finished(&self, id: &str, row: Option<QueuedRecord>) {
        let waiters = self
            .inner
            .waiters
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(id);
        for w in waiters.into_iter().flatten() {
            let _ = w.send(row.clone());
        }
    }
}
