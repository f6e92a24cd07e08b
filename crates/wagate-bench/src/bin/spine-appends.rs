//! `spine-appends`: event appends per second on PostgreSQL with many
//! concurrent writers, the spine's way and the way before it.
//!
//! - `--mode spine` (now): each writer runs `BEGIN; INSERT INTO events …
//!   (seq NULL); COMMIT` through the store's spine transaction, with the
//!   store's publisher numbering committed rows in batches meanwhile;
//! - `--mode legacy` (before): each writer runs exactly what
//!   `append_event` ran before the spine, `BEGIN; SELECT
//!   pg_advisory_xact_lock(k); INSERT … RETURNING seq; COMMIT`, on a table
//!   of the old shape (`seq BIGSERIAL PRIMARY KEY`), so every writer waits
//!   for the one before it to commit, holding a pooled connection.
//!
//! Each run uses a fresh database (`wagate_bench_<pid>`, dropped after) and
//! a pool bigger than the writer count, so only the database is measured.
//!
//! ```sh
//! cargo run --release -p wagate-bench --bin spine-appends -- --mode legacy
//! cargo run --release -p wagate-bench --bin spine-appends -- --mode spine
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use serde_json::json;
use sqlx::Connection as _;
use wagate_core::EventKind;
use wagate_store::Store;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Mode {
    Spine,
    Legacy,
}

#[derive(Parser, Debug)]
#[command(about = "Event appends per second on PostgreSQL with concurrent writers")]
struct Args {
    /// An admin URL of the PostgreSQL server (the bench creates its own database).
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    database_url: String,
    #[arg(long, value_enum, default_value_t = Mode::Spine)]
    mode: Mode,
    /// Concurrent writers.
    #[arg(long, default_value_t = 50)]
    writers: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
}

/// The advisory lock key `append_event` took before the spine.
const LEGACY_LOCK_KEY: i64 = 0x7761_6761_7465;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    sqlx::any::install_default_drivers();
    let name = format!("wagate_bench_{}", std::process::id());
    let mut admin = sqlx::AnyConnection::connect(&args.database_url).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await?;
    let base = args
        .database_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or_else(|| args.database_url.clone());
    let url = format!("{base}/{name}");
    let outcome = run(&args, &url).await;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
    )))
    .execute(&mut admin)
    .await?;
    let report = outcome?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

async fn run(args: &Args, url: &str) -> anyhow::Result<serde_json::Value> {
    let store = Store::connect_with(url, args.writers as u32 + 4).await?;
    if matches!(args.mode, Mode::Legacy) {
        sqlx::query(
            "CREATE TABLE legacy_events (
                seq BIGSERIAL PRIMARY KEY, session_id TEXT NOT NULL, tenant_id TEXT NOT NULL,
                event TEXT NOT NULL, data TEXT NOT NULL, created_at BIGINT NOT NULL)",
        )
        .execute(store.pool())
        .await?;
    }
    let (live, _) = tokio::sync::broadcast::channel(1024);
    let _publisher = store.start_publisher(live, None);
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let writers: Vec<_> = (0..args.writers)
        .map(|w| {
            let (store, stop, done, mode) = (store.clone(), stop.clone(), done.clone(), args.mode);
            tokio::spawn(async move {
                let session = format!("sess_{w}");
                let data = json!({ "writer": w, "body": "a message of ordinary size" });
                while !stop.load(Ordering::Relaxed) {
                    match mode {
                        Mode::Spine => {
                            let mut tx = store.begin().await?;
                            tx.append(&session, "tnt_bench", EventKind::MessageReceived, &data)
                                .await?;
                            tx.commit().await?;
                        }
                        Mode::Legacy => {
                            legacy_append(&store, &session, &data).await?;
                        }
                    }
                    done.fetch_add(1, Ordering::Relaxed);
                }
                anyhow::Ok(())
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for w in writers {
        w.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let appends = done.load(Ordering::Relaxed);
    // Spine: how long numbering the tail takes once the writers stop.
    let drain = Instant::now();
    while store.sequence_pending().await? > 0 {}
    let numbered = store.last_event_seq().await?;
    Ok(json!({
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "writers": args.writers,
        "seconds": elapsed,
        "appends": appends,
        "appendsPerSecond": (appends as f64 / elapsed).round(),
        "spineNumbered": numbered,
        "spineTailDrainMs": drain.elapsed().as_millis(),
    }))
}

async fn legacy_append(
    store: &Store,
    session: &str,
    data: &serde_json::Value,
) -> Result<i64, sqlx::Error> {
    use sqlx::Row as _;
    let mut tx = store.pool().begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(LEGACY_LOCK_KEY)
        .execute(&mut *tx)
        .await?;
    let row = sqlx::query(
        "INSERT INTO legacy_events (session_id, tenant_id, event, data, created_at)
         VALUES ($1, $2, $3, $4, $5) RETURNING seq",
    )
    .bind(session)
    .bind("tnt_bench")
    .bind(wagate_core::EventKind::MessageReceived.as_str())
    .bind(data.to_string())
    .bind(wagate_core::now_ms())
    .fetch_one(&mut *tx)
    .await?;
    let seq: i64 = row.try_get("seq")?;
    tx.commit().await?;
    Ok(seq)
}
