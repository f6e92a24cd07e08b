//! What one device's backend has read of `wa_tc_tokens`, kept so that a
//! send does not read its contact's token row again.
//!
//! whatsapp-rust reads the contact's trusted-contact token before every
//! 1:1 send, and writes a token only when one is issued or received, which
//! is rare. So each read is kept here (an absent row too), and every write
//! through the same backend forgets what it touched once its statement has
//! run. A read that was under way while a write ran does not keep what it
//! read: every write moves a generation on, and a read keeps its answer only
//! if the generation is still the one it saw before asking the database.
//!
//! This is sound because nothing but this backend writes the device's
//! tokens while it is in use: a backend lives for one run of its session,
//! another node's writes are fenced off by the session's lease, and a
//! device's rows are wiped only after its session stopped.
//!
//! Bounded: past [`MAX_ENTRIES`] contacts the cache starts over.

use std::collections::HashMap;
use std::sync::Mutex;

use wacore::store::traits::TcTokenEntry;

/// Most contacts whose token one device keeps in memory (~100 bytes each).
pub(crate) const MAX_ENTRIES: usize = 256;

/// A device's tokens as last read, with the write generation.
#[derive(Default)]
pub(crate) struct TcTokenCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Moves on with every write.
    generation: u64,
    /// A contact's token as read; `None` for no row.
    entries: HashMap<String, Option<TcTokenEntry>>,
}

/// Where the cache stood when a read missed it: [`TcTokenCache::keep`]
/// keeps the read's answer only if no write ran since.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Generation(u64);

/// What [`TcTokenCache::lookup`] found.
pub(crate) enum Lookup {
    /// The token as last read (`None`: no row).
    Known(Option<TcTokenEntry>),
    /// Not kept: read the row, then hand it to [`TcTokenCache::keep`] with this.
    Unknown(Generation),
}

impl TcTokenCache {
    pub(crate) fn lookup(&self, jid: &str) -> Lookup {
        let inner = self.lock();
        match inner.entries.get(jid) {
            Some(known) => Lookup::Known(known.clone()),
            None => Lookup::Unknown(Generation(inner.generation)),
        }
    }

    /// Keeps what a read found, unless a write ran since `seen`.
    pub(crate) fn keep(&self, jid: &str, seen: Generation, entry: &Option<TcTokenEntry>) {
        let mut inner = self.lock();
        if inner.generation != seen.0 {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(jid.to_string(), entry.clone());
    }

    /// A write to `jid`'s row ran (or may have).
    pub(crate) fn forget(&self, jid: &str) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.remove(jid);
    }

    /// A write to any number of rows ran (or may have).
    pub(crate) fn forget_all(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(t: i64) -> Option<TcTokenEntry> {
        Some(TcTokenEntry {
            token: vec![1],
            token_timestamp: t,
            sender_timestamp: None,
        })
    }

    fn known(cache: &TcTokenCache, jid: &str) -> Option<Option<i64>> {
        match cache.lookup(jid) {
            Lookup::Known(e) => Some(e.map(|e| e.token_timestamp)),
            Lookup::Unknown(_) => None,
        }
    }

    fn generation(cache: &TcTokenCache, jid: &str) -> Generation {
        match cache.lookup(jid) {
            Lookup::Unknown(g) => g,
            Lookup::Known(_) => panic!("{jid} is kept already"),
        }
    }

    #[test]
    fn a_read_is_kept_until_a_write_to_its_contact() {
        let cache = TcTokenCache::default();
        let g = generation(&cache, "a@lid");
        cache.keep("a@lid", g, &token(10));
        let g = generation(&cache, "b@lid");
        cache.keep("b@lid", g, &None);
        assert_eq!(known(&cache, "a@lid"), Some(Some(10)));
        assert_eq!(known(&cache, "b@lid"), Some(None), "no row is kept too");

        cache.forget("a@lid");
        assert_eq!(known(&cache, "a@lid"), None);
        assert_eq!(known(&cache, "b@lid"), Some(None), "other contacts stay");
        cache.forget_all();
        assert_eq!(known(&cache, "b@lid"), None);
    }

    #[test]
    fn a_read_that_raced_a_write_is_not_kept() {
        let cache = TcTokenCache::default();
        // The read misses, then a write runs before its answer comes back.
        let seen = generation(&cache, "a@lid");
        cache.forget("a@lid");
        cache.keep("a@lid", seen, &token(10));
        assert_eq!(known(&cache, "a@lid"), None, "the old answer is not kept");
        // A write to another contact counts too: the generation is per device.
        let seen = generation(&cache, "a@lid");
        cache.forget("z@lid");
        cache.keep("a@lid", seen, &token(10));
        assert_eq!(known(&cache, "a@lid"), None);
    }

    #[test]
    fn the_cache_is_bounded() {
        let cache = TcTokenCache::default();
        for i in 0..MAX_ENTRIES * 3 {
            let jid = format!("{i}@lid");
            let g = generation(&cache, &jid);
            cache.keep(&jid, g, &token(i as i64));
        }
        assert!(cache.lock().entries.len() <= MAX_ENTRIES);
    }
}
