//! One session's sequential send rate: a fresh gateway (SQLite, with the
//! `SQLITE_SYNCHRONOUS` given) and two paired sessions; session A sends N
//! texts to B as sync sends (200 once sent), one after another. What one
//! message costs end to end when nothing else runs: the queue's writes,
//! the engine's encryption and the round trip to the server.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use serde_json::{Value, json};
use wagate_testkit::{Gateway, Launch, SandboxProcess};

use crate::api::Api;
use crate::sessions::{create_phones_with, pair_many};
use crate::stats::Latencies;

pub struct OneSession<'a> {
    pub binary: &'a Path,
    pub sandbox: &'a SandboxProcess,
    pub messages: usize,
    /// `full` (the default) or `normal`.
    pub sqlite_synchronous: String,
    /// Whether WhatsApp knows the phones by a LID too (`--one-session-lid`).
    pub lid: bool,
}

impl OneSession<'_> {
    pub async fn run(&self) -> anyhow::Result<Value> {
        let data = tempfile::tempdir()?;
        let gw = start_send_gateway(
            self.binary,
            self.sandbox,
            data.path(),
            &self.sqlite_synchronous,
            None,
        )
        .await;
        let api = Api::new(&gw.base);
        let phones = vec!["62866000001".to_string(), "62866000002".to_string()];
        create_phones_with(self.sandbox, &phones, self.lid).await?;
        let sessions = pair_many(&api, self.sandbox, &phones, 0, 2).await?;
        let send = |i: usize| {
            let api = api.clone();
            let path = format!("/api/sessions/{}/messages/send-text", sessions[0]);
            let body = json!({ "chatId": phones[1], "text": format!("one-{i}") });
            async move { api.post(&path, body).await }
        };
        // The first send learns the recipient's devices: not counted.
        send(usize::MAX).await?;
        let mut latencies = Latencies::default();
        let started = Instant::now();
        for i in 0..self.messages {
            let t = Instant::now();
            let (status, body) = send(i).await?;
            if status != 200 {
                bail!("send {i}: {status} {body}");
            }
            latencies.push(t.elapsed());
        }
        let secs = started.elapsed().as_secs_f64();
        let rate = self.messages as f64 / secs;
        eprintln!(
            "one session: {} sync sends in {secs:.1}s, {rate:.1} msg/s",
            self.messages
        );
        gw.stop();
        Ok(json!({
            "messages": self.messages,
            "sqliteSynchronous": self.sqlite_synchronous,
            "lid": self.lid,
            "msgPerSec": rate,
            "latency": latencies.summary(),
        }))
    }
}

/// A fresh gateway on SQLite for a send measurement: rate limits off, the
/// `SQLITE_SYNCHRONOUS` given, answering `/health`.
/// `WAGATE_BENCH_LOG=<file>` keeps its log there, at `WAGATE_BENCH_RUST_LOG`
/// (default `warn`): to see where a send waits.
pub(crate) async fn start_send_gateway(
    binary: &Path,
    sandbox: &SandboxProcess,
    data_dir: &Path,
    sqlite_synchronous: &str,
    database_url: Option<&str>,
) -> Gateway {
    let log = std::env::var_os("WAGATE_BENCH_LOG").map(std::path::PathBuf::from);
    let level = std::env::var("WAGATE_BENCH_RUST_LOG").unwrap_or_else(|_| "warn".into());
    let env = [
        ("RUST_LOG", level),
        ("RATE_LIMIT_ENABLED", "false".to_string()),
        ("SQLITE_SYNCHRONOUS", sqlite_synchronous.to_string()),
    ];
    let gw = Launch {
        binary,
        data_dir,
        database_url,
        sandbox_ws: &sandbox.ws,
        env: &env,
        allow_private: true,
        log: log.as_deref(),
    }
    .start();
    gw.healthy().await;
    gw
}
