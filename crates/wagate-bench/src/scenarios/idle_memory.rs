//! Idle memory: the gateway's resident memory with 0, 100 and N connected
//! sessions (the per-session cost is the slope between 100 and N). Pairing
//! those sessions is also what the later scenarios run on.

use std::time::{Duration, Instant};

use crate::api::Api;
use crate::sessions::{create_phones, pair_many};
use wagate_testkit::{Gateway, SandboxProcess, rss_bytes};

/// What was measured, and the phones and paired sessions (in phone order)
/// the later scenarios use.
pub struct IdleMemory {
    pub phones: Vec<String>,
    pub sessions: Vec<String>,
    pub rss_0: u64,
    pub rss_100: u64,
    pub rss_n: u64,
    pub per_session: f64,
    pub pair_secs: f64,
}

/// Pairs `n` (at least 100) sessions, 100 first, measuring the gateway's
/// memory before, at 100 and at `n`.
pub async fn run(
    api: &Api,
    sandbox: &SandboxProcess,
    gw: &Gateway,
    n: usize,
    pair_concurrency: usize,
) -> anyhow::Result<IdleMemory> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_0 = rss_bytes(gw.pid());
    let phones: Vec<String> = (0..n).map(|i| format!("62899{:07}", i)).collect();
    create_phones(sandbox, &phones).await?;
    let pair_started = Instant::now();
    let mut sessions = pair_many(api, sandbox, &phones[..100], 0, pair_concurrency).await?;
    settle().await;
    let rss_100 = rss_bytes(gw.pid());
    sessions.extend(pair_many(api, sandbox, &phones[100..], 100, pair_concurrency).await?);
    let pair_secs = pair_started.elapsed().as_secs_f64();
    settle().await;
    let rss_n = rss_bytes(gw.pid());
    let per_session = (rss_n.saturating_sub(rss_100)) as f64 / (n - 100).max(1) as f64;
    eprintln!("{n} sessions paired in {pair_secs:.1}s; rss {rss_0} → {rss_100} → {rss_n}");
    Ok(IdleMemory {
        phones,
        sessions,
        rss_0,
        rss_100,
        rss_n,
        per_session,
        pair_secs,
    })
}

async fn settle() {
    tokio::time::sleep(Duration::from_secs(3)).await;
}
