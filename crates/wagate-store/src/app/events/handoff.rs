//! The in-memory hand-off from SQLite's committers to the live publisher.
//!
//! A spine transaction that appended events gives them here once its commit
//! is durable, so the publisher can broadcast them without reading back
//! what was just written. The log stays the truth: the publisher takes only
//! an unbroken run of `seq`s after the last event it published (commits on
//! the one writer are numbered in commit order, but their committers may
//! hand over out of order), and reads the log at a gap, at start-up, or
//! when the hand-off is full because nobody is publishing.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};

use wagate_core::Event;

/// Most events waiting here; past it commits hand nothing over and the
/// publisher reads the log instead.
const CAP: usize = 4_096;

#[derive(Debug, Default)]
pub(crate) struct Handoff {
    /// Durable commits' events, by `seq`, not yet published.
    events: Mutex<BTreeMap<i64, Event>>,
    /// The highest `seq` of a durable commit so far.
    committed: AtomicI64,
}

impl Handoff {
    /// A durable commit's events, for the publisher.
    pub(crate) fn hand_over(&self, events: Vec<Event>) {
        let Some(last) = events.iter().map(|e| e.seq).max() else {
            return;
        };
        let mut waiting = self.lock();
        if waiting.len() + events.len() <= CAP {
            waiting.extend(events.into_iter().map(|e| (e.seq, e)));
        }
        drop(waiting);
        self.committed.fetch_max(last, Ordering::AcqRel);
    }

    /// The highest `seq` a durable commit handed over (or would have, past
    /// the cap).
    pub(crate) fn committed(&self) -> i64 {
        self.committed.load(Ordering::Acquire)
    }

    /// The events that directly follow `published`, in order (none at a
    /// gap); forgets what is at or below `published`.
    pub(crate) fn take_after(&self, published: i64) -> Vec<Event> {
        let mut waiting = self.lock();
        *waiting = waiting.split_off(&(published + 1));
        let mut run = Vec::new();
        let mut next = published + 1;
        while let Some(e) = waiting.remove(&next) {
            run.push(e);
            next += 1;
        }
        run
    }

    /// Forgets events at or below `published` (read from the log instead).
    pub(crate) fn forget_upto(&self, published: i64) {
        let mut waiting = self.lock();
        *waiting = waiting.split_off(&(published + 1));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i64, Event>> {
        self.events.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wagate_core::EventKind;

    fn event(seq: i64) -> Event {
        Event {
            seq,
            session_id: "s".into(),
            tenant_id: "t".into(),
            event: EventKind::SessionStatus,
            data: serde_json::json!({ "seq": seq }),
            created_at: 0,
        }
    }

    fn seqs(events: &[Event]) -> Vec<i64> {
        events.iter().map(|e| e.seq).collect()
    }

    #[test]
    fn only_an_unbroken_run_after_the_cursor_is_taken() {
        let h = Handoff::default();
        // Commits 11 and 12 hand over before commit 10 does.
        h.hand_over(vec![event(11), event(12)]);
        assert_eq!(h.committed(), 12);
        assert!(h.take_after(9).is_empty(), "10 is missing: read the log");
        h.hand_over(vec![event(10)]);
        assert_eq!(seqs(&h.take_after(9)), vec![10, 11, 12]);
        assert!(h.take_after(12).is_empty());
        // What the log already published is forgotten.
        h.hand_over(vec![event(13), event(14)]);
        h.forget_upto(13);
        assert_eq!(seqs(&h.take_after(13)), vec![14]);
    }

    #[test]
    fn a_full_hand_off_takes_nothing_more_but_still_counts_it() {
        let h = Handoff::default();
        h.hand_over((1..=CAP as i64).map(event).collect());
        h.hand_over(vec![event(CAP as i64 + 1)]);
        assert_eq!(h.committed(), CAP as i64 + 1);
        let run = h.take_after(0);
        assert_eq!(run.len(), CAP, "the one past the cap is read from the log");
    }
}
