//! `wagate healthcheck`, as a container's HEALTHCHECK runs it: exit 0 while
//! the gateway on that port answers, 1 when nothing does.

mod common;

use std::process::Command;

use common::*;

fn healthcheck(port: u16) -> bool {
    Command::new(wagate_binary())
        .args(["healthcheck", "--port", &port.to_string()])
        .env_remove("PORT")
        .status()
        .expect("wagate runs")
        .success()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthcheck_says_whether_the_gateway_answers() {
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);
    let port: u16 = gw.base.rsplit(':').next().unwrap().parse().unwrap();
    assert!(healthcheck(port), "a running gateway is healthy");
    gw.stop();
    assert!(!healthcheck(port), "a stopped gateway is not");
}
