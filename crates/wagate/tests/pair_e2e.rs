//! `wagate pair` from a terminal, as seed 002's one-number users link a
//! phone: against a running gateway it creates the session, prints a QR
//! (half blocks and the raw code), and exits 0 once the phone scanned it.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn wagate_pair_prints_a_scannable_qr_and_exits_when_connected() {
    // Step 1: a gateway, and a phone in the sandbox.
    let sandbox = start_sandbox().await;
    let phone = create_phone(&sandbox, "628560000001", "Terminal").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let gw = Gateway::start(data.path(), &db.url(data.path()), &sandbox);

    // Step 2: `wagate pair` in a terminal.
    let mut child = Command::new(wagate_binary())
        .args(["pair", "--session", "front-desk", "--url", &gw.base])
        .env("API_KEY", ADMIN_KEY)
        .env_remove("WAGATE_URL")
        .stdout(Stdio::piped())
        .spawn()
        .expect("wagate pair runs");
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    // Step 3: it prints a QR in half blocks and the code; the phone scans it.
    let mut printed = Vec::new();
    let code = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("wagate pair prints a QR");
        if let Some(code) = line.strip_prefix("QR code: ") {
            break code.to_string();
        }
        printed.push(line);
    };
    assert!(
        printed
            .iter()
            .any(|l| l.contains('▀') || l.contains('▄') || l.contains('█')),
        "a QR in half blocks: {printed:?}"
    );
    phone.scan(&code).await;

    // Step 4: it says CONNECTED and exits 0; the session is there, linked.
    let connected = loop {
        let line = lines
            .recv_timeout(Duration::from_secs(60))
            .expect("wagate pair reports the connection");
        if line.starts_with("CONNECTED") {
            break line;
        }
    };
    assert!(connected.contains("+628560000001"), "{connected}");
    let status = child.wait().unwrap();
    assert!(status.success(), "wagate pair exits 0");
    let api = gw.api(ADMIN_KEY);
    let (_, list) = api.get("/api/sessions").await;
    let session = list["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "front-desk")
        .expect("the session wagate pair created")
        .clone();
    assert_eq!(session["status"], "CONNECTED");
    gw.stop();
}
