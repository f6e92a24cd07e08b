//! What the sandbox remembers about relayed traffic: the capped relay log
//! (metadata only, never content) and the ids of direct messages already
//! relayed, so a message retried under the same id is not delivered twice.

use std::collections::{HashSet, VecDeque};

use serde::Serialize;

use super::{State, lock};

/// One row of the relay log — metadata only, never content.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogEntry {
    pub id: String,
    pub kind: String,
    pub from: String,
    pub to: String,
    #[serde(rename = "type")]
    pub msg_type: String,
    pub timestamp: i64,
}

const RELAY_LOG_CAP: usize = 100_000;

impl State {
    pub fn log(&self, entry: LogEntry) {
        let mut log = lock(&self.relay_log);
        if log.len() >= RELAY_LOG_CAP {
            log.pop_front();
        }
        log.push_back(entry);
    }
}

/// The ids of the last [`RelayedIds::CAPACITY`] relayed direct messages.
#[derive(Default)]
pub struct RelayedIds {
    order: VecDeque<(String, String, String)>,
    seen: HashSet<(String, String, String)>,
}

impl RelayedIds {
    pub const CAPACITY: usize = 200_000;

    /// Records a message; false when it was relayed before.
    pub fn first_time(&mut self, from: &str, to: &str, id: &str) -> bool {
        let key = (from.to_string(), to.to_string(), id.to_string());
        if self.seen.contains(&key) {
            return false;
        }
        if self.order.len() >= Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.seen.remove(&old);
        }
        self.seen.insert(key.clone());
        self.order.push_back(key);
        true
    }
}
