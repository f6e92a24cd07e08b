//! Failover on a cluster: three nodes on one fresh PostgreSQL database and
//! N paired sessions, which the nodes share. One node is killed (SIGKILL)
//! and the clock runs until every session is CONNECTED on a survivor; then
//! a second node is stopped with SIGTERM (it drains: hands its sessions
//! over) and the clock runs again, until every session is CONNECTED on the
//! last node.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{Value, json};
use wagate_testkit::{Db, Gateway, Launch, SandboxProcess};

use crate::api::Api;
use crate::sessions::{create_phones, pair_many};

/// Sessions listed per page while watching them.
const PAGE: usize = 100;
const SECRET: &str = "bench-cluster-secret-0123456789";

pub struct Failover<'a> {
    pub binary: &'a Path,
    pub sandbox: &'a SandboxProcess,
    pub sessions: usize,
    pub pair_concurrency: usize,
    pub lease_ttl_secs: u64,
}

impl Failover<'_> {
    pub async fn run(&self) -> anyhow::Result<Value> {
        let db = Db::postgres().await;
        let dirs: Vec<_> = (0..3)
            .map(|_| tempfile::tempdir())
            .collect::<Result<_, _>>()?;
        let url = db.url(dirs[0].path());
        let mut nodes: Vec<Option<Gateway>> = Vec::new();
        for dir in &dirs {
            nodes.push(Some(self.start_node(dir.path(), &url).await));
        }
        let apis: Vec<Api> = nodes
            .iter()
            .map(|n| Api::new(&n.as_ref().expect("started").base))
            .collect();
        let ids: Vec<String> = {
            let mut ids = Vec::new();
            for api in &apis {
                ids.push(this_node(api).await?);
            }
            ids
        };

        // N sessions, created through the first node (placed on all three).
        let phones: Vec<String> = (0..self.sessions).map(|i| format!("62877{i:07}")).collect();
        create_phones(self.sandbox, &phones).await?;
        let paired = Instant::now();
        pair_many(&apis[0], self.sandbox, &phones, 0, self.pair_concurrency).await?;
        let pair_secs = paired.elapsed().as_secs_f64();
        let spread = where_they_run(&apis[0], self.sessions).await?;
        eprintln!(
            "{} sessions paired in {pair_secs:.1}s: {spread:?}",
            self.sessions
        );

        // SIGKILL the first node.
        let on_killed = spread.get(&ids[0]).copied().unwrap_or(0);
        nodes[0].take().expect("runs").kill();
        let killed = Instant::now();
        let kill_secs = all_connected_on(&apis[1], self.sessions, &ids[1..], killed).await?;
        eprintln!("SIGKILL: {on_killed} sessions moved; all CONNECTED after {kill_secs:.1}s");

        // SIGTERM the second: it drains.
        let spread = where_they_run(&apis[2], self.sessions).await?;
        let on_drained = spread.get(&ids[1]).copied().unwrap_or(0);
        let node = nodes[1].take().expect("runs");
        let drained = Instant::now();
        let stopping = tokio::task::spawn_blocking(move || node.stop());
        let drain_secs = all_connected_on(&apis[2], self.sessions, &ids[2..], drained).await?;
        stopping.await?;
        let exit_secs = drained.elapsed().as_secs_f64();
        eprintln!(
            "SIGTERM: {on_drained} sessions handed over; all CONNECTED after {drain_secs:.1}s"
        );

        Ok(json!({
            "nodes": 3,
            "sessions": self.sessions,
            "leaseTtlSecs": self.lease_ttl_secs,
            "pairingSeconds": pair_secs,
            "kill": { "sessionsOnNode": on_killed, "secondsUntilAllConnected": kill_secs },
            "drain": {
                "sessionsOnNode": on_drained,
                "secondsUntilAllConnected": drain_secs,
                "secondsUntilTheNodeExited": exit_secs,
            },
        }))
    }

    async fn start_node(&self, dir: &Path, url: &str) -> Gateway {
        let env = [
            ("RUST_LOG", "warn".to_string()),
            ("RATE_LIMIT_ENABLED", "false".to_string()),
            ("CLUSTER_SECRET", SECRET.to_string()),
            ("LEASE_TTL_SECS", self.lease_ttl_secs.to_string()),
            ("DATABASE_MAX_CONNECTIONS", "8".to_string()),
        ];
        let gw = Launch {
            binary: self.binary,
            data_dir: dir,
            database_url: Some(url),
            sandbox_ws: &self.sandbox.ws,
            env: &env,
            allow_private: true,
            log: None,
        }
        .start();
        gw.healthy().await;
        gw
    }
}

/// The id of the node `api` talks to.
async fn this_node(api: &Api) -> anyhow::Result<String> {
    let (_, body) = api.get("/api/cluster/nodes").await?;
    body["data"]
        .as_array()
        .and_then(|nodes| nodes.iter().find(|n| n["thisNode"] == true))
        .and_then(|n| n["id"].as_str())
        .map(str::to_string)
        .ok_or_else(|| anyhow::anyhow!("no node in {body}"))
}

/// Every session's (status, node).
async fn sessions(api: &Api, n: usize) -> anyhow::Result<Vec<(String, Option<String>)>> {
    let mut out = Vec::with_capacity(n);
    for page in 1..=n.div_ceil(PAGE) {
        let (status, body) = api
            .get(&format!("/api/sessions?limit={PAGE}&page={page}"))
            .await?;
        if status != 200 {
            bail!("list sessions: {status} {body}");
        }
        for s in body["data"].as_array().into_iter().flatten() {
            out.push((
                s["status"].as_str().unwrap_or_default().to_string(),
                s["node"].as_str().map(str::to_string),
            ));
        }
    }
    Ok(out)
}

/// Connected sessions per node.
async fn where_they_run(api: &Api, n: usize) -> anyhow::Result<HashMap<String, usize>> {
    let mut out = HashMap::new();
    for (status, node) in sessions(api, n).await? {
        if status == "CONNECTED"
            && let Some(node) = node
        {
            *out.entry(node).or_default() += 1;
        }
    }
    Ok(out)
}

/// Seconds from `since` until all `n` sessions are CONNECTED on one of
/// `nodes` (five minutes at most).
async fn all_connected_on(
    api: &Api,
    n: usize,
    nodes: &[String],
    since: Instant,
) -> anyhow::Result<f64> {
    let deadline = since + Duration::from_secs(300);
    loop {
        let all = sessions(api, n).await?;
        let done = all.len() >= n
            && all.iter().all(|(status, node)| {
                status == "CONNECTED" && node.as_ref().is_some_and(|n| nodes.contains(n))
            });
        if done {
            return Ok(since.elapsed().as_secs_f64());
        }
        if Instant::now() > deadline {
            bail!("not every session came back within five minutes");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
