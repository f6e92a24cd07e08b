//! The `Idempotency-Key` every send of a row carries: derived from the
//! row's id and insert time and the table's fingerprint (where the database
//! is and which table, never its password): every attempt at a row, retried
//! or reclaimed, carries the same key, and no two rows share one.

use super::{OutboxDb, OutboxRow};

impl OutboxDb {
    /// The `Idempotency-Key` of a row's sends: the same for every attempt
    /// at that row, different for any other row, table or database (and for
    /// a row that reuses an id after the table was recreated).
    pub fn idempotency_key(&self, row: &OutboxRow) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(self.fingerprint.as_bytes());
        h.update(b"\n");
        h.update(row.inserted.as_deref().unwrap_or_default().as_bytes());
        let digest = hex::encode(h.finalize());
        format!("outbox-{}-{}", row.id, &digest[..16])
    }
}

/// The database's location (no credentials) and the table.
pub(super) fn fingerprint(url: &str, table: &str) -> String {
    let place = match url::Url::parse(url.trim()) {
        Ok(u) if u.scheme() != "sqlite" => format!(
            "{}://{}:{}{}",
            u.scheme().replace("mariadb", "mysql"),
            u.host_str().unwrap_or_default(),
            u.port().unwrap_or_default(),
            u.path()
        ),
        _ => url.trim().split('?').next().unwrap_or_default().to_string(),
    };
    format!("{place}#{table}")
}
