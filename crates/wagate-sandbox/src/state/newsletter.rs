//! A newsletter (a WhatsApp channel) as the sandbox keeps and persists it:
//! its owner, followers and posts (plaintext, as on WhatsApp, with their
//! server ids and who reacted with what). What answers the clients about
//! them lives in `newsletters/`.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

/// The first server id a newsletter gives a post (whatsapp-rust ignores
/// smaller ones on incoming messages).
pub const FIRST_SERVER_ID: u64 = 100;

/// A newsletter.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Newsletter {
    /// The digits of `<id>@newsletter`.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// The owner's phone.
    pub owner: String,
    pub created_at: i64,
    pub invite: String,
    /// Phones that follow it (the owner is not one of them).
    pub followers: BTreeSet<String>,
    pub posts: Vec<Post>,
}

/// One post of a newsletter.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Post {
    pub server_id: u64,
    /// The id the posting client gave it.
    pub id: String,
    pub t: i64,
    /// The stanza's `type` (`text`, `media`, …).
    pub kind: String,
    /// The `<plaintext mediatype=…>`, if any.
    pub media_type: Option<String>,
    /// The message protobuf, hex.
    pub plaintext: String,
    /// phone -> the reaction it gave.
    pub reactions: BTreeMap<String, String>,
}

impl Newsletter {
    pub fn jid_string(&self) -> String {
        format!("{}@newsletter", self.id)
    }

    /// `owner`, `subscriber` or `guest`: what `phone` is to it.
    pub fn role_of(&self, phone: &str) -> &'static str {
        if self.owner == phone {
            "owner"
        } else if self.followers.contains(phone) {
            "subscriber"
        } else {
            "guest"
        }
    }

    pub fn next_server_id(&self) -> u64 {
        self.posts
            .iter()
            .map(|p| p.server_id + 1)
            .max()
            .unwrap_or(FIRST_SERVER_ID)
    }

    pub fn post_mut(&mut self, server_id: u64) -> Option<&mut Post> {
        self.posts.iter_mut().find(|p| p.server_id == server_id)
    }
}

impl Post {
    /// reaction -> how many gave it.
    pub fn reaction_counts(&self) -> BTreeMap<String, u64> {
        let mut counts = BTreeMap::new();
        for code in self.reactions.values() {
            *counts.entry(code.clone()).or_insert(0) += 1;
        }
        counts
    }
}
