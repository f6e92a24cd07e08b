//! `wagate worker`: the outbox worker.
//!
//! Applications insert messages into an outbox table (PostgreSQL,
//! MySQL/MariaDB or SQLite; created and extended by the worker at start);
//! each worker process claims pending rows one at a time, FIFO by insert
//! time, atomically (`FOR UPDATE SKIP LOCKED` where the database has it),
//! and sends them through the gateway's HTTP API from a connected session
//! of the configured circle, round-robin. Many workers may share a table:
//! every row is claimed by exactly one of them.
//!
//! Configurations live in the gateway (`/api/outbox/workers`) and are
//! reloaded every `OUTBOX_CONFIG_RELOAD_SECS` (30); one loop runs per
//! enabled configuration. Or, with `WORKER_APPLICATION` set, a single loop
//! runs from the environment and the gateway's configurations are not read.

pub mod db;
pub mod gateway;
pub mod webhook;
pub mod worker;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use db::{AppFilter, NewRow, OutboxDb};
pub use gateway::WorkerConfig;
/// For tools and tests that read or fill the outbox table.
pub use sqlx;

#[derive(clap::Args, Debug)]
pub struct WorkerArgs {
    /// The outbox database: postgres://, mysql://, mariadb:// or sqlite://. Default: DATABASE_URL, then sqlite://$DATA_DIR/wagate.db.
    #[arg(long, env = "OUTBOX_DATABASE_URL", hide_env_values = true)]
    pub outbox_database_url: Option<String>,
    /// The gateway's database (the outbox's fallback).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// The gateway's data directory (the last fallback: its SQLite file).
    #[arg(long, env = "DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// The outbox table's name.
    #[arg(long, env = "OUTBOX_TABLE", default_value = "outbox")]
    pub table: String,
    /// The gateway's base URL. Default: http://127.0.0.1:$PORT.
    #[arg(long, env = "OUTBOX_API_BASEURL")]
    pub api_base_url: Option<String>,
    /// The gateway's port, for the default base URL.
    #[arg(long, env = "PORT", default_value_t = 2785)]
    pub port: u16,
    /// The gateway API key (admin or a tenant's; the worker sees what it sees). Never logged.
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Run only this gateway configuration.
    #[arg(long, env = "WORKER_CONFIG_ID")]
    pub config_id: Option<i64>,
    /// Run only the gateway configuration of this name (or: the name of the environment's configuration).
    #[arg(long, env = "WORKER_NAME")]
    pub name: Option<String>,
    /// A configuration from the environment: the applications served (`App1`, `App1, App2` or `*`). Gateway configurations are then not read.
    #[arg(long, env = "WORKER_APPLICATION")]
    pub application: Option<String>,
    /// Environment configuration: the circle to send through (default: any session).
    #[arg(long, env = "WORKER_CIRCLE")]
    pub circle: Option<String>,
    /// Environment configuration: seconds between rows.
    #[arg(long, env = "WORKER_INTERVAL_SECS", default_value_t = 5)]
    pub interval_secs: u64,
    /// Environment configuration: random pause up to this many seconds.
    #[arg(long, env = "WORKER_INTERVAL_MAX_SECS")]
    pub interval_max_secs: Option<u64>,
    /// Environment configuration: the status webhook.
    #[arg(long, env = "WORKER_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Environment configuration: signs the status webhook. Never logged.
    #[arg(long, env = "WORKER_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Seconds between two reads of the gateway's configurations.
    #[arg(long, env = "OUTBOX_CONFIG_RELOAD_SECS", default_value_t = 30)]
    pub reload_secs: u64,
    /// A claim older than this (its worker died) becomes pending again.
    #[arg(long, env = "OUTBOX_CLAIM_TIMEOUT_SECS", default_value_t = 300)]
    pub claim_timeout_secs: u64,
    /// Attempts on transient errors (transport, 5xx) before a row fails.
    #[arg(long, env = "OUTBOX_MAX_ATTEMPTS", default_value_t = 3)]
    pub max_attempts: u32,
    /// Create or update the outbox table, then exit.
    #[arg(long)]
    pub migrate: bool,
}

/// Where the configurations come from.
enum Source {
    /// The gateway's, optionally narrowed to one id or name.
    Gateway {
        id: Option<i64>,
        name: Option<String>,
    },
    /// One from the environment.
    Env(WorkerConfig),
}

