//! A session's WhatsApp traffic through its own proxy, told through HTTP.
//!
//! Story one (SQLite): a SOCKS5 proxy with a login runs in the test. Alice's
//! session is created with `proxy` pointing at it; it pairs by QR, sends
//! Bob a text and an image, and receives an image from him. The proxy's
//! log shows the WebSocket to the sandbox and the media uploads and
//! downloads; the session shows the proxy with its password as `***`. A
//! session whose proxy is a dead port says `proxy_unreachable`, one with a
//! wrong password `proxy_auth_failed`; a bad URL is a 400. Taking the proxy
//! away (`proxy: null`) reconnects directly. The password never reaches
//! an answer or the log.
//!
//! Story two (PostgreSQL): with a two-entry `PROXY_POOL`, two new sessions
//! get different proxies and keep them after the gateway restarts with the
//! pool's order reversed; a tenant may not point its session at an
//! internal address while the operator's pool may be one.

mod common;

use std::time::Duration;

use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(60);
const PASSWORD: &str = "pr0xy-pa55word-never-shown";

/// Waits until the session's view satisfies `ok`, and returns it.
async fn session_until(api: &Api, id: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    eventually(what, WAIT, || async {
        let (_, s) = api.get(&format!("/api/sessions/{id}")).await;
        ok(&s["data"]).then(|| s["data"].clone())
    })
    .await
}

