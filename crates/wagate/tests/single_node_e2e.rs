//! SQLite is single-node: a second `wagate serve` on the SQLite file a
//! running gateway uses refuses to start and says why; once the first is
//! gone (even by SIGKILL), the file is free again.

mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_gateway_on_one_sqlite_file_refuses_to_start() {
    // Start the sandbox and a gateway on a SQLite file.
    let sandbox = start_sandbox().await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::sqlite();
    let url = db.url(data.path());
    let first = Gateway::start(data.path(), &url, &sandbox);

    // A second process on the same file exits at once, saying why.
    let mut second = Reaped(
        Command::new(wagate_binary())
            .arg("serve")
            .env("PORT", "0")
            .env("HOST", "127.0.0.1")
            .env("DATA_DIR", data.path())
            .env("DATABASE_URL", &url)
            .env("API_KEY", ADMIN_KEY)
            .env("WA_SERVER_URL", sandbox.ws_url())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("wagate runs"),
    );
    let second = &mut second.0;
    let status = eventually(
        "the second gateway to exit",
        Duration::from_secs(60),
        || {
            let exited = second.try_wait().expect("its status");
            async move { exited }
        },
    )
    .await;
    let mut said = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut said)
        .unwrap();
    assert!(!status.success(), "the second gateway started: {said}");
    assert!(said.contains("SQLite is single-node"), "{said}");

    // The first keeps serving.
    let (status, _) = first.api(ADMIN_KEY).get("/api/sessions").await;
    assert_eq!(status, 200);

    // Killed, it leaves the file free: a new gateway starts on it.
    first.kill();
    let again = Gateway::start(data.path(), &url, &sandbox);
    let (status, _) = again.api(ADMIN_KEY).get("/api/sessions").await;
    assert_eq!(status, 200);
}

/// A child process killed when the story ends, passed or not.
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
