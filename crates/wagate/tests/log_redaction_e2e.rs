//! Secrets stay out of the log. A browser or WebSocket client authenticates
//! with `?apiKey=`; the gateway, run at the most verbose log level, writes an
//! access line for each of those requests, and no line holds the key, a
//! wrong key someone tried, or the admin key.

mod common;

use common::*;
use futures::StreamExt;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn query_string_keys_never_reach_the_log() {
    // Step 1: a gateway at log level trace, its log in a file.
    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/wagate.db", dir.path().display());
    let log = dir.path().join("gateway.log");
    let gw = Gateway::start_logging_to(
        dir.path(),
        &url,
        &sandbox,
        &[("RUST_LOG", "trace".into())],
        &log,
    );
    let admin = gw.api(ADMIN_KEY);

    // Step 2: a tenant and its key.
    let (status, t) = admin.post("/api/tenants", json!({ "name": "acme" })).await;
    assert_eq!(status, 201, "{t}");
    let key = t["data"]["apiKey"].as_str().unwrap().to_string();
    let wrong = "wk_this-is-not-a-key-but-still-a-secret";

    // Step 3: the key in the query string, as a browser sends it: a list,
    // a file download, an event stream, a WebSocket, and a wrong key.
    let http = reqwest::Client::new();
    let get = |path: String| http.get(format!("{}{path}", gw.base)).send();
    let list = get(format!("/api/sessions?apiKey={key}&limit=5"))
        .await
        .unwrap();
    assert_eq!(list.status().as_u16(), 200);
    let file = get(format!("/api/sessions/s_none/files/f_none?apiKey={key}"))
        .await
        .unwrap();
    assert_eq!(file.status().as_u16(), 404);
    let refused = get(format!("/api/sessions?apiKey={wrong}")).await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let sse = get(format!("/api/events?apiKey={key}")).await.unwrap();
    assert_eq!(sse.status().as_u16(), 200);
    let mut body = sse.bytes_stream();
    drop(tokio::time::timeout(std::time::Duration::from_millis(200), body.next()).await);
    drop(body);
    let ws_url = format!("{}/ws?apiKey={key}", gw.base.replacen("http", "ws", 1));
    let (ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("the WebSocket opens");
    drop(ws);

    // Step 4: stop the gateway and read what it wrote.
    gw.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    let access: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("apiKey=[redacted]"))
        .collect();
    assert!(
        access.len() >= 5,
        "each request has its access line with the key redacted: {access:#?}"
    );
    assert!(access.iter().any(|l| l.contains("limit=5")));
    for secret in [key.as_str(), wrong, ADMIN_KEY] {
        assert!(
            !text.contains(secret),
            "a secret reached the log:\n{}",
            text.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_with_the_request_and_no_secret() {
    // Step 1: a gateway logging JSON, its log in a file.
    let sandbox = start_sandbox().await;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/wagate.db", dir.path().display());
    let log = dir.path().join("gateway.log");
    let gw = Gateway::start_logging_to(
        dir.path(),
        &url,
        &sandbox,
        &[("LOG_FORMAT", "json".into()), ("RUST_LOG", "debug".into())],
        &log,
    );
    let admin = gw.api(ADMIN_KEY);
    let (status, t) = admin.post("/api/tenants", json!({ "name": "acme" })).await;
    assert_eq!(status, 201, "{t}");
    let key = t["data"]["apiKey"].as_str().unwrap().to_string();

    // Step 2: a request with the key in the query and a request id.
    let resp = reqwest::Client::new()
        .get(format!("{}/api/sessions?apiKey={key}", gw.base))
        .header("X-Request-ID", "req-json-log-1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    gw.stop();

    // Step 3: every line is a JSON object; the access line carries the
    // request's id and redacted target; no secret anywhere.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<serde_json::Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(!lines.is_empty());
    let access = lines
        .iter()
        .find(|l| l["span"]["request_id"] == "req-json-log-1" && l["fields"]["status"] == 200)
        .unwrap_or_else(|| panic!("the access line: {text}"));
    assert_eq!(access["span"]["target"], "/api/sessions?apiKey=[redacted]");
    assert_eq!(access["level"], "INFO");
    for secret in [key.as_str(), ADMIN_KEY] {
        assert!(!text.contains(secret), "a secret reached the JSON log");
    }
}
