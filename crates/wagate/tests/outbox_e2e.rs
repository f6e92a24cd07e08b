//! The outbox worker (`wagate worker`, seed 000's "Worker Blast Outbox
//! System") end to end: the sandbox, the gateway, and real worker processes
//! on an outbox table in MariaDB, PostgreSQL and SQLite.
//!
//! - Two workers on one table of 500 rows: every row of the served
//!   application is sent exactly once (counted on the wire, in the sandbox's
//!   relay log, and by body in the senders' history), the other
//!   application's rows are left alone, and every send goes out through a
//!   session of the configured circle.
//! - Configuration reload: disabling the configuration through the API
//!   stops the worker's loop; enabling it again resumes; the status webhook
//!   is signed.
//! - Graceful shutdown: SIGTERM during a long pause exits at once, code 0.

mod common;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use serde_json::{Value, json};
use wagate_outbox::sqlx::{self, Row};
use wagate_outbox::{NewRow, OutboxDb};

// ---------------------------------------------------------------------------
// Harness: databases for the outbox, worker processes.

/// A fresh database on the machine's MariaDB/MySQL (root, no password by
/// default; override with `WAGATE_TEST_MYSQL_URL=mysql://user:pass@host:port`).
struct MysqlDb {
    admin: url::Url,
    name: String,
}

impl MysqlDb {
    fn create() -> MysqlDb {
        let admin = url::Url::parse(
            &std::env::var("WAGATE_TEST_MYSQL_URL")
                .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".into()),
        )
        .expect("WAGATE_TEST_MYSQL_URL is a URL");
        let name = format!(
            "wagate_outbox_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos()
                % 1_000_000_000
        );
        let db = MysqlDb { admin, name };
        let ok = db.cli(&format!("CREATE DATABASE {}", db.name));
        assert!(
            ok,
            "could not create MariaDB database {} (is MariaDB running on {}?)",
            db.name,
            db.admin.host_str().unwrap_or_default()
        );
        db
    }

    fn cli(&self, sql: &str) -> bool {
        let mut cmd = Command::new("mysql");
        cmd.args([
            "-h",
            self.admin.host_str().unwrap_or("127.0.0.1"),
            "-P",
            &self.admin.port().unwrap_or(3306).to_string(),
            "-u",
            if self.admin.username().is_empty() {
                "root"
            } else {
                self.admin.username()
            },
        ]);
        if let Some(pw) = self.admin.password() {
            cmd.arg(format!("-p{pw}"));
        }
        cmd.args(["-e", sql])
            .stdout(Stdio::null())
            .status()
            .map(|s| s.success())
            .unwrap_or(false)
    }

    fn url(&self) -> String {
        let mut u = self.admin.clone();
        u.set_path(&format!("/{}", self.name));
        u.to_string()
    }
}

impl Drop for MysqlDb {
    fn drop(&mut self) {
        self.cli(&format!("DROP DATABASE IF EXISTS {}", self.name));
    }
}

/// A `wagate worker` process, its stdout lines on a channel.
struct Worker {
    child: Child,
    lines: mpsc::Receiver<String>,
}

/// Variables a developer's shell might carry into the child.
const CLEARED: &[&str] = &[
    "OUTBOX_DATABASE_URL",
    "DATABASE_URL",
    "DATA_DIR",
    "OUTBOX_TABLE",
    "OUTBOX_API_BASEURL",
    "PORT",
    "WORKER_CONFIG_ID",
    "WORKER_NAME",
    "WORKER_APPLICATION",
    "WORKER_CIRCLE",
    "WORKER_INTERVAL_SECS",
    "WORKER_INTERVAL_MAX_SECS",
    "WORKER_WEBHOOK_URL",
    "WORKER_WEBHOOK_SECRET",
    "OUTBOX_CONFIG_RELOAD_SECS",
];

