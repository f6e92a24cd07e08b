//! `wagate-bench`: measures the gateway against its sandbox.
//!
//! Starts the sandbox and the gateway as separate processes (from the
//! `wagate` binary built with `--features sandbox`), drives the gateway only
//! through its HTTP API and WebSocket, and prints a JSON report:
//! idle memory at 0, 100 and N connected sessions (the per-session cost is
//! the slope), the send path (API call → the receiving session's
//! `message.received` event), signed webhook deliveries per second to a
//! local receiver, WebSocket fan-out, API overhead, the
//! reconnect storm after a restart, and start-up time.
//!
//! ```sh
//! cargo build --release --features sandbox -p wagate -p wagate-bench
//! target/release/wagate-bench
//! target/release/wagate-bench --webhook-replay --replay-endpoints 50
//! ```
//!
//! `--webhook-replay` runs only the webhook replay measurement, `--failover`
//! only the cluster's failover (three nodes on PostgreSQL), `--one-session`
//! only one session's sequential send rate.

mod api;
mod cpu;
mod machine;
mod replay_receiver;
mod scenarios;
mod sessions;
mod stats;
mod webhook_receiver;
mod ws_events;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::bail;
use clap::Parser;
use serde_json::json;
use wagate_core::EventKind;

use api::Api;
use machine::machine;
use scenarios::api_overhead::api_load;
use scenarios::idle_memory::{self, IdleMemory};
use scenarios::reconnect_storm::{self, ReconnectStorm};
use scenarios::send_path::{Load, send_path};
use scenarios::ws_fanout::ws_fanout;
use sessions::wait_connected;
use wagate_testkit::{Gateway, Launch, SandboxProcess, rss_bytes};
use webhook_receiver::WebhookReceiver;

