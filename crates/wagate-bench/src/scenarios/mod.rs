//! The measurements, one per module, in the order `main` runs them: each
//! takes what it needs (API client, sandbox, sessions) and returns its part
//! of the report.

pub mod api_overhead;
pub mod failover;
pub mod idle_memory;
pub mod one_session;
pub mod reconnect_storm;
pub mod send_path;
pub mod send_path_only;
pub mod webhook_replay;
pub mod ws_fanout;
