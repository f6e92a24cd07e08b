//! The outbox table, on PostgreSQL, MySQL/MariaDB or SQLite.
//!
//! One `sqlx::AnyPool`; the few statements that differ by dialect are
//! built here (placeholders: `?` on MySQL, `$N` elsewhere; the clock; the
//! claim). Identifiers are never quoted, so PostgreSQL folds the seed's
//! camelCase columns (`insertDateTime`) to lower case and every query
//! still finds them.
//!
//! Statuses: 0 pending, 3 claimed, 1 sent, 2 failed.
//!
//! One concept per file: [`Dialect`] (the SQL that differs), `connect.rs`
//! (URLs and the pool), `schema.rs` (the table, created and extended),
//! [`AppFilter`] (which rows a worker serves), `claim.rs` (taking a row),
//! `settle.rs` (what becomes of a claimed row), `insert.rs` (adding one)
//! and `idempotency.rs` (the key every send of a row carries).

mod claim;
mod connect;
mod dialect;
mod filter;
mod idempotency;
mod insert;
mod schema;
mod settle;

use sqlx::AnyPool;

pub use claim::Claim;
pub use connect::{redact, valid_identifier};
pub use dialect::Dialect;
pub use filter::AppFilter;
pub use insert::NewRow;

pub const STATUS_PENDING: i64 = 0;
pub const STATUS_SENT: i64 = 1;
pub const STATUS_FAILED: i64 = 2;
pub const STATUS_CLAIMED: i64 = 3;

/// One claimed row: what the worker needs to send it.
#[derive(Clone, Debug)]
pub struct OutboxRow {
    pub id: i64,
    /// 0 text, 1 image, 2 document, 3 video, 4 audio.
    pub msg_type: i64,
    pub from_number: Option<String>,
    pub client_id: Option<i64>,
    pub destination: String,
    pub messages: Option<String>,
    pub application: Option<String>,
    pub table_id: Option<String>,
    pub file: Option<String>,
    pub error_count: i64,
    /// The session (id, or the `from_number`) a previous attempt used.
    pub session_id: Option<String>,
    /// `insertDateTime` as text (part of the idempotency key).
    pub inserted: Option<String>,
}

/// The outbox database.
#[derive(Clone, Debug)]
pub struct OutboxDb {
    pool: AnyPool,
    dialect: Dialect,
    table: String,
    /// Which table this is (database location and table name, never the
    /// password): part of every row's idempotency key.
    fingerprint: String,
}

impl OutboxDb {
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn table(&self) -> &str {
        &self.table
    }
}

#[cfg(test)]
mod tests;
