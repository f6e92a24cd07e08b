//! Three `wagate serve` processes on one PostgreSQL database and one
//! sandbox are one cluster.
//!
//! - Sessions created through different nodes are spread over all three;
//!   each is CONNECTED on exactly one node (the sandbox never saw a device
//!   connect twice); any node answers for any session — a QR, a group
//!   create, a send, the seed systems' drop-in routes — by forwarding to
//!   the node that runs it.
//! - `kill -9` of a node while async sends and inbound messages flow: its
//!   sessions come back CONNECTED on the survivors, every message arrives
//!   exactly once (history and relay log), every event reaches its webhook
//!   (exactly once after dropping repeated idempotency keys), and no device
//!   was ever connected from two nodes at once.
//! - A rolling restart (SIGTERM, which drains, then start again) of all
//!   three under traffic: nothing lost, nothing doubled.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use wagate_sandbox::Sandbox;

const LONG: Duration = Duration::from_secs(180);
const CLUSTER_SECRET: &str = "cluster-secret-0123456789";
/// Short leases, so a failover fits a test (the default is 15 s).
const LEASE_TTL_SECS: u64 = 5;

/// N nodes of one cluster: each its own data directory (and so its own
/// kept node id), one database, one sandbox.
struct Nodes<'a> {
    sandbox: &'a Sandbox,
    url: String,
    dirs: Vec<tempfile::TempDir>,
    running: Vec<Option<Gateway>>,
}

impl<'a> Nodes<'a> {
    async fn start(sandbox: &'a Sandbox, db: &Db, n: usize) -> Nodes<'a> {
        let dirs: Vec<_> = (0..n).map(|_| tempfile::tempdir().unwrap()).collect();
        let url = db.url(dirs[0].path());
        let mut nodes = Nodes {
            sandbox,
            url,
            dirs,
            running: (0..n).map(|_| None).collect(),
        };
        for i in 0..n {
            nodes.start_node(i).await;
        }
        nodes
    }

    async fn start_node(&mut self, i: usize) {
        let gw = Gateway::start_with_env(
            self.dirs[i].path(),
            &self.url,
            self.sandbox,
            &[
                ("CLUSTER_SECRET", CLUSTER_SECRET.into()),
                ("LEASE_TTL_SECS", LEASE_TTL_SECS.to_string()),
                // Async sends go out as fast as the session may send.
                ("SEND_DRIP_PER_MINUTE", "0".into()),
            ],
        );
        gw.healthy().await;
        self.running[i] = Some(gw);
    }

    fn api(&self, i: usize) -> Api {
        self.running[i].as_ref().expect("node runs").api(ADMIN_KEY)
    }

    /// A running node's API, the first one that is not `except`.
    fn other_than(&self, except: usize) -> Api {
        (0..self.running.len())
            .find(|&i| i != except && self.running[i].is_some())
            .map(|i| self.api(i))
            .expect("another node runs")
    }

    fn kill(&mut self, i: usize) {
        self.running[i].take().expect("node runs").kill();
    }

    fn stop(&mut self, i: usize) {
        self.running[i].take().expect("node runs").stop();
    }
}

/// `GET /api/cluster/nodes`: node id → (alive, sessions).
async fn cluster_nodes(api: &Api) -> HashMap<String, (bool, i64)> {
    let (status, body) = api.get("/api/cluster/nodes").await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["id"].as_str().unwrap().to_string(),
                (n["alive"] == true, n["sessions"].as_i64().unwrap()),
            )
        })
        .collect()
}

/// The id of the node a node's API answers as.
async fn node_id_of(api: &Api) -> String {
    let (_, body) = api.get("/api/cluster/nodes").await;
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["thisNode"] == true)
        .and_then(|n| n["id"].as_str())
        .unwrap()
        .to_string()
}

/// Every session: id → (status, node).
async fn sessions(api: &Api) -> HashMap<String, (String, Option<String>)> {
    let (status, body) = api.get("/api/sessions?limit=100").await;
    assert_eq!(status, 200, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                (
                    s["status"].as_str().unwrap().to_string(),
                    s["node"].as_str().map(str::to_string),
                ),
            )
        })
        .collect()
}

