//! The send path on its own (`--send-path`): a fresh gateway (SQLite, the
//! `SQLITE_SYNCHRONOUS` given; or a new PostgreSQL database with
//! `--send-path-postgres`: a one-node cluster, its device writes fenced by
//! their sessions' leases) with `--sessions` paired sessions whose
//! phones WhatsApp knows by a LID too (as it knows every account), then
//! `--messages` sync sends and as many queued sends from up to 50 senders,
//! `--send-concurrency` API calls at a time, each until the receiving
//! session's `message.received`; with `--send-rate`, then as many sync
//! sends again started at that steady rate (open loop), for the latency at
//! a given load. Reports what group commit did meanwhile
//! (commits per fsync, from `/metrics`) and where the CPU went (the
//! gateway, the sandbox, the benchmark: microseconds per message).

use std::path::Path;

use serde_json::{Value, json};
use wagate_testkit::SandboxProcess;

use crate::api::Api;
use crate::cpu::CpuSplit;
use crate::scenarios::one_session::start_send_gateway;
use crate::scenarios::send_path::{Load, send_path};
use crate::sessions::{create_phones_with, pair_many};

pub struct SendPathOnly<'a> {
    pub binary: &'a Path,
    pub sandbox: &'a SandboxProcess,
    pub sessions: usize,
    pub messages: usize,
    pub concurrency: usize,
    pub pair_concurrency: usize,
    /// `full` (the default) or `normal`.
    pub sqlite_synchronous: String,
    /// On a new PostgreSQL database instead of SQLite.
    pub postgres: bool,
    /// Sync sends at this steady rate per second too.
    pub rate: Option<f64>,
}

impl SendPathOnly<'_> {
    pub async fn run(&self) -> anyhow::Result<Value> {
        let data = tempfile::tempdir()?;
        // Kept until the end: dropping it drops the database.
        let postgres = if self.postgres {
            Some(wagate_testkit::Db::postgres().await)
        } else {
            None
        };
        let url = postgres.as_ref().map(|db| db.url(data.path()));
        let gw = start_send_gateway(
            self.binary,
            self.sandbox,
            data.path(),
            &self.sqlite_synchronous,
            url.as_deref(),
        )
        .await;
        let api = Api::new(&gw.base);
        let n = self.sessions.max(2) & !1;
        let phones: Vec<String> = (0..n).map(|i| format!("62877{i:07}")).collect();
        create_phones_with(self.sandbox, &phones, true).await?;
        let sessions = pair_many(&api, self.sandbox, &phones, 0, self.pair_concurrency).await?;
        eprintln!("{n} sessions paired; warming up");
        // Each sender learns its recipient's devices once: not counted.
        send_path(
            &api,
            &sessions,
            &phones,
            n / 2,
            Load::Concurrent(n / 2),
            false,
        )
        .await?;
        let run = |load, queued| measured(&api, &sessions, &phones, self, gw.pid(), load, queued);
        let before = group_commit(&api).await;
        let (sync, sync_secs) = run(Load::Concurrent(self.concurrency), false).await?;
        let middle = group_commit(&api).await;
        eprintln!("sync sends: {sync}");
        let (queued, queued_secs) = run(Load::Concurrent(self.concurrency), true).await?;
        let after = group_commit(&api).await;
        eprintln!("queued sends: {queued}");
        let at_rate = match self.rate {
            Some(rate) => {
                let (paced, _) = run(Load::Rate(rate), false).await?;
                eprintln!("sync sends at {rate}/s: {paced}");
                paced
            }
            None => Value::Null,
        };
        gw.stop();
        Ok(json!({
            "sessions": n,
            "database": if self.postgres { "postgresql" } else { "sqlite" },
            "sqliteSynchronous": self.sqlite_synchronous,
            "sync": sync,
            "syncGroupCommit": delta(before, middle, self.messages, sync_secs),
            "queued": queued,
            "queuedGroupCommit": delta(middle, after, self.messages, queued_secs),
            "syncAtRate": at_rate,
        }))
    }
}

/// One measured run of `self.messages` sends: its report, with the CPU the
/// gateway (`gateway` pid) and the sandbox spent meanwhile, and its
/// seconds.
async fn measured(
    api: &Api,
    sessions: &[String],
    phones: &[String],
    scenario: &SendPathOnly<'_>,
    gateway: u32,
    load: Load,
    queued: bool,
) -> anyhow::Result<(Value, f64)> {
    let started = std::time::Instant::now();
    let cpu = CpuSplit::start(gateway, scenario.sandbox.pid());
    let mut report = send_path(api, sessions, phones, scenario.messages, load, queued).await?;
    let secs = started.elapsed().as_secs_f64();
    report["cpu"] = cpu.finish(scenario.messages, secs);
    Ok((report, secs))
}

/// The writer's counters in the gateway's `/metrics` (absent without
/// group commit).
#[derive(Clone, Copy)]
struct WriterCounters {
    waits: f64,
    syncs: f64,
    busy_micros: f64,
    batched_writes: f64,
    write_batches: f64,
    uses: f64,
}

async fn group_commit(api: &Api) -> Option<WriterCounters> {
    let text = api
        .http
        .get(format!("{}/metrics", api.base))
        .header("X-API-Key", wagate_testkit::ADMIN_KEY)
        .send()
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    let value = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .and_then(|v| v.parse::<f64>().ok())
    };
    Some(WriterCounters {
        waits: value("wagate_sqlite_group_commit_waits")?,
        syncs: value("wagate_sqlite_wal_syncs")?,
        busy_micros: value("wagate_sqlite_writer_busy_microseconds").unwrap_or(0.0),
        batched_writes: value("wagate_sqlite_batched_writes").unwrap_or(0.0),
        write_batches: value("wagate_sqlite_write_batches").unwrap_or(0.0),
        uses: value("wagate_sqlite_writer_uses").unwrap_or(0.0),
    })
}

fn delta(
    from: Option<WriterCounters>,
    to: Option<WriterCounters>,
    messages: usize,
    wall_secs: f64,
) -> Value {
    match (from, to) {
        (Some(a), Some(b)) => {
            let (waits, syncs) = (b.waits - a.waits, b.syncs - a.syncs);
            let (busy, uses) = (b.busy_micros - a.busy_micros, b.uses - a.uses);
            let per_message = |n: f64| n / messages as f64;
            json!({
                "waits": waits,
                "fsyncs": syncs,
                "waitsPerMessage": per_message(waits),
                "fsyncsPerMessage": per_message(syncs),
                "waitsPerFsync": if syncs > 0.0 { waits / syncs } else { 0.0 },
                // Share of the wall time the one writer connection was in use.
                "writerUtilization": busy / (wall_secs.max(1e-9) * 1e6),
                "writerMicrosPerMessage": per_message(busy),
                // Statements batched on the writer, and the round trips they took.
                "batchedWritesPerMessage": per_message(b.batched_writes - a.batched_writes),
                "writeBatchesPerMessage": per_message(b.write_batches - a.write_batches),
                // Times the writer was lent out, and the average hold.
                "writerUsesPerMessage": per_message(uses),
                "writerMicrosPerUse": if uses > 0.0 { busy / uses } else { 0.0 },
            })
        }
        _ => Value::Null,
    }
}
