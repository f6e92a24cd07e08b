//! What wagate's tests stand on, in one place:
//!
//! - [`start_sandbox`]: the sandbox (WhatsApp's server on loopback), in
//!   process; [`create_phone`] ([`create_lid_phone`]), [`pair`], [`create_and_pair`]: its phones,
//!   and linking them to gateway sessions;
//! - [`Gateway`]: the real `wagate` binary as a child process (SIGKILL and
//!   SIGTERM included; [`Launch`] for any binary and sandbox), and [`Api`],
//!   a client with every verb;
//! - [`SandboxProcess`], [`rss_bytes`]: the sandbox as a process of its
//!   own, and a process's memory, for the benchmark;
//! - [`Db`]: a fresh SQLite file or PostgreSQL database per test, and
//!   [`psql`] to look inside one;
//! - [`Receiver`]: a webhook receiver that keeps raw bodies and headers;
//! - [`SocksProxy`]: a SOCKS5 proxy with a login that logs what it relays;
//! - [`eventually`] (a guard against hangs, never a speed assertion) and
//!   [`event_where`] (the durable event stream, from its start);
//! - history helpers ([`received_texts`]), [`browser`], a real chromium
//!   for the dashboard, and [`brokers`], NATS and RabbitMQ for the
//!   event-bus outputs.
//!
//! Dev-only: the e2e tests of the `wagate` crate use it through their
//! `tests/common` module, the store's tests for their databases, and
//! `wagate-bench` for its processes.

pub mod brokers;
pub mod browser;
mod db;
mod gateway;
mod phones;
mod process;
mod receiver;
mod socks;
mod traces;

pub use db::{Db, psql};
pub use gateway::{Api, Gateway, Launch};
pub use phones::{Phone, create_and_pair, create_lid_phone, create_phone, pair};
pub use process::{SandboxProcess, free_port, rss_bytes};
pub use receiver::{Hit, Receiver};
pub use socks::{Relayed, SocksProxy};
pub use traces::{history, jpeg, received_at_least, received_texts, relay_log, relayed_messages};

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use wagate_sandbox::{Sandbox, SandboxConfig};

pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// The `wagate` binary under test: cargo-nextest names it at run time
/// (`NEXTEST_BIN_EXE_wagate`); under `cargo test` it sits beside the test
/// executable's `deps/` folder.
pub fn wagate_binary() -> PathBuf {
    for var in ["NEXTEST_BIN_EXE_wagate", "CARGO_BIN_EXE_wagate"] {
        if let Ok(p) = std::env::var(var) {
            return PathBuf::from(p);
        }
    }
    let exe = std::env::current_exe().expect("the test executable");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps/<test>");
    profile_dir.join("wagate")
}

/// Polls `f` until it returns `Some`, failing after `timeout` (a guard
/// against hangs, not a speed assertion).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    eventually_every(what, timeout, Duration::from_millis(100), f).await
}

/// [`eventually`], polling every `every`.
pub async fn eventually_every<T, F, Fut>(
    what: &str,
    timeout: Duration,
    every: Duration,
    mut f: F,
) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(every).await;
    }
}

pub async fn start_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: None,
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// The first event on the tenant-wide SSE stream, replayed from the start
/// of the log, for which `done` holds (a minute at most: a hang guard).
pub async fn event_where(base: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut events = events_until(base, Duration::from_secs(60), done).await;
    events.pop().expect("the matching event")
}

/// Every event on the tenant-wide SSE stream, replayed from the start of
/// the log, up to and including the first for which `done` holds (within
/// `timeout`: a hang guard).
pub async fn events_until(
    base: &str,
    timeout: Duration,
    done: impl Fn(&Value) -> bool,
) -> Vec<Value> {
    use futures::StreamExt;
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/events"))
        .header("X-API-Key", ADMIN_KEY)
        .header("Last-Event-ID", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut out = Vec::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if let Ok(v) = serde_json::from_str::<Value>(&data) {
                    let last = done(&v);
                    out.push(v);
                    if last {
                        return;
                    }
                }
            }
        }
        panic!("the event stream ended");
    };
    tokio::time::timeout(timeout, read)
        .await
        .expect("the event arrives");
    out
}
