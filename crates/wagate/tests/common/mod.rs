//! Test harness: the sandbox in-process, the gateway as a real child
//! process, an HTTP client for the API, and fresh databases.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use wagate_sandbox::{Sandbox, SandboxConfig};

pub const ADMIN_KEY: &str = "test-admin-key-0123456789";

/// Polls `f` until it returns `Some`, failing after `timeout` (a guard
/// against hangs, not a speed assertion).
pub async fn eventually<T, F, Fut>(what: &str, timeout: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub async fn start_sandbox() -> Sandbox {
    Sandbox::start(SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: None,
        ..Default::default()
    })
    .await
    .expect("sandbox starts")
}

/// The database a test runs on.
pub enum Db {
    Sqlite(tempfile::TempDir),
    Postgres { url: String, name: String },
}

impl Db {
    pub fn sqlite() -> Db {
        Db::Sqlite(tempfile::tempdir().unwrap())
    }

    /// A fresh database on the machine's PostgreSQL.
    pub async fn postgres() -> Db {
        let admin = std::env::var("WAGATE_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("wagate_e2e_{}", uuid_like());
        let status = Command::new("psql")
            .arg(&admin)
            .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
            .status()
            .expect("psql runs");
        assert!(status.success(), "could not create database {name}");
        let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
        Db::Postgres {
            url: format!("{base}/{name}"),
            name,
        }
    }

    pub fn url(&self, data_dir: &Path) -> String {
        match self {
            Db::Sqlite(_) => format!("sqlite://{}/wagate.db", data_dir.display()),
            Db::Postgres { url, .. } => url.clone(),
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { name, .. } = self {
            let admin = std::env::var("WAGATE_TEST_PG_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
            let _ = Command::new("psql")
                .arg(&admin)
                .args([
                    "-q",
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
    }
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos % 1_000_000_000)
}

/// The gateway, running as a separate process.
pub struct Gateway {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
}

impl Gateway {
    pub fn start(data_dir: &Path, database_url: &str, sandbox: &Sandbox) -> Gateway {
        Self::start_with_env(data_dir, database_url, sandbox, &[])
    }

    /// Like [`Gateway::start`], with extra environment variables.
    ///
    /// The tests' media servers and webhook receivers listen on loopback, so
    /// the gateway may reach private addresses (`OUTBOUND_ALLOW_PRIVATE=true`)
    /// unless `env` says otherwise; [`Gateway::start_guarded`] starts one
    /// with the production default.
    pub fn start_with_env(
        data_dir: &Path,
        database_url: &str,
        sandbox: &Sandbox,
        env: &[(&str, String)],
    ) -> Gateway {
        Self::spawn(data_dir, database_url, sandbox, env, true, None)
    }

    /// Like [`Gateway::start_with_env`], with the process's log (stderr)
    /// written to `log` instead of the test's output, for tests that read it.
    pub fn start_logging_to(
        data_dir: &Path,
        database_url: &str,
        sandbox: &Sandbox,
        env: &[(&str, String)],
        log: &Path,
    ) -> Gateway {
        Self::spawn(data_dir, database_url, sandbox, env, true, Some(log))
    }

    /// A gateway started without `OUTBOUND_ALLOW_PRIVATE`, as in production:
    /// tenant-chosen URLs may not reach internal addresses.
    pub fn start_guarded(
        data_dir: &Path,
        database_url: &str,
        sandbox: &Sandbox,
        env: &[(&str, String)],
    ) -> Gateway {
        Self::spawn(data_dir, database_url, sandbox, env, false, None)
    }

    fn spawn(
        data_dir: &Path,
        database_url: &str,
        sandbox: &Sandbox,
        env: &[(&str, String)],
        allow_private: bool,
        log: Option<&Path>,
    ) -> Gateway {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_wagate"));
        if allow_private {
            cmd.env("OUTBOUND_ALLOW_PRIVATE", "true");
        } else {
            cmd.env_remove("OUTBOUND_ALLOW_PRIVATE");
        }
        cmd.arg("serve")
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("DATA_DIR", data_dir)
            .env("DATABASE_URL", database_url)
            .env("API_KEY", ADMIN_KEY)
            .env("WA_SERVER_URL", sandbox.ws_url())
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(match log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
                None => Stdio::inherit(),
            });
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("gateway binary starts");
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .expect("gateway printed its address before exiting")
                .unwrap();
            if let Some(addr) = line.strip_prefix("wagate listening on ") {
                break addr.trim().to_string();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Gateway {
            child,
            base,
            data_dir: data_dir.to_path_buf(),
        }
    }

    /// The process id (to read its memory from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL), as a crash would.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Graceful stop (SIGTERM), waiting for the process to exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }

    pub fn api(&self, key: &str) -> Api {
        Api {
            base: self.base.clone(),
            key: Some(key.to_string()),
            http: reqwest::Client::new(),
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A thin client for the gateway's API: every call returns (status, body).
pub struct Api {
    pub base: String,
    pub key: Option<String>,
    pub http: reqwest::Client,
}

impl Api {
    pub fn without_key(&self) -> Api {
        Api {
            base: self.base.clone(),
            key: None,
            http: self.http.clone(),
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut r = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(k) = &self.key {
            r = r.header("X-API-Key", k);
        }
        r
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::GET, path)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::POST, path).json(&body)).await
    }

    pub async fn delete(&self, path: &str) -> (u16, Value) {
        send(self.req(reqwest::Method::DELETE, path)).await
    }

    pub async fn session_status(&self, id: &str) -> String {
        let (_, body) = self.get(&format!("/api/sessions/{id}")).await;
        body["data"]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    pub async fn wait_status(&self, id: &str, wanted: &str) {
        eventually(
            &format!("session {id} to be {wanted}"),
            Duration::from_secs(60),
            || async { (self.session_status(id).await == wanted).then_some(()) },
        )
        .await
    }
}

async fn send(r: reqwest::RequestBuilder) -> (u16, Value) {
    let resp = r.send().await.expect("request reaches the gateway");
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, body)
}

/// The sandbox's admin API.
pub struct Phone<'a> {
    pub sandbox: &'a Sandbox,
    pub number: String,
}

pub async fn create_phone<'a>(sandbox: &'a Sandbox, number: &str, push_name: &str) -> Phone<'a> {
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/phones", sandbox.http_url()))
        .json(&json!({ "phone": number, "pushName": push_name }))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "sandbox creates phone {number}"
    );
    Phone {
        sandbox,
        number: number.to_string(),
    }
}

impl Phone<'_> {
    /// The phone scans the QR a session shows.
    pub async fn scan(&self, qr: &str) -> Value {
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/admin/phones/{}/scan",
                self.sandbox.http_url(),
                self.number
            ))
            .json(&json!({ "qr": qr }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "sandbox accepts the QR");
        resp.json().await.unwrap()
    }
}

