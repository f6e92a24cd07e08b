//! The reconnect storm: the gateway is stopped and started again on the same
//! data dir with N paired sessions; how long until all are CONNECTED again,
//! and how long the start-up with N sessions takes.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::api::Api;
use crate::sessions::wait_connected;
use wagate_testkit::{Gateway, SandboxProcess};

pub struct ReconnectStorm {
    /// From spawn to the first `/health` answer, with N sessions stored.
    pub startup_full: Duration,
    /// Sessions CONNECTED again (at most three minutes after the restart).
    pub reconnected: usize,
    /// Seconds from the restart until the count last rose.
    pub storm: f64,
}

/// Stops `gw`, starts the gateway again and waits for its `n` sessions;
/// stops it again at the end.
pub async fn run(
    gw: Gateway,
    binary: &Path,
    data_dir: &Path,
    sandbox: &SandboxProcess,
    n: usize,
) -> anyhow::Result<ReconnectStorm> {
    gw.stop();
    let restart = Instant::now();
    let (gw, startup_full) = crate::start_gateway(binary, data_dir, &sandbox.ws).await;
    let api = Api::new(&gw.base);
    let (reconnected, storm) = wait_connected(&api, n, restart, Duration::from_secs(180)).await?;
    eprintln!("reconnect storm: {reconnected}/{n} sessions CONNECTED again after {storm:.1}s");
    gw.stop();
    Ok(ReconnectStorm {
        startup_full,
        reconnected,
        storm,
    })
}
