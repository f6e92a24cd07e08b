//! LID ↔ phone number, as a session's device learned them.
//!
//! WhatsApp names more and more people by a LID (`…@lid`) instead of their
//! phone number. The engine learns each pair it meets (a message's
//! `sender_pn`, a usync answer, a history sync) into `wa_lid_pn_mappings`,
//! keyed by the device. History and chat pages show a LID chat or sender
//! with its phone number beside by reading those pairs at read time: one
//! table, nothing copied into each message, and a pair learned after a
//! message was stored shows on it too.

use std::collections::HashMap;

use sqlx::Row;

use crate::backend::{CHUNK, dyn_query};
use crate::{Store, StoreError};

impl Store {
    /// The phone numbers of these LIDs (user parts, no `@lid`) as the
    /// device of session `session_id` knows them: LID → phone number. A
    /// LID without a known number is absent.
    pub async fn phones_of_lids(
        &self,
        session_id: &str,
        lids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut out = HashMap::new();
        let mut lids: Vec<&String> = lids.iter().collect();
        lids.sort();
        lids.dedup();
        for chunk in lids.chunks(CHUNK) {
            let marks: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let mut q = dyn_query(format!(
                "SELECT m.lid, m.phone_number FROM wa_lid_pn_mappings m
                 JOIN sessions s ON s.device_id = m.device_id
                 WHERE s.id = $1 AND m.lid IN ({})",
                marks.join(", ")
            ))
            .bind(session_id.to_string());
            for lid in chunk {
                q = q.bind((*lid).clone());
            }
            for row in q.fetch_all(&self.pool).await? {
                out.insert(row.try_get("lid")?, row.try_get("phone_number")?);
            }
        }
        Ok(out)
    }
}
