//! Processes measured from outside, for the benchmark: the sandbox as a
//! child process of its own (so its memory is not the benchmark's), a free
//! loopback port, and a process's resident memory.

use super::*;

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    l.local_addr().expect("its address").port()
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

/// `wagate sandbox` as a child process.
pub struct SandboxProcess {
    child: Child,
    /// `http://127.0.0.1:<port>` (the admin API).
    pub http: String,
    /// `ws://127.0.0.1:<port>/ws/chat`.
    pub ws: String,
}

impl SandboxProcess {
    /// Starts `binary sandbox` and waits for its admin API (30 s at most).
    pub async fn start(binary: &Path) -> SandboxProcess {
        let port = free_port();
        let child = Command::new(binary)
            .args(["sandbox", "--listen", &format!("127.0.0.1:{port}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let http = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        let url = format!("{http}/admin/phones");
        eventually(
            "the sandbox to come up",
            Duration::from_secs(30),
            || async { client.get(&url).send().await.ok().map(|_| ()) },
        )
        .await;
        SandboxProcess {
            child,
            ws: format!("ws://127.0.0.1:{port}/ws/chat"),
            http,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for SandboxProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
