//! Webhook replay throughput: `events` message events are logged into the
//! gateway's real store (SQLite or PostgreSQL), spread over `endpoints`
//! sessions with one signed webhook each, then every webhook is asked to
//! replay from the first of them; the clock runs until a keep-alive receiver
//! in this process has every event. Signatures, duplicates and per-endpoint
//! order are audited by the receiver.

use std::path::Path;
use std::time::Instant;

use anyhow::bail;
use serde_json::{Value, json};
use wagate_core::EventKind;
use wagate_store::Store;
use wagate_store::app::ADMIN_TENANT_ID;
use wagate_testkit::{Db, Launch};

use crate::api::Api;
use crate::cpu::cpu_seconds;
use crate::replay_receiver::ReplayReceiver;

/// Events per transaction while filling the log.
const FILL_BATCH: usize = 1000;
const SECRET: &str = "bench-secret";

pub struct Replay<'a> {
    pub binary: &'a Path,
    pub sandbox_ws: &'a str,
    pub events: usize,
    pub endpoints: usize,
    /// The webhooks' `concurrency` (`None`: not sent, the default).
    pub concurrency: Option<u32>,
    pub postgres: bool,
}

impl Replay<'_> {
    pub async fn run(&self) -> anyhow::Result<Value> {
        let data = tempfile::tempdir()?;
        let db = if self.postgres {
            Db::postgres().await
        } else {
            Db::sqlite()
        };
        let url = db.url(data.path());
        let env = [
            ("RUST_LOG", "warn".to_string()),
            ("RATE_LIMIT_ENABLED", "false".to_string()),
        ];
        let gw = Launch {
            binary: self.binary,
            data_dir: data.path(),
            database_url: Some(&url),
            sandbox_ws: self.sandbox_ws,
            env: &env,
            allow_private: true,
            log: None,
        }
        .start();
        gw.healthy().await;
        let api = Api::new(&gw.base);
        let receiver = ReplayReceiver::start(SECRET).await?;

        let mut sessions = Vec::new();
        for i in 0..self.endpoints {
            let (status, body) = api
                .post("/api/sessions", json!({ "name": format!("replay-{i}") }))
                .await?;
            if status != 201 {
                bail!("create session: {status} {body}");
            }
            sessions.push(body["data"]["id"].as_str().unwrap_or_default().to_string());
        }

        let store = Store::connect(&url).await?;
        let fill_started = Instant::now();
        let first = fill(&store, &sessions, self.events).await?;
        let fill_secs = fill_started.elapsed().as_secs_f64();
        eprintln!(
            "logged {} events in {fill_secs:.1}s (from seq {first})",
            self.events
        );

        let mut hooks = Vec::new();
        for (i, s) in sessions.iter().enumerate() {
            let mut body = json!({
                "url": receiver.url(i),
                "events": [EventKind::MessageReceived],
                "secret": SECRET,
            });
            if let Some(c) = self.concurrency {
                body["concurrency"] = json!(c);
            }
            let (status, hook) = api
                .post(&format!("/api/sessions/{s}/webhooks"), body)
                .await?;
            if status != 201 {
                bail!("register webhook: {status} {hook}");
            }
            hooks.push(hook["data"]["id"].as_str().unwrap_or_default().to_string());
        }

        let cpu_before = cpu_seconds(gw.pid());
        let started = Instant::now();
        for (s, h) in sessions.iter().zip(&hooks) {
            let (status, body) = api
                .post(
                    &format!("/api/sessions/{s}/webhooks/{h}/replay"),
                    json!({ "fromSeq": first }),
                )
                .await?;
            if status != 202 {
                bail!("replay: {status} {body}");
            }
        }
        let mut report = receiver.wait_for(self.events, started).await;
        let wall = started.elapsed().as_secs_f64();
        let cpu = cpu_seconds(gw.pid()) - cpu_before;
        // Busy CPU against wall time: well under 1 core means the worker
        // waits (on commits, on the receiver), not computes.
        report["gatewayCpuSeconds"] = json!(cpu);
        report["gatewayCoresBusy"] = json!(cpu / wall.max(1e-9));
        report["gatewayCpuMicrosPerDelivery"] =
            json!((cpu * 1e6 / self.events.max(1) as f64).round());
        eprintln!("webhook replay: {report}");
        gw.stop();
        Ok(json!({
            "database": if self.postgres { "postgresql" } else { "sqlite" },
            "sqliteSynchronous": std::env::var("SQLITE_SYNCHRONOUS").unwrap_or_else(|_| "full".into()),
            "events": self.events,
            "endpoints": self.endpoints,
            "concurrency": self.concurrency.unwrap_or(1),
            "fillSeconds": fill_secs,
            "loadAverage": std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim(),
            "replay": report,
        }))
    }
}

/// Logs `n` `message.received` events round-robin over `sessions`; returns
/// the first one's sequence number.
async fn fill(store: &Store, sessions: &[String], n: usize) -> anyhow::Result<i64> {
    store.sequence_pending().await?;
    let first = store.last_event_seq().await? + 1;
    let mut i = 0;
    while i < n {
        let mut tx = store.begin().await?;
        for _ in 0..FILL_BATCH.min(n - i) {
            let data = json!({
                "messageId": format!("false_628000000001@c.us_BENCH{i:08}"),
                "from": "628000000001@c.us",
                "to": "628000000002@c.us",
                "body": "a message of ordinary size, about sixty-four bytes of text.",
                "timestamp": wagate_core::now_ms() / 1000,
            });
            let session = &sessions[i % sessions.len()];
            tx.append(session, ADMIN_TENANT_ID, EventKind::MessageReceived, &data)
                .await?;
            i += 1;
        }
        tx.commit().await?;
    }
    while store.sequence_pending().await? > 0 {}
    Ok(first)
}
