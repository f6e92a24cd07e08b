//! `wagate healthcheck`: asks a running gateway on this machine whether it
//! is up (`GET /health` on `127.0.0.1:$PORT`), for container and systemd
//! health checks where no curl exists (the distroless image). Exits 0 on
//! `200`, 1 otherwise; it needs no runtime, database or key.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use clap::Args;

#[derive(Args, Debug)]
pub struct HealthcheckArgs {
    /// The gateway's port.
    #[arg(long, env = "PORT", default_value_t = 2785)]
    pub port: u16,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 3)]
    pub timeout_secs: u64,
}

pub fn run(args: &HealthcheckArgs) -> Result<(), String> {
    let timeout = Duration::from_secs(args.timeout_secs.max(1));
    let addr = SocketAddr::from(([127, 0, 0, 1], args.port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("nothing answers on {addr}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|_| stream.set_write_timeout(Some(timeout)))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .map_err(|e| format!("cannot ask {addr}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream
        .read(&mut head)
        .map_err(|e| format!("no answer from {addr}: {e}"))?;
    let status_line = String::from_utf8_lossy(&head[..n]);
    let status = status_line.split_whitespace().nth(1).unwrap_or_default();
    if status == "200" {
        Ok(())
    } else {
        Err(format!("{addr}/health answered {status:?}"))
    }
}
