//! The `wagate` binary as a child process, and a client for its API.

use super::*;

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
        let launch = Launch {
            binary: &wagate_binary(),
            data_dir,
            database_url: Some(database_url),
            sandbox_ws: &sandbox.ws_url(),
            env,
            allow_private,
            log,
        };
        launch.start()
    }

    /// Waits until `/health` answers 200 (two minutes at most: a hang
    /// guard).
    pub async fn healthy(&self) {
        self.healthy_polled_every(Duration::from_millis(100)).await
    }

    /// [`Gateway::healthy`], asking every `every` (a start-up measurement
    /// needs a finer poll than a test).
    pub async fn healthy_polled_every(&self, every: Duration) {
        let client = reqwest::Client::new();
        let url = format!("{}/health", self.base);
        eventually_every(
            "the gateway to answer /health",
            Duration::from_secs(120),
            every,
            || async {
                let ok = client
                    .get(&url)
                    .send()
                    .await
                    .is_ok_and(|r| r.status().is_success());
                ok.then_some(())
            },
        )
        .await
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

/// How to start a gateway process: the benchmark starts the binary it is
/// given against a sandbox process; the tests start the binary under test
/// against an in-process sandbox.
pub struct Launch<'a> {
    pub binary: &'a Path,
    pub data_dir: &'a Path,
    /// `None`: the embedded SQLite file in `data_dir`.
    pub database_url: Option<&'a str>,
    /// The sandbox's `ws://…/ws/chat`.
    pub sandbox_ws: &'a str,
    /// Extra environment (wins over the defaults, `RUST_LOG` included).
    pub env: &'a [(&'a str, String)],
    /// `OUTBOUND_ALLOW_PRIVATE=true` (the tests' receivers are on loopback).
    pub allow_private: bool,
    /// Where stderr goes (`None`: this process's stderr).
    pub log: Option<&'a Path>,
}

impl Launch<'_> {
    /// Spawns the gateway and waits until it prints its address.
    pub fn start(&self) -> Gateway {
        let mut cmd = Command::new(self.binary);
        if self.allow_private {
            cmd.env("OUTBOUND_ALLOW_PRIVATE", "true");
        } else {
            cmd.env_remove("OUTBOUND_ALLOW_PRIVATE");
        }
        cmd.arg("serve")
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("DATA_DIR", self.data_dir)
            .env("API_KEY", ADMIN_KEY)
            .env("WA_SERVER_URL", self.sandbox_ws)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdout(Stdio::piped())
            .stderr(match self.log {
                Some(path) => Stdio::from(std::fs::File::create(path).expect("log file")),
                None => Stdio::inherit(),
            });
        if let Some(url) = self.database_url {
            cmd.env("DATABASE_URL", url);
        }
        for (k, v) in self.env {
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
            data_dir: self.data_dir.to_path_buf(),
        }
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

    pub async fn put(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::PUT, path).json(&body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> (u16, Value) {
        send(self.req(reqwest::Method::PATCH, path).json(&body)).await
    }

    /// Any verb, with a JSON body or none.
    pub async fn call(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("an HTTP method");
        let mut r = self.req(method, path);
        if let Some(b) = body {
            r = r.json(b);
        }
        send(r).await
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
