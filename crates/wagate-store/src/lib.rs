//! One store over SQLite and PostgreSQL.
//!
//! Every session of the gateway shares one connection pool (a thousand
//! sessions must fit in little memory, so never a pool or a file per
//! session). The store owns three things:
//! - [`db`]: connecting, telling SQLite from PostgreSQL, running migrations;
//! - [`backend`]: whatsapp-rust's `Backend` traits (device identity, Signal
//!   sessions, prekeys, sender keys, app-state keys, protocol bookkeeping),
//!   one [`backend::DeviceBackend`] per linked device, all rows keyed by
//!   `device_id`;
//! - [`app`]: the gateway's own tables (tenants, API keys, sessions,
//!   messages);
//! - `group_commit`: on a SQLite file, the hot writers' commits share
//!   fsyncs instead of paying one each.

pub mod app;
pub mod backend;
pub mod db;
mod group_commit;
mod statement_batch;
mod writer;

pub use db::{DbKind, Store, StoreError, sqlite_file};
pub use group_commit::GroupCommitStats;