/// The sandbox's record of devices that connected twice at once.
async fn conflicts(sandbox: &Sandbox) -> Vec<Value> {
    reqwest::get(format!("{}/admin/conflicts", sandbox.http_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// How many of the phone's linked devices are connected now.
async fn connected_devices(sandbox: &Sandbox, phone: &str) -> usize {
    let phones: Vec<Value> = reqwest::get(format!("{}/admin/phones", sandbox.http_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    phones
        .iter()
        .find(|p| p["phone"] == phone)
        .map(|p| {
            p["devices"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|d| d["connected"] == true)
                .count()
        })
        .unwrap_or(0)
}

/// Waits until every session is CONNECTED on a node the cluster lists as
/// alive, never on `not_on`.
async fn all_connected(api: &Api, ids: &[String], not_on: Option<&str>) {
    all_connected_within(api, ids, not_on, LONG).await
}

/// [`all_connected`], failing after `within`.
async fn all_connected_within(api: &Api, ids: &[String], not_on: Option<&str>, within: Duration) {
    eventually("every session CONNECTED on a live node", within, || async {
        let alive: HashSet<String> = cluster_nodes(api)
            .await
            .into_iter()
            .filter(|(_, (alive, _))| *alive)
            .map(|(id, _)| id)
            .collect();
        let all = sessions(api).await;
        ids.iter()
            .all(|id| {
                all.get(id).is_some_and(|(status, node)| {
                    status == "CONNECTED"
                        && node.as_deref().is_some_and(|n| alive.contains(n))
                        && node.as_deref() != not_on
                })
            })
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_nodes_share_the_sessions_and_any_node_answers() {
    // Step 1: a sandbox, one PostgreSQL database, three nodes.
    let sandbox = start_sandbox().await;
    let db = Db::postgres().await;
    let nodes = Nodes::start(&sandbox, &db, 3).await;
    eventually("three live nodes", LONG, || async {
        let listed = cluster_nodes(&nodes.api(0)).await;
        (listed.values().filter(|(alive, _)| *alive).count() == 3).then_some(())
    })
    .await;

    // Step 2: 30 sessions, created and paired through the nodes in turn.
    let mut ids = Vec::new();
    let mut phones = Vec::new();
    for i in 0..30 {
        let phone = create_phone(&sandbox, &format!("62811100{i:04}"), &format!("P{i}")).await;
        let api = nodes.api(i % 3);
        ids.push(create_and_pair(&api, &format!("s{i}"), &phone).await);
        phones.push(phone);
    }

    // Step 3: they are spread over all three, each CONNECTED on one node.
    all_connected(&nodes.api(1), &ids, None).await;
    let listed = cluster_nodes(&nodes.api(2)).await;
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert!(
        listed.values().all(|(alive, n)| *alive && *n > 0),
        "every node runs sessions: {listed:?}"
    );
    assert_eq!(listed.values().map(|(_, n)| n).sum::<i64>(), 30);
    for phone in &phones {
        assert_eq!(connected_devices(&sandbox, &phone.number).await, 1);
    }
    assert!(
        conflicts(&sandbox).await.is_empty(),
        "a device connected twice"
    );

    // Step 4: a QR through a node that does not run the session.
    let (status, created) = nodes
        .api(0)
        .post("/api/sessions", json!({ "name": "late" }))
        .await;
    assert_eq!(status, 201, "{created}");
    let late = created["data"]["id"].as_str().unwrap().to_string();
    let owner = created["data"]["node"].as_str().unwrap().to_string();
    let mut elsewhere = None;
    for i in 0..3 {
        if node_id_of(&nodes.api(i)).await != owner {
            elsewhere = Some(i);
        }
    }
    let elsewhere = nodes.api(elsewhere.expect("a node that does not run it"));
    let late_phone = create_phone(&sandbox, "628111009999", "Late").await;
    pair(&elsewhere, &late, &late_phone).await;
    let (_, seen) = elsewhere.get(&format!("/api/sessions/{late}")).await;
    assert_eq!(seen["data"]["node"], owner.as_str(), "{seen}");

    // Step 5: a group created through a node that does not run the session.
    let (status, group) = elsewhere
        .post(
            &format!("/api/sessions/{late}/groups"),
            json!({ "name": "Cluster", "participants": [phones[0].number] }),
        )
        .await;
    assert_eq!(status, 201, "{group}");

    // Step 6: a send someone waits for, through yet another node.
    let (status, sent) = nodes
        .api(0)
        .post(
            &format!("/api/sessions/{late}/messages/send-text"),
            json!({ "chatId": phones[1].number, "text": "from any node" }),
        )
        .await;
    assert!(status == 200 || status == 201, "{status} {sent}");
    eventually("the text to arrive", LONG, || async {
        let got = received_texts(&nodes.api(1), &ids[1], &late_phone.number).await;
        got.contains(&"from any node".to_string()).then_some(())
    })
    .await;

    // Step 7: every node's event stream carries that session's events.
    let base = nodes.running[2].as_ref().unwrap().base.clone();
    let event = event_where(&base, |e| {
        e["event"] == "message.received" && e["data"]["body"] == "from any node"
    })
    .await;
    assert_eq!(event["sessionId"], ids[1].as_str(), "{event}");

    // Step 8: a seed-003 client (the drop-in routes) creates its session
    // through one node, gets the QR through each of the others, and its
    // session reaches CONNECTED wherever it runs.
    let ms = |i: usize| {
        let api = nodes.api(i);
        Api {
            base: format!("{}/compat/microservice", api.base),
            ..api
        }
    };
    let (status, created) = ms(0)
        .post("/tenant/sessions", json!({ "session_id": "support" }))
        .await;
    assert_eq!(status, 201, "{created}");
    let support = create_phone(&sandbox, "628111008888", "Support").await;
    for i in [1, 2] {
        let (status, qr) = ms(i).get("/session/support/qr").await;
        assert_eq!(status, 200, "node {i}: {qr}");
    }
    let (_, qr) = ms(1).get("/session/support/qr").await;
    support.scan(qr["qr"].as_str().unwrap()).await;
    eventually("the drop-in session to connect", LONG, || async {
        let (_, s) = ms(2).get("/session/support/status").await;
        (s["status"] == "connected").then_some(())
    })
    .await;

    // Step 9: a forwarded request with a wrong secret is refused.
    let (status, body) = send_forged(&nodes.api(1), &late).await;
    assert_eq!(status, 401, "{body}");
    assert!(
        conflicts(&sandbox).await.is_empty(),
        "a device connected twice"
    );
}

/// A request that claims to come from another node, with a wrong secret.
async fn send_forged(api: &Api, session: &str) -> (u16, Value) {
    let resp = api
        .http
        .get(format!("{}/api/sessions/{session}", api.base))
        .header("X-API-Key", ADMIN_KEY)
        .header("x-wagate-forwarded-by", "node-forged")
        .header("x-wagate-cluster-secret", "not-the-secret-at-all")
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

/// Six sessions in a ring, each sending to the next; a webhook per session.
struct Ring<'a> {
    ids: Vec<String>,
    phones: Vec<Phone<'a>>,
    receiver: Receiver,
}

async fn ring<'a>(sandbox: &'a Sandbox, nodes: &Nodes<'_>, prefix: &str) -> Ring<'a> {
    let receiver = Receiver::start("/hook").await;
    let mut ids = Vec::new();
    let mut phones = Vec::new();
    for i in 0..6 {
        let phone = create_phone(sandbox, &format!("{prefix}{i:04}"), &format!("R{i}")).await;
        let api = nodes.api(i % 3);
        let id = create_and_pair(&api, &format!("r{i}"), &phone).await;
        let (status, hook) = api
            .post(
                &format!("/api/sessions/{id}/webhooks"),
                json!({ "url": receiver.url, "events": ["message.received"] }),
            )
            .await;
        assert_eq!(status, 201, "{hook}");
        ids.push(id);
        phones.push(phone);
    }
    Ring {
        ids,
        phones,
        receiver,
    }
}

impl Ring<'_> {
    /// Queues `text` from session `i` to the next one, through `api`.
    async fn send(&self, api: &Api, i: usize, text: &str) {
        let next = &self.phones[(i + 1) % self.ids.len()].number;
        let (status, body) = api
            .post(
                &format!(
                    "/api/sessions/{}/messages/send-text?async=true",
                    self.ids[i]
                ),
                json!({ "chatId": next, "text": text }),
            )
            .await;
        assert_eq!(status, 202, "{body}");
    }

    /// Every text sent went to the next session exactly once: in its
    /// history, in the sandbox's relay log, and to its webhook (once after
    /// dropping repeated idempotency keys).
    async fn check_exactly_once(&self, api: &Api, sandbox: &Sandbox, sent: &[Vec<String>]) {
        let n = self.ids.len();
        for (i, texts_of_i) in sent.iter().enumerate() {
            let to = (i + 1) % n;
            let wanted: HashSet<&String> = texts_of_i.iter().collect();
            let from = &self.phones[i].number;
            let texts = eventually("every text in the receiver's history", LONG, || async {
                let got = received_texts(api, &self.ids[to], from).await;
                (got.iter().filter(|t| wanted.contains(t)).count() >= wanted.len()).then_some(got)
            })
            .await;
            let mut seen = HashSet::new();
            for t in texts.iter().filter(|t| wanted.contains(t)) {
                assert!(seen.insert(t), "{t} is twice in the history");
            }
            let relayed = relayed_messages(sandbox, from, &self.phones[to].number).await;
            let relayed_ids: Vec<&str> = relayed.iter().filter_map(|m| m["id"].as_str()).collect();
            let unique: HashSet<&&str> = relayed_ids.iter().collect();
            assert_eq!(
                unique.len(),
                relayed_ids.len(),
                "a message was relayed twice"
            );
            assert!(
                relayed_ids.len() >= wanted.len(),
                "relay log misses messages"
            );
        }
        // The webhooks: every received text, once by idempotency key.
        let total: usize = sent.iter().map(Vec::len).sum();
        let keys = eventually("every event at the webhook", LONG, || async {
            let mut keys: HashMap<String, usize> = HashMap::new();
            for hit in self.receiver.hits() {
                let body: Value = serde_json::from_slice(&hit.0).unwrap();
                let text = body["data"]["body"].as_str().unwrap_or_default();
                if sent.iter().any(|s| s.iter().any(|t| t == text)) {
                    *keys
                        .entry(Receiver::header(&hit, "webhook-id"))
                        .or_default() += 1;
                }
            }
            (keys.len() >= total).then_some(keys)
        })
        .await;
        assert_eq!(keys.len(), total, "one event per received text");
        let repeats: usize = keys.values().map(|n| n - 1).sum();
        let bound = (wagate_events::ledger::WINDOW + 1) * self.ids.len();
        eprintln!("webhook repeats (same idempotency key): {repeats}");
        assert!(
            repeats <= bound,
            "{repeats} repeats; at most {bound} may be"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_killed_node_s_sessions_move_and_nothing_is_lost_or_doubled() {
    // Step 1: three nodes, six sessions in a ring (two per node).
    let sandbox = start_sandbox().await;
    let db = Db::postgres().await;
    let mut nodes = Nodes::start(&sandbox, &db, 3).await;
    let ring = ring(&sandbox, &nodes, "62822200").await;
    all_connected(&nodes.api(0), &ring.ids, None).await;

    // Step 2: 150 async sends through every node (each arrives at the next
    // session as inbound traffic).
    let mut sent: Vec<Vec<String>> = vec![Vec::new(); ring.ids.len()];
    for k in 0..150 {
        let i = k % ring.ids.len();
        let text = format!("before-{k}");
        ring.send(&nodes.api(k % 3), i, &text).await;
        sent[i].push(text);
    }

    // Step 3: kill -9 the node that runs the first session.
    let victim_id = sessions(&nodes.api(0)).await[&ring.ids[0]]
        .1
        .clone()
        .expect("the session runs somewhere");
    let mut victim = None;
    for i in 0..3 {
        if node_id_of(&nodes.api(i)).await == victim_id {
            victim = Some(i);
        }
    }
    let victim = victim.unwrap();
    nodes.kill(victim);

    // Step 4: 150 more through the survivors while the sessions move.
    let survivor = nodes.other_than(victim);
    for k in 150..300 {
        let i = k % ring.ids.len();
        let text = format!("after-{k}");
        ring.send(&survivor, i, &text).await;
        sent[i].push(text);
    }

    // Step 5: every session is CONNECTED again, none on the dead node,
    // within the lease's life and 30 s.
    let within = Duration::from_secs(LEASE_TTL_SECS + 30);
    all_connected_within(&survivor, &ring.ids, Some(&victim_id), within).await;

    // Step 6: every message arrived once; no device was connected twice.
    ring.check_exactly_once(&survivor, &sandbox, &sent).await;
    assert!(
        conflicts(&sandbox).await.is_empty(),
        "a device connected twice"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_rolling_restart_under_traffic_loses_nothing() {
    // Step 1: three nodes, six sessions in a ring.
    let sandbox = start_sandbox().await;
    let db = Db::postgres().await;
    let mut nodes = Nodes::start(&sandbox, &db, 3).await;
    let ring = ring(&sandbox, &nodes, "62833300").await;
    all_connected(&nodes.api(0), &ring.ids, None).await;

    // Step 2: each node in turn is stopped (SIGTERM: it hands its sessions
    // over) and started again, while sends flow through the others.
    let mut sent: Vec<Vec<String>> = vec![Vec::new(); ring.ids.len()];
    let mut k = 0;
    for restarted in 0..3 {
        for _ in 0..30 {
            let i = k % ring.ids.len();
            let text = format!("roll-{k}");
            ring.send(&nodes.other_than(restarted), i, &text).await;
            sent[i].push(text);
            k += 1;
        }
        nodes.stop(restarted);
        for _ in 0..30 {
            let i = k % ring.ids.len();
            let text = format!("roll-{k}");
            ring.send(&nodes.other_than(restarted), i, &text).await;
            sent[i].push(text);
            k += 1;
        }
        all_connected(&nodes.other_than(restarted), &ring.ids, None).await;
        nodes.start_node(restarted).await;
    }

    // Step 3: nothing lost, nothing doubled, no device connected twice.
    all_connected(&nodes.api(0), &ring.ids, None).await;
    ring.check_exactly_once(&nodes.api(1), &sandbox, &sent)
        .await;
    assert!(
        conflicts(&sandbox).await.is_empty(),
        "a device connected twice"
    );
}
