//! Receipts that arrive before their message is recorded.
//!
//! A message the session sends is stored (with its `message.sent`) once
//! WhatsApp's server has taken it. On a fast link the recipient's delivery
//! receipt can come back before that commit has finished: it then finds no
//! message to move, and its `message.ack` would be lost. Such a receipt is
//! parked here, under the message id; whoever stores a message replays
//! what waits for it ([`Session::replay_early_receipts`]).
//!
//! The handshake cannot lose a receipt. The receipt side parks first and
//! then tries once more; the recording side commits first and then takes
//! what is parked. Whichever runs second sees the other's work, and a
//! receipt applied twice moves the status only once (a status never goes
//! backwards), so its `message.ack` is appended once.
//!
//! Receipts for messages this session never stores (another device's,
//! long gone) would stay parked: the table is small and bounded, and an
//! entry older than [`KEEP`] is dropped.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use wagate_core::MessageStatus;

use super::Session;

/// How long a parked receipt waits for its message.
const KEEP: Duration = Duration::from_secs(60);
/// At most this many message ids wait per session; the oldest goes first.
const CAPACITY: usize = 256;

/// One receipt waiting for its message.
#[derive(Clone, Debug)]
pub(super) struct Parked {
    /// The chat ids the receipt may be about (a person's PN and LID).
    pub chats: Vec<String>,
    pub ack: u8,
    pub name: MessageStatus,
}

/// A session's parked receipts, by message id.
#[derive(Default)]
pub(super) struct EarlyReceipts {
    waiting: HashMap<String, (Instant, Vec<Parked>)>,
}

impl EarlyReceipts {
    /// Parks a receipt for `id`, dropping what has waited too long and,
    /// when full, the oldest entry.
    pub fn park(&mut self, id: &str, receipt: Parked) {
        let now = Instant::now();
        self.waiting
            .retain(|_, (at, _)| now.duration_since(*at) < KEEP);
        if self.waiting.len() >= CAPACITY
            && !self.waiting.contains_key(id)
            && let Some(oldest) = self
                .waiting
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            self.waiting.remove(&oldest);
        }
        self.waiting
            .entry(id.to_string())
            .or_insert_with(|| (now, Vec::new()))
            .1
            .push(receipt);
    }

    /// Takes everything parked for `id`, in arrival order.
    pub fn take(&mut self, id: &str) -> Vec<Parked> {
        let taken = self.waiting.remove(id).map(|(_, r)| r).unwrap_or_default();
        if self.waiting.is_empty() {
            // An idle session keeps no table.
            self.waiting = HashMap::new();
        }
        taken
    }

    /// Forgets `id`'s parked receipts (they were applied).
    pub fn forget(&mut self, id: &str) {
        self.take(id);
    }
}

impl Session {
    fn early(&self) -> std::sync::MutexGuard<'_, EarlyReceipts> {
        self.early_receipts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }

    /// A receipt found no message `id`: park it, then try once more (the
    /// message may have been recorded in between).
    pub(super) async fn park_receipt(&self, id: &str, receipt: Parked) {
        self.early().park(id, receipt.clone());
        match self
            .apply_receipt(&receipt.chats, id, receipt.ack, receipt.name)
            .await
        {
            Ok(true) => self.early().forget(id),
            Ok(false) => {}
            Err(e) => tracing::warn!(session = %self.id, "could not record receipt: {e}"),
        }
    }

    /// After message `id` is stored: applies the receipts that came first.
    pub(crate) async fn replay_early_receipts(&self, id: &str) {
        let parked = self.early().take(id);
        for r in parked {
            if let Err(e) = self.apply_receipt(&r.chats, id, r.ack, r.name).await {
                tracing::warn!(session = %self.id, "could not record receipt: {e}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(ack: u8) -> Parked {
        Parked {
            chats: vec!["628@s.whatsapp.net".into()],
            ack,
            name: MessageStatus::Delivered,
        }
    }

    #[test]
    fn parked_receipts_come_back_in_order_once() {
        let mut early = EarlyReceipts::default();
        early.park("A", receipt(3));
        early.park("A", receipt(4));
        let got: Vec<u8> = early.take("A").iter().map(|r| r.ack).collect();
        assert_eq!(got, vec![3, 4]);
        assert!(early.take("A").is_empty());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut early = EarlyReceipts::default();
        for i in 0..(CAPACITY + 10) {
            early.park(&format!("id{i}"), receipt(3));
        }
        assert_eq!(early.waiting.len(), CAPACITY);
        assert!(early.take("id0").is_empty(), "the oldest went first");
        assert_eq!(early.take(&format!("id{}", CAPACITY + 9)).len(), 1);
    }
}
