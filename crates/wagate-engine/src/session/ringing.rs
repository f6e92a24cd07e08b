//! The calls a session has ringing now, and whom it replied to lately
//! after rejecting a call: bounded tables, so a caller that never hangs up
//! or rings in a loop grows nothing. The calls module acts on them.

use std::collections::{HashMap, VecDeque};

/// Most calls remembered as ringing per session (a caller that never
/// hangs up cannot grow the table).
const RINGING_MAX: usize = 256;
/// Most callers remembered for the reply cooldown.
const REPLIED_MAX: usize = 1024;
/// Least time between two reject replies to the same caller.
pub const REPLY_COOLDOWN_MS: i64 = 60_000;

/// The calls ringing now and whom the session replied to lately.
#[derive(Default)]
pub(crate) struct Ringing {
    calls: HashMap<String, RingingCall>,
    order: VecDeque<String>,
    replied: HashMap<String, i64>,
}

/// One call that rings.
#[derive(Clone, Debug)]
pub(crate) struct RingingCall {
    pub from: String,
    pub from_pn: Option<String>,
    pub is_video: bool,
    pub is_group: bool,
}

impl Ringing {
    pub(crate) fn ring(&mut self, id: &str, call: RingingCall) -> bool {
        if self.calls.contains_key(id) {
            return false;
        }
        while self.calls.len() >= RINGING_MAX {
            match self.order.pop_front() {
                Some(old) => {
                    self.calls.remove(&old);
                }
                None => break,
            }
        }
        self.calls.insert(id.to_string(), call);
        self.order.push_back(id.to_string());
        true
    }

    pub(crate) fn end(&mut self, id: &str) -> Option<RingingCall> {
        let call = self.calls.remove(id)?;
        self.order.retain(|c| c != id);
        Some(call)
    }

    /// Whether the session may reply to `caller` now (and notes it did).
    pub(crate) fn may_reply(&mut self, caller: &str, now: i64) -> bool {
        if let Some(last) = self.replied.get(caller)
            && now - last < REPLY_COOLDOWN_MS
        {
            return false;
        }
        if self.replied.len() >= REPLIED_MAX {
            self.replied.retain(|_, at| now - *at < REPLY_COOLDOWN_MS);
            if self.replied.len() >= REPLIED_MAX {
                return false;
            }
        }
        self.replied.insert(caller.to_string(), now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(from: &str) -> RingingCall {
        RingingCall {
            from: from.into(),
            from_pn: None,
            is_video: false,
            is_group: false,
        }
    }

    #[test]
    fn a_call_rings_and_ends_once() {
        let mut r = Ringing::default();
        assert!(r.ring("C1", call("a")));
        assert!(!r.ring("C1", call("a")));
        assert!(r.end("C1").is_some());
        assert!(r.end("C1").is_none());
    }

    #[test]
    fn the_table_is_bounded() {
        let mut r = Ringing::default();
        for i in 0..RINGING_MAX + 10 {
            r.ring(&format!("C{i}"), call("a"));
        }
        assert_eq!(r.calls.len(), RINGING_MAX);
        assert!(r.end("C0").is_none());
        assert!(r.end(&format!("C{}", RINGING_MAX + 9)).is_some());
    }

    #[test]
    fn a_caller_is_replied_to_once_per_cooldown() {
        let mut r = Ringing::default();
        assert!(r.may_reply("6281", 0));
        assert!(!r.may_reply("6281", REPLY_COOLDOWN_MS - 1));
        assert!(r.may_reply("6282", 1));
        assert!(r.may_reply("6281", REPLY_COOLDOWN_MS));
    }
}
