//! A group as the sandbox keeps (and persists) it; the `w:g2` handling that
//! changes it lives in `groups/`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A group.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group {
    pub id: String,
    pub subject: String,
    pub subject_owner: String,
    pub subject_time: i64,
    pub description: Option<String>,
    pub description_id: Option<String>,
    pub creator: String,
    pub created_at: i64,
    /// phone -> is admin.
    pub participants: BTreeMap<String, bool>,
    pub invite_code: String,
    pub announce: bool,
    pub locked: bool,
}

impl Group {
    pub fn jid_string(&self) -> String {
        format!("{}@g.us", self.id)
    }
}