#[derive(Parser, Debug, Clone)]
#[command(about = "Benchmark wagate against its sandbox")]
struct Args {
    /// Connected sessions for the memory and reconnect measurements.
    #[arg(long, default_value_t = 1000)]
    sessions: usize,
    /// Messages sent in the send-path measurement.
    #[arg(long, default_value_t = 2000)]
    messages: usize,
    /// Concurrent API calls in the send-path measurement.
    #[arg(long, default_value_t = 32)]
    send_concurrency: usize,
    /// WebSocket subscribers in the fan-out measurement.
    #[arg(long, default_value_t = 100)]
    subscribers: usize,
    /// Concurrent pairings while building up sessions.
    #[arg(long, default_value_t = 16)]
    pair_concurrency: usize,
    /// Seconds of load in the API-overhead measurement.
    #[arg(long, default_value_t = 5)]
    api_seconds: u64,
    /// The `wagate` binary (built with `--features sandbox`).
    #[arg(long)]
    wagate: Option<std::path::PathBuf>,
    /// Run only the webhook replay measurement (see `--replay-*`).
    #[arg(long)]
    webhook_replay: bool,
    /// Events logged and replayed.
    #[arg(long, default_value_t = 100_000)]
    replay_events: usize,
    /// Endpoints (one session and one webhook each) the events are spread over.
    #[arg(long, default_value_t = 1)]
    replay_endpoints: usize,
    /// The webhooks' `concurrency` (not sent when absent: the default, 1).
    #[arg(long)]
    replay_concurrency: Option<u32>,
    /// Replay on the machine's PostgreSQL (a fresh database) instead of SQLite.
    #[arg(long)]
    replay_postgres: bool,
    /// Run only the cluster failover measurement: three nodes on a fresh
    /// PostgreSQL database share `--sessions` sessions; one is killed, then
    /// one drained.
    #[arg(long)]
    failover: bool,
    /// The nodes' `LEASE_TTL_SECS` in the failover measurement.
    #[arg(long, default_value_t = 15)]
    failover_lease_ttl: u64,
    /// Run only one session's sequential send rate (`--messages` sync
    /// sends, one after another, between two sessions).
    #[arg(long)]
    one_session: bool,
    /// `SQLITE_SYNCHRONOUS` in the one-session measurement.
    #[arg(long, default_value = "full")]
    one_session_sync: String,
    /// In the one-session measurement, WhatsApp knows both phones by a LID
    /// too, as it knows every account today (the sandbox's default phones
    /// have none, so whatsapp-rust asks for it before every send).
    #[arg(long)]
    one_session_lid: bool,
    /// Run only the send path: `--sessions` paired sessions (LID-known
    /// phones), `--messages` sync then queued sends, `--send-concurrency`
    /// at a time, with group commit's figures. `SQLITE_SYNCHRONOUS` is
    /// `--one-session-sync`.
    #[arg(long)]
    send_path: bool,
    /// `--send-path` on a new PostgreSQL database (on `WAGATE_TEST_PG_URL`'s
    /// server, as the tests).
    #[arg(long)]
    send_path_postgres: bool,
    /// In `--send-path`, also `--messages` sync sends started at this
    /// steady rate per second (open loop), for the latency at a given load.
    #[arg(long)]
    send_rate: Option<f64>,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let binary = args.wagate.clone().unwrap_or_else(default_binary);
    if !binary.exists() {
        bail!(
            "{} not found: build it with `cargo build --release --features sandbox -p wagate`",
            binary.display()
        );
    }
    let started = Instant::now();
    let data = tempfile::tempdir()?;
    let sandbox = SandboxProcess::start(&binary).await;
    if args.webhook_replay {
        let report = scenarios::webhook_replay::Replay {
            binary: &binary,
            sandbox_ws: &sandbox.ws,
            events: args.replay_events,
            endpoints: args.replay_endpoints.max(1),
            concurrency: args.replay_concurrency,
            postgres: args.replay_postgres,
        }
        .run()
        .await?;
        let report = json!({ "machine": machine(), "webhookReplay": report });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.one_session {
        let report = scenarios::one_session::OneSession {
            binary: &binary,
            sandbox: &sandbox,
            messages: args.messages,
            sqlite_synchronous: args.one_session_sync.clone(),
            lid: args.one_session_lid,
        }
        .run()
        .await?;
        let report = json!({ "machine": machine(), "oneSession": report });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.send_path {
        let report = scenarios::send_path_only::SendPathOnly {
            binary: &binary,
            sandbox: &sandbox,
            sessions: args.sessions,
            messages: args.messages,
            concurrency: args.send_concurrency,
            pair_concurrency: args.pair_concurrency,
            sqlite_synchronous: args.one_session_sync.clone(),
            postgres: args.send_path_postgres,
            rate: args.send_rate,
        }
        .run()
        .await?;
        let report = json!({ "machine": machine(), "sendPathOnly": report });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    if args.failover {
        let report = scenarios::failover::Failover {
            binary: &binary,
            sandbox: &sandbox,
            sessions: args.sessions,
            pair_concurrency: args.pair_concurrency,
            lease_ttl_secs: args.failover_lease_ttl,
        }
        .run()
        .await?;
        let report = json!({ "machine": machine(), "failover": report });
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(());
    }
    let (gw, startup_empty) = start_gateway(&binary, data.path(), &sandbox.ws).await;
    let api = Api::new(&gw.base);
    eprintln!("gateway up in {startup_empty:?}");

    // ── idle memory ───────────────────────────────────────────────────
    let n = args.sessions.max(100);
    let IdleMemory {
        phones,
        sessions,
        rss_0,
        rss_100,
        rss_n,
        per_session,
        pair_secs,
    } = idle_memory::run(&api, &sandbox, &gw, n, args.pair_concurrency).await?;

    // ── API overhead ──────────────────────────────────────────────────
    let list = api_load(&api, "/api/sessions?limit=20", args.api_seconds).await;
    eprintln!("api overhead: {list}");

    // ── send path, with signed webhooks for every sent message ────────
    let receiver = WebhookReceiver::start().await?;
    let senders = (sessions.len() / 2).min(50);
    for pair in 0..senders {
        let (status, body) = api
            .post(
                &format!("/api/sessions/{}/webhooks", sessions[2 * pair]),
                json!({ "url": receiver.url, "events": [EventKind::MessageSent], "secret": "bench-secret" }),
            )
            .await?;
        if status != 201 {
            bail!("register webhook: {status} {body}");
        }
    }
    eprintln!("webhooks registered on {senders} sessions; sending");
    let send_started = Instant::now();
    let send = send_path(
        &api,
        &sessions,
        &phones,
        args.messages,
        Load::Concurrent(args.send_concurrency),
        false,
    )
    .await?;
    eprintln!("sent; waiting for webhook deliveries");
    let webhooks = receiver.wait_for(args.messages, send_started).await;
    eprintln!("webhooks: {webhooks}");
    let queued = send_path(
        &api,
        &sessions,
        &phones,
        args.messages,
        Load::Concurrent(args.send_concurrency),
        true,
    )
    .await?;
    eprintln!("queued sends: {queued}");

    // ── WebSocket fan-out ─────────────────────────────────────────────
    let fanout = ws_fanout(&api, &sessions, &phones, args.subscribers).await?;
    eprintln!("ws fan-out: {fanout}");
    let (connected_before_restart, _) =
        wait_connected(&api, n, Instant::now(), Duration::ZERO).await?;

    // ── reconnect storm and start-up with N sessions ──────────────────
    let sandbox_rss = rss_bytes(sandbox.pid());
    let ReconnectStorm {
        startup_full,
        reconnected,
        storm,
    } = reconnect_storm::run(gw, &binary, data.path(), &sandbox, n).await?;
    let all_connected = reconnected >= n;

    let report = json!({
        "machine": machine(),
        "sessions": n,
        "idleMemory": {
            "rssBytesAt0": rss_0,
            "rssBytesAt100": rss_100,
            "rssBytesAtN": rss_n,
            "perSessionBytes": per_session.round(),
            "perSessionMiB": per_session / 1048576.0,
            "pairingSeconds": pair_secs,
            "sandboxRssBytesAtN": sandbox_rss,
        },
        "sendPath": send,
        "queuedSend": queued,
        "webhooks": webhooks,
        "wsFanout": fanout,
        "apiOverhead": { "getSessions": list },
        "reconnectStorm": { "sessions": n, "connectedBeforeRestart": connected_before_restart, "reconnected": reconnected, "allConnected": all_connected, "secondsUntilLastReconnect": storm },
        "startup": {
            "secondsToHealthEmpty": startup_empty.as_secs_f64(),
            "secondsToHealthWithSessions": startup_full.as_secs_f64(),
        },
        "totalSeconds": started.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

/// The gateway under test and its start-up time (from spawn to the first
/// `/health` answer). Webhook receivers of the benchmark are on loopback.
pub(crate) async fn start_gateway(
    binary: &Path,
    data_dir: &Path,
    sandbox_ws: &str,
) -> (Gateway, Duration) {
    let spawned = Instant::now();
    let env = [("RUST_LOG", "warn".to_string())];
    let gw = Launch {
        binary,
        data_dir,
        database_url: None,
        sandbox_ws,
        env: &env,
        allow_private: true,
        log: None,
    }
    .start();
    // Polled every 2 ms: 100 ms (a test's poll) is too coarse for a start-up figure.
    gw.healthy_polled_every(Duration::from_millis(2)).await;
    (gw, spawned.elapsed())
}

/// The `wagate` binary next to this benchmark in the target directory.
fn default_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name("wagate")
}