impl WorkerArgs {
    fn outbox_url(&self) -> String {
        let nonempty = |s: &Option<String>| s.clone().filter(|u| !u.trim().is_empty());
        nonempty(&self.outbox_database_url)
            .or_else(|| nonempty(&self.database_url))
            .unwrap_or_else(|| format!("sqlite://{}/wagate.db", self.data_dir.display()))
    }

    fn source(&self) -> Result<Source, String> {
        let application = self.application.clone().filter(|a| !a.trim().is_empty());
        let Some(application) = application else {
            return Ok(Source::Gateway {
                id: self.config_id,
                name: self.name.clone().filter(|n| !n.trim().is_empty()),
            });
        };
        if self.config_id.is_some() {
            return Err(
                "WORKER_APPLICATION defines a configuration from the environment; drop it to run a gateway configuration with --config-id"
                    .into(),
            );
        }
        let max = self.interval_max_secs;
        if let Some(max) = max
            && max < self.interval_secs
        {
            return Err("WORKER_INTERVAL_MAX_SECS must be at least WORKER_INTERVAL_SECS".into());
        }
        if let Some(url) = &self.webhook_url
            && !url.is_empty()
            && !url::Url::parse(url).is_ok_and(|u| matches!(u.scheme(), "http" | "https"))
        {
            return Err("WORKER_WEBHOOK_URL must be an http:// or https:// URL".into());
        }
        Ok(Source::Env(WorkerConfig {
            id: 0,
            name: self.name.clone().unwrap_or_else(|| "env".to_string()),
            circle: self.circle.clone().filter(|c| !c.trim().is_empty()),
            application,
            interval_seconds: self.interval_secs as i64,
            interval_max_seconds: max.map(|m| m as i64),
            enabled: true,
            webhook_url: self.webhook_url.clone().filter(|u| !u.is_empty()),
            webhook_secret: self.webhook_secret.clone().filter(|s| !s.is_empty()),
            tenant_id: None,
        }))
    }
}

/// A running loop.
struct Running {
    config: watch::Sender<WorkerConfig>,
    stop: CancellationToken,
    handle: JoinHandle<()>,
}

/// Runs the worker until SIGTERM or SIGINT.
pub async fn run(args: WorkerArgs) -> anyhow::Result<()> {
    let source = args.source().map_err(anyhow::Error::msg)?;
    let key = args.api_key.clone().filter(|k| !k.trim().is_empty());
    if key.is_none() && !args.migrate {
        anyhow::bail!("no API key: set API_KEY to the gateway's admin key or a tenant key");
    }
    let base = args
        .api_base_url
        .clone()
        .filter(|b| !b.trim().is_empty())
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", args.port));
    if !url::Url::parse(&base).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        anyhow::bail!(
            "OUTBOX_API_BASEURL must be an http:// or https:// URL, like http://127.0.0.1:2785"
        );
    }
    let url = args.outbox_url();
    let db = OutboxDb::connect(&url, &args.table, 8)
        .await
        .map_err(anyhow::Error::msg)?;
    db.migrate().await.map_err(anyhow::Error::msg)?;
    info!(database = %db::redact(&url), dialect = db.dialect().name(), table = %args.table, "outbox table ready");
    if args.migrate {
        println!("outbox table ready");
        return Ok(());
    }
    let key = key.unwrap_or_default();
    let gateway = gateway::Gateway::new(&base, &key).map_err(anyhow::Error::msg)?;
    let shared = Arc::new(worker::Shared {
        db: db.clone(),
        gateway: gateway.clone(),
        notifier: webhook::Notifier::new(wagate_outbound::Outbound::new(
            wagate_outbound::Policy::from_env().map_err(anyhow::Error::msg)?,
        )),
        max_attempts: i64::from(args.max_attempts.max(1)),
        instance: format!("w{}-{:04x}", std::process::id(), rand::random::<u16>()),
    });
    let stop = CancellationToken::new();
    spawn_signal_handler(stop.clone());
    let reload = Duration::from_secs(args.reload_secs.max(1));
    let claim_timeout = Duration::from_secs(args.claim_timeout_secs.max(1));
    info!(gateway = %base, "wagate worker started");
    println!("wagate worker started");

    let mut running: HashMap<i64, Running> = HashMap::new();
    let mut stopping: Vec<JoinHandle<()>> = Vec::new();
    loop {
        match db.reclaim_stale(claim_timeout).await {
            Ok(0) => {}
            Ok(n) => warn!(rows = n, "claims older than the claim timeout taken back"),
            Err(e) => warn!(error = %e, "cannot take back stale claims"),
        }
        let wanted: Option<Vec<WorkerConfig>> = match &source {
            Source::Env(cfg) => Some(vec![cfg.clone()]),
            Source::Gateway { id, name } => match gateway.configs().await {
                Ok(list) => Some(
                    list.into_iter()
                        .filter(|c| c.enabled)
                        .filter(|c| id.is_none_or(|id| c.id == id))
                        .filter(|c| name.as_deref().is_none_or(|n| c.name == n))
                        .collect(),
                ),
                Err(e) => {
                    // Keep running what runs; try again next time.
                    warn!(error = %e, "cannot read the worker configurations");
                    None
                }
            },
        };
        if let Some(wanted) = wanted {
            if wanted.is_empty() && running.is_empty() {
                info!("no enabled outbox worker configuration for this worker yet");
            }
            let ids: Vec<i64> = wanted.iter().map(|c| c.id).collect();
            let gone: Vec<i64> = running
                .keys()
                .filter(|id| !ids.contains(id))
                .copied()
                .collect();
            for id in gone {
                if let Some(r) = running.remove(&id) {
                    info!(
                        config = id,
                        "configuration disabled or deleted: stopping its loop"
                    );
                    r.stop.cancel();
                    stopping.push(r.handle);
                }
            }
            for cfg in wanted {
                match running.get(&cfg.id) {
                    Some(r) => {
                        if *r.config.borrow() != cfg {
                            info!(config = cfg.id, "configuration changed");
                            let _ = r.config.send(cfg);
                        }
                    }
                    None => {
                        let (tx, rx) = watch::channel(cfg.clone());
                        let child = stop.child_token();
                        let handle =
                            tokio::spawn(worker::run_loop(shared.clone(), rx, child.clone()));
                        running.insert(
                            cfg.id,
                            Running {
                                config: tx,
                                stop: child,
                                handle,
                            },
                        );
                    }
                }
            }
        }
        stopping.retain(|h| !h.is_finished());
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep(reload) => {}
        }
    }

    info!("stopping: finishing rows in flight");
    for (_, r) in running.drain() {
        r.stop.cancel();
        stopping.push(r.handle);
    }
    for h in stopping {
        let _ = h.await;
    }
    shared.notifier.drain().await;
    println!("wagate worker stopped");
    info!("wagate worker stopped");
    Ok(())
}