/// Creates a session through the API and pairs it with `phone` by QR.
pub async fn create_and_pair(api: &Api, name: &str, phone: &Phone<'_>) -> String {
    let (status, body) = api.post("/api/sessions", json!({ "name": name })).await;
    assert_eq!(status, 201, "create session {name}: {body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    pair(api, &id, phone).await;
    id
}

pub async fn pair(api: &Api, id: &str, phone: &Phone<'_>) {
    let qr = eventually("a QR code", Duration::from_secs(60), || async {
        let (status, body) = api.get(&format!("/api/sessions/{id}/qr")).await;
        if status == 200 {
            assert!(
                body["data"]["image"]
                    .as_str()
                    .unwrap()
                    .starts_with("data:image/png;base64,")
            );
            body["data"]["code"].as_str().map(str::to_owned)
        } else {
            None
        }
    })
    .await;
    phone.scan(&qr).await;
    api.wait_status(id, "CONNECTED").await;
}

/// The first event on the tenant-wide SSE stream, replayed from the start
/// of the log, for which `done` holds (a minute at most: a hang guard).
pub async fn event_where(base: &str, done: impl Fn(&Value) -> bool) -> Value {
    use futures::StreamExt;
    let resp = reqwest::Client::new()
        .get(format!("{base}/api/events"))
        .header("X-API-Key", ADMIN_KEY)
        .header("Last-Event-ID", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let read = async {
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data:"))
                    .map(str::trim_start)
                    .collect();
                if let Ok(v) = serde_json::from_str::<Value>(&data)
                    && done(&v)
                {
                    return v;
                }
            }
        }
        panic!("the event stream ended");
    };
    tokio::time::timeout(Duration::from_secs(60), read)
        .await
        .expect("the event arrives")
}
