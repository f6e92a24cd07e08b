//! Numbers known to be on WhatsApp, per session: a send to a phone number
//! asks WhatsApp once, and a positive answer is believed for
//! [`POSITIVE_TTL`] (negative answers are never kept: a number may register
//! at any time). The session holds one; it knows nothing of sessions.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long "this number is on WhatsApp" is believed.
pub const POSITIVE_TTL: Duration = Duration::from_secs(60 * 60);
/// Most cached answers per process (oldest are dropped beyond).
const CACHE_CAP: usize = 100_000;

/// Numbers known to be on WhatsApp, per session, with when that was learnt.
#[derive(Default)]
pub struct RecipientCache {
    known: Mutex<HashMap<(String, String), Instant>>,
}

impl RecipientCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Instant>> {
        self.known.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn is_known(&self, session: &str, phone: &str) -> bool {
        let mut known = self.lock();
        let key = (session.to_string(), phone.to_string());
        match known.get(&key) {
            Some(at) if at.elapsed() < POSITIVE_TTL => true,
            Some(_) => {
                known.remove(&key);
                false
            }
            None => false,
        }
    }

    pub fn remember(&self, session: &str, phone: &str) {
        let mut known = self.lock();
        if known.len() >= CACHE_CAP {
            known.retain(|_, at| at.elapsed() < POSITIVE_TTL);
            if known.len() >= CACHE_CAP {
                known.clear();
            }
        }
        known.insert((session.to_string(), phone.to_string()), Instant::now());
    }
}