impl Worker {
    fn spawn(args: &[&str], env: &[(&str, String)]) -> Worker {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wagate"));
        cmd.arg("worker").args(args);
        for k in CLEARED {
            cmd.env_remove(k);
        }
        // The tests' status webhooks listen on loopback.
        cmd.env("API_KEY", ADMIN_KEY)
            .env("OUTBOUND_ALLOW_PRIVATE", "true")
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("the worker starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Worker { child, lines: rx }
    }

    /// Starts a worker and waits until it says it runs.
    fn start(env: &[(&str, String)]) -> Worker {
        let w = Worker::spawn(&[], env);
        w.wait_line("the worker to start", |l| l == "wagate worker started");
        w
    }

    /// Waits (a minute at most: a hang guard) for a stdout line.
    fn wait_line(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if f(&line) => return line,
                Ok(_) => {}
                Err(_) => panic!("timed out waiting for {what}"),
            }
        }
    }

    /// Waits for the process to exit by itself (a minute at most).
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "the worker did not exit");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGTERM; returns the exit status and how long the exit took.
    fn terminate(&mut self) -> (ExitStatus, Duration) {
        let t0 = Instant::now();
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let status = self.wait_exit();
        (status, t0.elapsed())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Creates the outbox table with the worker itself (`--migrate`).
fn migrate(env: &[(&str, String)]) {
    let mut w = Worker::spawn(&["--migrate"], env);
    w.wait_line("the table to be ready", |l| l == "outbox table ready");
    assert!(w.wait_exit().success());
}

async fn count(db: &OutboxDb, where_: &str) -> i64 {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT COUNT(*) AS n FROM outbox WHERE {where_}"
    )))
    .fetch_one(db.pool())
    .await
    .unwrap();
    row.try_get("n").unwrap()
}

/// A session in `circle`, paired with `phone`.
async fn session_in(api: &Api, name: &str, circle: &str, phone: &Phone<'_>) -> String {
    let (status, body) = api
        .post("/api/sessions", json!({ "name": name, "circle": circle }))
        .await;
    assert_eq!(status, 201, "create session {name}: {body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    pair(api, &id, phone).await;
    id
}

/// The gateway, with no per-session pacing (the worker's sends are sync
/// sends, never dripped, but a deployment default must not slow the test).
fn gateway(data: &std::path::Path, sandbox: &wagate_sandbox::Sandbox) -> Gateway {
    let url = format!("sqlite://{}/wagate.db", data.display());
    Gateway::start_with_env(
        data,
        &url,
        sandbox,
        &[
            ("SEND_MIN_INTERVAL_MS", "0".to_string()),
            ("SEND_JITTER_MS", "0".to_string()),
        ],
    )
}

// ---------------------------------------------------------------------------
// Two workers, one table of 500 rows.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_mariadb() {
    let db = MysqlDb::create();
    // A table as the seed's own project leaves it (narrower types, a TEXT
    // application, a column of the application's own, none of wagate's
    // columns): the worker extends it, keeping what is there.
    let legacy = "CREATE TABLE outbox (
        id_outbox INT NOT NULL AUTO_INCREMENT PRIMARY KEY, type INT DEFAULT 0,
        from_number VARCHAR(20), client_id INT, destination VARCHAR(50), messages TEXT,
        status INT DEFAULT 0, priority INT DEFAULT 0, application TEXT,
        sendingDateTime DATETIME NULL, insertDateTime DATETIME DEFAULT CURRENT_TIMESTAMP,
        table_id VARCHAR(50), file TEXT, error_count INT DEFAULT 0, msg_error TEXT,
        custom_col VARCHAR(10) DEFAULT 'kept')";
    blast_story(&db.url(), "628771", Some(legacy), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_on_postgres() {
    let db = Db::postgres().await;
    let Db::Postgres { url, .. } = &db else {
        unreachable!()
    };
    blast_story(url, "628772", None, false).await;
}

/// One of the two workers is killed (SIGKILL) mid-blast: its claims are
/// taken back after the claim timeout and still every row goes out once
/// (a row it had sent but not marked is retried with the same idempotency
/// key through the same session, and the gateway answers with the first
/// send).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_killed_mid_blast_on_postgres() {
    let db = Db::postgres().await;
    let Db::Postgres { url, .. } = &db else {
        unreachable!()
    };
    blast_story(url, "628774", None, true).await;
}

const ROWS: usize = 500;
const RECEIVERS: usize = 5;