fn spawn_signal_handler(stop: CancellationToken) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = term.recv() => {}
                        _ = tokio::signal::ctrl_c() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
        info!("signal received: stopping");
        stop.cancel();
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: WorkerArgs,
    }

    fn parse(argv: &[&str]) -> WorkerArgs {
        Cli::parse_from(std::iter::once("w").chain(argv.iter().copied())).args
    }

    #[test]
    fn sources() {
        let a = parse(&["--application", "App1, App2", "--circle", "blast"]);
        match a.source().unwrap() {
            Source::Env(c) => {
                assert_eq!(c.application, "App1, App2");
                assert_eq!(c.circle.as_deref(), Some("blast"));
                assert_eq!(c.interval_seconds, 5);
            }
            Source::Gateway { .. } => panic!("env source"),
        }
        let a = parse(&["--config-id", "3"]);
        assert!(matches!(
            a.source().unwrap(),
            Source::Gateway { id: Some(3), .. }
        ));
        assert!(
            parse(&["--application", "A", "--config-id", "3"])
                .source()
                .is_err()
        );
        assert!(
            parse(&[
                "--application",
                "A",
                "--interval-secs",
                "5",
                "--interval-max-secs",
                "2"
            ])
            .source()
            .is_err()
        );
    }

    #[test]
    fn database_fallbacks() {
        let a = parse(&["--data-dir", "/d"]);
        if std::env::var_os("OUTBOX_DATABASE_URL").is_none()
            && std::env::var_os("DATABASE_URL").is_none()
        {
            assert_eq!(a.outbox_url(), "sqlite:///d/wagate.db");
        }
        let a = parse(&["--database-url", "postgres://h/app"]);
        if std::env::var_os("OUTBOX_DATABASE_URL").is_none() {
            assert_eq!(a.outbox_url(), "postgres://h/app");
        }
        let a = parse(&[
            "--database-url",
            "postgres://h/app",
            "--outbox-database-url",
            "mysql://h/o",
        ]);
        assert_eq!(a.outbox_url(), "mysql://h/o");
    }
}