/// Bytes moved through the proxy on its connections to `target` other than
/// the WebSocket: (client → server, server → client).
fn media_bytes(proxy: &SocksProxy, target: &str) -> (u64, u64) {
    proxy
        .relayed_to(target)
        .iter()
        .filter(|r| !r.first_line().starts_with("GET /ws/chat"))
        .fold((0, 0), |(up, down), r| {
            (
                up + r.up.load(std::sync::atomic::Ordering::SeqCst),
                down + r.down.load(std::sync::atomic::Ordering::SeqCst),
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_session_goes_through_its_own_socks5_proxy() {
    // Step 1: the sandbox, two phones, a SOCKS5 proxy with a login, and a
    // gateway logging everything to a file.
    let sandbox = start_sandbox().await;
    let sandbox_addr = sandbox.http_url().trim_start_matches("http://").to_string();
    let alice = create_phone(&sandbox, "628333000001", "Alice").await;
    let bob = create_phone(&sandbox, "628333000002", "Bob").await;
    let proxy = SocksProxy::start("wagate", PASSWORD).await;
    let data = tempfile::tempdir().unwrap();
    let url = Db::sqlite().url(data.path());
    let log = data.path().join("gateway.log");
    let gw = Gateway::start_logging_to(
        data.path(),
        &url,
        &sandbox,
        &[("RUST_LOG", "debug".into())],
        &log,
    );
    let api = gw.api(ADMIN_KEY);

    // Step 2: a bad proxy URL is a validation error, before anything is made.
    for bad in [
        "ftp://u:p@127.0.0.1:21",
        "socks5://127.0.0.1",
        "socks5://:pw@127.0.0.1:1080",
    ] {
        let (status, body) = api
            .post(
                "/api/sessions",
                json!({ "name": "bad", "proxy": { "url": bad } }),
            )
            .await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    }

    // Step 3: Alice's session is created with the proxy, and shows it masked.
    let (status, created) = api
        .post(
            "/api/sessions",
            json!({ "name": "alice", "proxy": { "url": proxy.url() } }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert!(!created.to_string().contains(PASSWORD), "{created}");
    let a = created["data"]["id"].as_str().unwrap().to_string();
    let masked = format!("socks5://wagate:***@{}", proxy.addr);
    assert_eq!(created["data"]["proxy"]["url"], masked.as_str());
    assert_eq!(created["data"]["proxy"]["source"], "session");

    // Step 4: it pairs through the proxy; Bob pairs directly.
    pair(&api, &a, &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let ws: Vec<_> = proxy
        .relayed_to(&sandbox_addr)
        .into_iter()
        .filter(|r| r.first_line().starts_with("GET /ws/chat"))
        .collect();
    assert!(
        !ws.is_empty(),
        "the proxy relayed the WebSocket to the sandbox: {:?}",
        proxy.relayed()
    );
    let (_, listed) = api.get("/api/sessions").await;
    assert!(!listed.to_string().contains(PASSWORD));
    let mine = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == a.as_str())
        .unwrap();
    assert_eq!(mine["proxy"]["url"], masked.as_str());
    let (_, bobs) = api.get(&format!("/api/sessions/{b}")).await;
    assert_eq!(bobs["data"]["proxy"], Value::Null, "Bob connects directly");

    // Step 5: Alice sends Bob a text and an image.
    let send = |kind: &str| format!("/api/sessions/{a}/messages/send-{kind}");
    let (status, sent) = api
        .post(
            &send("text"),
            json!({ "chatId": "628333000002@c.us", "text": "hello through the proxy" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    received_at_least(&api, &b, "628333000001", 1).await;
    let photo = jpeg(40_000, 3);
    let data_url = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&photo)
    );
    let before = media_bytes(&proxy, &sandbox_addr);
    let (status, sent) = api
        .post(
            &send("image"),
            json!({ "chatId": "628333000002", "image": { "base64": data_url }, "caption": "via proxy" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = received_file(&api, &b, "628333000001", "via proxy").await;
    assert_eq!(got, photo, "Bob got Alice's image");
    let after_upload = media_bytes(&proxy, &sandbox_addr);
    assert!(
        after_upload.0 - before.0 >= photo.len() as u64,
        "the upload went through the proxy: {before:?} → {after_upload:?}"
    );

    // Step 6: Bob sends Alice an image; she downloads it through the proxy.
    let back = jpeg(30_000, 4);
    let data_url = format!(
        "data:image/jpeg;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(&back)
    );
    let (status, sent) = api
        .post(
            &format!("/api/sessions/{b}/messages/send-image"),
            json!({ "chatId": "628333000001", "image": { "base64": data_url }, "caption": "and back" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    let got = received_file(&api, &a, "628333000002", "and back").await;
    assert_eq!(got, back, "Alice got Bob's image");
    let after_download = media_bytes(&proxy, &sandbox_addr);
    assert!(
        after_download.1 - after_upload.1 >= back.len() as u64,
        "the download went through the proxy: {after_upload:?} → {after_download:?}"
    );

    // Step 7: a session whose proxy is a dead port says why it cannot
    // connect, without the password.
    let dead = free_port();
    let (status, ghost) = api
        .post(
            "/api/sessions",
            json!({ "name": "ghost", "proxy": { "url": format!("socks5://u:{PASSWORD}@127.0.0.1:{dead}") } }),
        )
        .await;
    assert_eq!(status, 201, "{ghost}");
    let ghost = ghost["data"]["id"].as_str().unwrap().to_string();
    let view = session_until(&api, &ghost, "the dead proxy named", |s| {
        s["statusReason"] == "proxy_unreachable"
    })
    .await;
    assert_eq!(view["status"], "CONNECTING");
    let error = view["lastError"].as_str().unwrap();
    assert!(error.contains("proxy"), "{error}");
    assert!(!view.to_string().contains(PASSWORD), "{view}");

    // Step 8: wrong credentials are named too.
    let (status, intruder) = api
        .post(
            "/api/sessions",
            json!({ "name": "intruder", "proxy": { "url": proxy.url_with_password("wrong-password") } }),
        )
        .await;
    assert_eq!(status, 201, "{intruder}");
    let intruder = intruder["data"]["id"].as_str().unwrap().to_string();
    session_until(&api, &intruder, "the refused login named", |s| {
        s["statusReason"] == "proxy_auth_failed"
    })
    .await;
    assert!(proxy.refused_logins() >= 1);

    // Step 9: a bad URL on update is refused; `null` takes the proxy away
    // and the session reconnects directly.
    let (status, body) = api
        .patch(
            &format!("/api/sessions/{a}"),
            json!({ "proxy": { "url": "https://nope:443" } }),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let (status, body) = api
        .patch(&format!("/api/sessions/{a}"), json!({ "proxy": null }))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["proxy"], Value::Null);
    api.wait_status(&a, "CONNECTED").await;

    // Step 10: the password never reached the log.
    gw.stop();
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains(PASSWORD),
        "the proxy password reached the log:\n{}",
        text.lines()
            .filter(|l| l.contains(PASSWORD))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        text.contains("proxy_unreachable"),
        "the log names the cause"
    );
}

/// The bytes of the file in the message captioned `caption` in `session`'s
/// chat with `from`, once it is stored.
async fn received_file(api: &Api, session: &str, from: &str, caption: &str) -> Vec<u8> {
    eventually("the received file", WAIT, || async {
        let h = history(api, session, from).await;
        let m = h.iter().find(|m| m["body"] == caption)?;
        let url = m["media"]["url"].as_str()?;
        let resp = api
            .http
            .get(format!("{}{url}", api.base))
            .header("X-API-Key", ADMIN_KEY)
            .send()
            .await
            .ok()?;
        if resp.status() != 200 {
            return None;
        }
        Some(resp.bytes().await.ok()?.to_vec())
    })
    .await
}

/// The (masked) URL of the proxy a session shows.
async fn proxy_url_of(api: &Api, id: &str) -> String {
    let (_, s) = api.get(&format!("/api/sessions/{id}")).await;
    s["data"]["proxy"]["url"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proxy_pool_is_shared_out_and_kept_across_restarts() {
    // Step 1: two proxies and a guarded gateway whose pool holds both.
    let sandbox = start_sandbox().await;
    let sandbox_addr = sandbox.http_url().trim_start_matches("http://").to_string();
    let first = SocksProxy::start("one", "first-secret").await;
    let second = SocksProxy::start("two", "second-secret").await;
    let data = tempfile::tempdir().unwrap();
    let db = Db::postgres().await;
    let url = db.url(data.path());
    let pool =
        |a: &SocksProxy, b: &SocksProxy| vec![("PROXY_POOL", format!("{},{}", a.url(), b.url()))];
    let gw = Gateway::start_guarded(data.path(), &url, &sandbox, &pool(&first, &second));
    let api = gw.api(ADMIN_KEY);

    // Step 2: two new sessions get one proxy each.
    let mut ids = Vec::new();
    for name in ["s1", "s2"] {
        let (status, s) = api.post("/api/sessions", json!({ "name": name })).await;
        assert_eq!(status, 201, "{s}");
        assert_eq!(s["data"]["proxy"]["source"], "pool", "{s}");
        ids.push(s["data"]["id"].as_str().unwrap().to_string());
    }
    let before = vec![
        proxy_url_of(&api, &ids[0]).await,
        proxy_url_of(&api, &ids[1]).await,
    ];
    assert_ne!(before[0], before[1], "each session has its own proxy");
    assert!(!before.concat().contains("secret"));
    for proxy in [&first, &second] {
        eventually("each proxy relays a session", WAIT, || async {
            (!proxy.relayed_to(&sandbox_addr).is_empty()).then_some(())
        })
        .await;
    }

    // Step 3: a tenant may not point its session at an internal address;
    // the operator's pool is on one.
    let (status, t) = api.post("/api/tenants", json!({ "name": "acme" })).await;
    assert_eq!(status, 201, "{t}");
    let tenant = gw.api(t["data"]["apiKey"].as_str().unwrap());
    let (status, refused) = tenant
        .post(
            "/api/sessions",
            json!({ "name": "inside", "proxy": { "url": first.url() } }),
        )
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["code"], "VALIDATION_ERROR");
    assert_eq!(refused["error"]["details"]["reason"], "forbidden_address");
    assert!(!refused.to_string().contains("first-secret"));

    // Step 4: the gateway restarts with the pool's order reversed; each
    // session keeps its proxy and goes through it again.
    gw.stop();
    let relayed_before = (
        first.relayed_to(&sandbox_addr).len(),
        second.relayed_to(&sandbox_addr).len(),
    );
    let gw = Gateway::start_guarded(data.path(), &url, &sandbox, &pool(&second, &first));
    let api = gw.api(ADMIN_KEY);
    let after = vec![
        proxy_url_of(&api, &ids[0]).await,
        proxy_url_of(&api, &ids[1]).await,
    ];
    assert_eq!(before, after, "the sessions kept their proxies");
    eventually("both proxies relay again", WAIT, || async {
        (first.relayed_to(&sandbox_addr).len() > relayed_before.0
            && second.relayed_to(&sandbox_addr).len() > relayed_before.1)
            .then_some(())
    })
    .await;
}