async fn blast_story(outbox_url: &str, prefix: &str, legacy_table: Option<&str>, crash: bool) {
    let sandbox = start_sandbox().await;
    let number = |n: usize| format!("{prefix}{n:05}");
    let blast_phones = [
        create_phone(&sandbox, &number(1), "Blast One").await,
        create_phone(&sandbox, &number(2), "Blast Two").await,
    ];
    let other_phone = create_phone(&sandbox, &number(3), "Other").await;
    let mut receivers = Vec::new();
    for r in 0..RECEIVERS {
        create_phone(&sandbox, &number(100 + r), &format!("Receiver {r}")).await;
        receivers.push(number(100 + r));
    }
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(data.path(), &sandbox);
    let api = gw.api(ADMIN_KEY);
    let b1 = session_in(&api, "blast-1", "blast", &blast_phones[0]).await;
    let b2 = session_in(&api, "blast-2", "blast", &blast_phones[1]).await;
    let other = session_in(&api, "other-1", "other", &other_phone).await;

    // The configuration: App1 through circle "blast", back to back.
    let (status, cfg) = api
        .post(
            "/api/outbox/workers",
            json!({ "name": "blast", "circle": "blast", "application": "App1", "intervalSeconds": 0 }),
        )
        .await;
    assert_eq!(status, 201, "{cfg}");

    // The table, as the worker creates it, and 500 rows: 450 for App1,
    // 50 for App2 (which no worker serves).
    let env = vec![
        ("OUTBOX_DATABASE_URL", outbox_url.to_string()),
        ("OUTBOX_API_BASEURL", gw.base.clone()),
        ("OUTBOX_CONFIG_RELOAD_SECS", "1".to_string()),
        // Short, so a killed worker's claims come back quickly.
        (
            "OUTBOX_CLAIM_TIMEOUT_SECS",
            if crash { "2" } else { "300" }.to_string(),
        ),
    ];
    let db = OutboxDb::connect(outbox_url, "outbox", 4).await.unwrap();
    if let Some(ddl) = legacy_table {
        sqlx::query(sqlx::AssertSqlSafe(ddl.to_string()))
            .execute(db.pool())
            .await
            .unwrap();
    }
    migrate(&env);
    let mut app1_texts = HashSet::new();
    for i in 0..ROWS {
        let app = if i % 10 == 9 { "App2" } else { "App1" };
        let text = format!("outbox row {i} for {app}");
        if app == "App1" {
            app1_texts.insert(text.clone());
        }
        db.insert(&NewRow {
            destination: receivers[i % RECEIVERS].clone(),
            messages: Some(text),
            application: Some(app.to_string()),
            table_id: Some(i.to_string()),
            client_id: Some(i as i64),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    let app1 = app1_texts.len() as i64;
    assert_eq!(app1, 450);

    // Two workers at once.
    let t0 = Instant::now();
    let mut w1 = Worker::spawn(&[], &env);
    let mut w2 = Worker::spawn(&[], &env);
    for w in [&w1, &w2] {
        w.wait_line("the worker to start", |l| l == "wagate worker started");
    }
    if crash {
        eventually("a hundred rows sent", Duration::from_secs(120), || {
            let db = &db;
            async move { (count(db, "status = 1").await >= 100).then_some(()) }
        })
        .await;
        let _ = w1.child.kill();
        let _ = w1.child.wait();
    }
    eventually(
        "every App1 row to be sent",
        Duration::from_secs(300),
        || {
            let db = &db;
            async move {
                let failed = count(db, "status = 2").await;
                assert_eq!(failed, 0, "no row may fail");
                (count(db, "application = 'App1' AND status = 1").await == app1).then_some(())
            }
        },
    )
    .await;
    let elapsed = t0.elapsed();
    eprintln!(
        "outbox: {app1} rows sent by 2 workers in {:.1}s ({:.0} rows/s)",
        elapsed.as_secs_f64(),
        app1 as f64 / elapsed.as_secs_f64()
    );
    let alive = if crash {
        vec![&mut w2]
    } else {
        vec![&mut w1, &mut w2]
    };
    for w in alive {
        let (status, _) = w.terminate();
        assert!(status.success(), "the worker exits cleanly: {status}");
    }

    if legacy_table.is_some() {
        assert_eq!(count(&db, "custom_col = 'kept'").await, ROWS as i64);
    }

    // The application filter held.
    assert_eq!(count(&db, "application = 'App2' AND status = 0").await, 50);
    assert_eq!(count(&db, "status = 3").await, 0);

    // Circle routing held, both blast sessions took turns, both workers
    // worked.
    let rows = sqlx::query(
        "SELECT session_id, claimed_by, message_id FROM outbox WHERE application = 'App1'",
    )
    .fetch_all(db.pool())
    .await
    .unwrap();
    let mut per_session: BTreeMap<String, usize> = BTreeMap::new();
    let mut per_worker: HashMap<String, usize> = HashMap::new();
    for r in &rows {
        let s: Option<String> = r.try_get("session_id").unwrap();
        let w: Option<String> = r.try_get("claimed_by").unwrap();
        let m: Option<String> = r.try_get("message_id").unwrap();
        assert!(m.is_some(), "a sent row keeps the gateway's message id");
        *per_session.entry(s.unwrap_or_default()).or_default() += 1;
        *per_worker.entry(w.unwrap_or_default()).or_default() += 1;
    }
    assert_eq!(
        per_session.keys().cloned().collect::<HashSet<_>>(),
        HashSet::from([b1.clone(), b2.clone()]),
        "{per_session:?}"
    );
    assert!(!per_session.contains_key(&other));
    assert_eq!(
        per_worker.len(),
        2,
        "both workers claimed rows: {per_worker:?}"
    );
    eprintln!("outbox: per session {per_session:?}, per worker {per_worker:?}");

    // On the wire: 450 messages, all from the blast numbers, none from
    // "other", each a distinct message.
    let log: Vec<Value> =
        reqwest::get(format!("{}/admin/messages?limit=10000", sandbox.http_url()))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let to_receivers: Vec<&Value> = log
        .iter()
        .filter(|e| e["kind"] == "message")
        .filter(|e| receivers.iter().any(|r| e["to"] == r.as_str()))
        .collect();
    let from = |phone: &str| to_receivers.iter().filter(|e| e["from"] == phone).count();
    assert_eq!(
        from(&number(3)),
        0,
        "nothing went out from circle \"other\""
    );
    assert_eq!(from(&number(1)) + from(&number(2)), app1 as usize);
    assert_eq!(to_receivers.len(), app1 as usize);
    let ids: HashSet<&str> = to_receivers
        .iter()
        .filter_map(|e| e["id"].as_str())
        .collect();
    assert_eq!(ids.len(), app1 as usize, "every send is a distinct message");

    // By body, in the senders' history: every App1 text exactly once.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for s in [&b1, &b2] {
        for r in &receivers {
            let (status, h) = api
                .get(&format!("/api/sessions/{s}/chats/{r}/messages?limit=500"))
                .await;
            assert_eq!(status, 200, "{h}");
            for m in h["data"].as_array().unwrap() {
                if m["fromMe"] == true
                    && let Some(b) = m["body"].as_str()
                {
                    *seen.entry(b.to_string()).or_default() += 1;
                }
            }
        }
    }
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent more than once: {twice:?}");
    assert_eq!(
        seen.keys().cloned().collect::<HashSet<_>>(),
        app1_texts,
        "exactly the App1 rows went out"
    );
}

// ---------------------------------------------------------------------------
// Configuration reload and the status webhook (SQLite: the gateway's own
// database file, the worker's last fallback).

/// A delivery: the signature header and the body.
type Delivery = (Option<String>, Vec<u8>);

#[derive(Clone, Default)]
struct Hooks(Arc<Mutex<Vec<Delivery>>>);

async fn hook_receiver() -> (String, Hooks) {
    use axum::routing::post;
    let hooks = Hooks::default();
    let h = hooks.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(
            move |headers: axum::http::HeaderMap, body: axum::body::Bytes| {
                let h = h.clone();
                async move {
                    let sig = headers
                        .get("x-wagate-signature")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    h.0.lock().unwrap().push((sig, body.to_vec()));
                    "ok"
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), hooks)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn config_reload_and_status_webhook_on_sqlite() {
    let sandbox = start_sandbox().await;
    let sender = create_phone(&sandbox, "628773000001", "Sender").await;
    create_phone(&sandbox, "628773000100", "Receiver").await;
    let data = tempfile::tempdir().unwrap();
    let gw = gateway(data.path(), &sandbox);
    let api = gw.api(ADMIN_KEY);
    session_in(&api, "sender", "blast", &sender).await;
    let (hook_url, hooks) = hook_receiver().await;
    let secret = "outbox-hook-secret";
    let (status, cfg) = api
        .post(
            "/api/outbox/workers",
            json!({ "name": "reload", "circle": "blast", "application": "App1, App3",
                    "intervalSeconds": 0, "webhookUrl": hook_url, "webhookSecret": secret }),
        )
        .await;
    assert_eq!(status, 201, "{cfg}");
    let id = cfg["data"]["id"].as_i64().unwrap();
    assert_eq!(cfg["data"]["hasWebhookSecret"], true);
    assert!(cfg["data"].get("webhookSecret").is_none(), "write-only");
    assert_eq!(cfg["data"]["application"], "App1, App3");

    // No OUTBOX_DATABASE_URL: the outbox goes into the gateway's database.
    let db_url = format!("sqlite://{}/wagate.db", data.path().display());
    let worker = Worker::start(&[
        ("DATABASE_URL", db_url.clone()),
        ("OUTBOX_API_BASEURL", gw.base.clone()),
        ("OUTBOX_CONFIG_RELOAD_SECS", "1".to_string()),
        ("WORKER_CONFIG_ID", id.to_string()),
    ]);
    worker.wait_line("the loop to start", |l| {
        l == format!("outbox loop started: config {id} (reload)")
    });
    let db = OutboxDb::connect(&db_url, "outbox", 2).await.unwrap();
    let add = |batch: &'static str, app: &'static str, n: usize| {
        let db = db.clone();
        async move {
            for i in 0..n {
                db.insert(&NewRow {
                    destination: "+62 877-3000-100".into(),
                    messages: Some(format!("{batch} {i}")),
                    application: Some(app.into()),
                    table_id: Some(format!("{batch}-{i}")),
                    ..Default::default()
                })
                .await
                .unwrap();
            }
        }
    };
    add("first", "App1", 5).await;
    add("third", "App3", 5).await;
    // A number that is not on WhatsApp: the gateway refuses, the row fails.
    db.insert(&NewRow {
        destination: "628773000999".into(),
        messages: Some("nobody".into()),
        application: Some("App1".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    // from_number: sent by the session linked to that number; a number no
    // session has fails.
    for (from, tag) in [("+62 877-3000-001", "pinned"), ("628773000555", "unknown")] {
        db.insert(&NewRow {
            from_number: Some(from.into()),
            destination: "628773000100".into(),
            messages: Some(format!("from {tag}")),
            application: Some("App1".into()),
            table_id: Some(tag.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    }
    eventually(
        "the first rows to be settled",
        Duration::from_secs(120),
        || {
            let db = &db;
            async move {
                (count(db, "status = 1").await == 11 && count(db, "status = 2").await == 2)
                    .then_some(())
            }
        },
    )
    .await;
    assert_eq!(
        count(
            &db,
            "table_id = 'pinned' AND status = 1 AND session_id = '628773000001'"
        )
        .await,
        1
    );
    let rows = sqlx::query("SELECT msg_error, error_count FROM outbox WHERE status = 2")
        .fetch_all(db.pool())
        .await
        .unwrap();
    let mut errors: Vec<String> = rows
        .iter()
        .map(|r| {
            assert_eq!(r.try_get::<i64, _>("error_count").unwrap(), 0);
            let e: String = r.try_get("msg_error").unwrap();
            e.split(':').next().unwrap().to_string()
        })
        .collect();
    errors.sort();
    assert_eq!(
        errors,
        ["MESSAGE_NUMBER_NOT_ON_WHATSAPP", "SESSION_NOT_FOUND"],
        "msg_error is the gateway's code and message"
    );

    // Every settled row was announced, signed.
    let settled = eventually("13 status webhooks", Duration::from_secs(60), || {
        let hooks = hooks.clone();
        async move {
            let got = hooks.0.lock().unwrap().clone();
            (got.len() >= 13).then_some(got)
        }
    })
    .await;
    let mut failed = 0;
    for (sig, body) in &settled {
        use hmac::Mac;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(body);
        assert_eq!(
            sig.as_deref(),
            Some(hex::encode(mac.finalize().into_bytes()).as_str())
        );
        let v: Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["event"], "outbox.status");
        assert!(v["idOutbox"].is_i64());
        if v["status"] == 2 {
            failed += 1;
            assert!(v["error"].is_string(), "{v}");
            assert!(v.get("messageId").is_none(), "{v}");
        } else {
            assert_eq!(v["status"], 1);
            assert_eq!(v["gatewayStatus"], "sent");
            assert!(v["messageId"].is_string(), "{v}");
        }
    }
    assert_eq!(failed, 2);

    // Disabled through the API: the loop stops within the reload interval,
    // and new rows stay pending.
    let (status, body) = api
        .patch(
            &format!("/api/outbox/workers/{id}"),
            json!({ "enabled": false }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    worker.wait_line("the loop to stop", |l| {
        l == format!("outbox loop stopped: config {id}")
    });
    add("second", "App1", 5).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        count(&db, "status = 0").await,
        5,
        "a disabled worker claims nothing"
    );

    // Enabled again (and narrowed to App3): only App3 rows go.
    add("fourth", "App3", 3).await;
    let (status, body) = api
        .patch(
            &format!("/api/outbox/workers/{id}"),
            json!({ "enabled": true, "application": "App3" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    worker.wait_line("the loop to start again", |l| {
        l == format!("outbox loop started: config {id} (reload)")
    });
    eventually("the App3 rows to be sent", Duration::from_secs(60), || {
        let db = &db;
        async move { (count(db, "application = 'App3' AND status = 1").await == 8).then_some(()) }
    })
    .await;
    assert_eq!(count(&db, "application = 'App1' AND status = 0").await, 5);

    // The API side: validation, secrets only on request, delete.
    let (status, body) = api
        .post(
            "/api/outbox/workers",
            json!({ "name": "bad", "application": "App1", "intervalSeconds": 5, "intervalMaxSeconds": 2 }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let (status, body) = api
        .post(
            "/api/outbox/workers",
            json!({ "name": "reload", "application": "App1" }),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (_, got) = api
        .get(&format!("/api/outbox/workers/{id}?includeSecret=true"))
        .await;
    assert_eq!(got["data"]["webhookSecret"], secret);
    // Tenant-scoped: another tenant neither sees nor reaches it.
    let (status, t) = api.post("/api/tenants", json!({ "name": "acme" })).await;
    assert_eq!(status, 201, "{t}");
    let acme = Api {
        base: api.base.clone(),
        key: Some(t["data"]["apiKey"].as_str().unwrap().to_string()),
        http: reqwest::Client::new(),
    };
    let (status, list) = acme.get("/api/outbox/workers").await;
    assert_eq!((status, list["data"].clone()), (200, json!([])));
    let (status, body) = acme.get(&format!("/api/outbox/workers/{id}")).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(body["error"]["code"], "NOT_FOUND");
    // Documented.
    let (_, doc) = api.get("/api/docs-json").await;
    assert!(doc["paths"]["/api/outbox/workers/{id}"]["patch"].is_object());

    let (status, _) = api.delete(&format!("/api/outbox/workers/{id}")).await;
    assert_eq!(status, 200);
    worker.wait_line("the loop to stop after delete", |l| {
        l == format!("outbox loop stopped: config {id}")
    });
    let (status, body) = api.get(&format!("/api/outbox/workers/{id}")).await;
    assert_eq!(status, 404, "{body}");
}

// ---------------------------------------------------------------------------
// Graceful shutdown mid-sleep (no gateway needed: the loop just waits).

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_sleep_exits_promptly() {
    let data = tempfile::tempdir().unwrap();
    let mut worker = Worker::start(&[
        (
            "OUTBOX_DATABASE_URL",
            format!("sqlite://{}/outbox.db", data.path().display()),
        ),
        // Nothing listens there: the loop finds no session and waits.
        ("OUTBOX_API_BASEURL", "http://127.0.0.1:9".to_string()),
        ("WORKER_APPLICATION", "App1".to_string()),
        ("WORKER_INTERVAL_SECS", "600".to_string()),
    ]);
    worker.wait_line("the loop to start", |l| {
        l.starts_with("outbox loop started: config 0")
    });
    // Let it reach its (10 minute) pause.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (status, took) = worker.terminate();
    assert!(status.success(), "exit code 0: {status}");
    assert!(
        took < Duration::from_secs(30),
        "the pause was interrupted ({took:?})"
    );
}
