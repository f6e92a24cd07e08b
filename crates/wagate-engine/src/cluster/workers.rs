//! Single-runner work in a cluster: which of a kind of worker (a webhook
//! endpoint's deliveries, a broker output, …) this node runs.
//!
//! A loop that owns workers asks its [`WorkerGate`] each turn which of the
//! workers it wants it may run. About every third of a lease's life the
//! gate renews this node's worker leases in one statement and tries to take
//! the wanted ones nobody holds; in between it answers from memory. When it
//! cannot renew for two thirds of a lease's life it answers "none", so the
//! loop stops its workers before another node may start them.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use tracing::warn;

use super::Cluster;

pub struct WorkerGate {
    cluster: Option<Arc<Cluster>>,
    /// `webhook:`, `output:`, …: this gate's part of the worker names.
    kind: &'static str,
    held: HashSet<String>,
    /// The ids wanted at the last check (a new one is tried at once).
    known: HashSet<String>,
    checked: Option<Instant>,
    renewed: Instant,
}

impl WorkerGate {
    /// A gate for `kind` of worker; without a cluster every worker runs here.
    pub fn new(cluster: Option<Arc<Cluster>>, kind: &'static str) -> WorkerGate {
        WorkerGate {
            cluster,
            kind,
            held: HashSet::new(),
            known: HashSet::new(),
            checked: None,
            renewed: Instant::now(),
        }
    }

    /// The ids among `wanted` this node may run now.
    pub async fn allowed<'a>(&mut self, wanted: impl Iterator<Item = &'a str>) -> HashSet<String> {
        let wanted: Vec<&str> = wanted.collect();
        let Some(cluster) = self.cluster.clone() else {
            return wanted.into_iter().map(str::to_string).collect();
        };
        let every = cluster.config().renew_every();
        let due = self.checked.is_none_or(|t| t.elapsed() >= every)
            || wanted.iter().any(|id| !self.known.contains(*id));
        if due {
            self.checked = Some(Instant::now());
            self.known = wanted.iter().map(|id| id.to_string()).collect();
            match self.refresh(&cluster, &wanted).await {
                Ok(held) => {
                    self.held = held;
                    self.renewed = Instant::now();
                }
                Err(e) => warn!(kind = self.kind, "cluster: worker leases: {e}"),
            }
        }
        if cluster.is_draining() || self.renewed.elapsed() >= cluster.config().lease_ttl * 2 / 3 {
            self.held.clear();
        }
        wanted
            .into_iter()
            .filter(|id| self.held.contains(*id))
            .map(str::to_string)
            .collect()
    }

    async fn refresh(
        &self,
        cluster: &Cluster,
        wanted: &[&str],
    ) -> Result<HashSet<String>, crate::EngineError> {
        let ttl = cluster.config().ttl_ms();
        let renewed = cluster
            .store
            .renew_worker_leases(cluster.node_id(), ttl)
            .await?;
        let mut held = HashSet::new();
        for id in wanted {
            let name = format!("{}{id}", self.kind);
            if renewed.contains(&name)
                || (!cluster.is_draining()
                    && cluster
                        .store
                        .hold_worker_lease(&name, cluster.node_id(), ttl)
                        .await?)
            {
                held.insert(id.to_string());
            }
        }
        Ok(held)
    }
}
