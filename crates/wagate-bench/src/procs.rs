//! The processes under test: the sandbox and the gateway, each started from
//! the `wagate` binary as a child process, and their resident memory.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

pub const ADMIN_KEY: &str = "bench-admin-key-0123456789abcdef";

/// A free loopback port (bound, then released).
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

pub struct Sandbox {
    child: Child,
    pub http: String,
    pub ws: String,
}

impl Sandbox {
    pub async fn start(binary: &Path) -> anyhow::Result<Sandbox> {
        let port = free_port()?;
        let child = Command::new(binary)
            .args(["sandbox", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let http = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while client
            .get(format!("{http}/admin/phones"))
            .send()
            .await
            .is_err()
        {
            if Instant::now() > deadline {
                bail!("the sandbox did not come up");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(Sandbox {
            child,
            ws: format!("ws://127.0.0.1:{port}/ws/chat"),
            http,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Gateway {
    child: Child,
    pub base: String,
    /// From spawn to the first `/health` answer.
    pub startup: Duration,
}

impl Gateway {
    pub async fn start(
        binary: &Path,
        data_dir: &Path,
        sandbox_ws: &str,
    ) -> anyhow::Result<Gateway> {
        let spawned = Instant::now();
        let mut child = Command::new(binary)
            .arg("serve")
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("DATA_DIR", data_dir)
            .env("API_KEY", ADMIN_KEY)
            .env("WA_SERVER_URL", sandbox_ws)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", binary.display()))?;
        let stdout = child.stdout.take().context("gateway stdout")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("wagate listening on ") {
                    let _ = tx.send(addr.trim().to_string());
                }
            }
        });
        let base = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(60)))
            .await?
            .context("the gateway did not print its address")?;
        let client = reqwest::Client::new();
        loop {
            if let Ok(r) = client.get(format!("{base}/health")).send().await
                && r.status().is_success()
            {
                break;
            }
            if spawned.elapsed() > Duration::from_secs(120) {
                bail!("the gateway did not answer /health");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(Gateway {
            child,
            base,
            startup: spawned.elapsed(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then wait for the process to exit.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident set size of a process, in bytes (Linux `/proc`).
pub fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The `wagate` binary next to this benchmark in the target directory.
pub fn default_binary() -> PathBuf {
    let me = std::env::current_exe().unwrap_or_default();
    me.with_file_name("wagate")
}
