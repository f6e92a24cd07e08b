//! The sandbox keeps what a device has not acked, as WhatsApp does: a
//! message relayed to a device that drops before acking it comes again at
//! the device's next login, marked offline, and is gone once acked.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::*;
use serde_json::Value;
use whatsapp_rust::types::events::{Event, InboundMessage};
use whatsapp_rust::{Client, InboundDurabilityHook, async_trait};

/// A durability hook the test opens and closes: while closed, the client
/// never acks what it received (as if it died before its commit). It
/// notes the text of every message it is handed; a device also gets
/// messages of its own (the app-state key share after pairing), so a test
/// waits for its text, not for a count.
#[derive(Default)]
struct Gate {
    open: AtomicBool,
    texts: Mutex<Vec<String>>,
}

impl Gate {
    fn saw(&self, text: &str) -> bool {
        self.texts.lock().unwrap().iter().any(|t| t == text)
    }
}

#[async_trait]
impl InboundDurabilityHook for Gate {
    async fn on_messages(&self, _c: Arc<Client>, batch: &[InboundMessage]) -> anyhow::Result<()> {
        self.texts
            .lock()
            .unwrap()
            .extend(batch.iter().filter_map(text_of));
        if self.open.load(Ordering::SeqCst) {
            Ok(())
        } else {
            anyhow::bail!("not committed")
        }
    }
}

fn text_of(m: &InboundMessage) -> Option<String> {
    m.message.conversation.clone().or_else(|| {
        m.message
            .extended_text_message
            .as_option()
            .and_then(|e| e.text.clone())
    })
}

/// The stanzas the sandbox keeps for each device of `phone`.
async fn pending(sb: &wagate_sandbox::Sandbox, phone: &str) -> Vec<Value> {
    let (status, body) = admin_get(sb, &format!("/admin/phones/{phone}/pending")).await;
    assert_eq!(status, 200, "{body}");
    body["devices"][0]["stanzas"].as_array().unwrap().clone()
}

/// Whether the stanzas kept for a device hold the message `id`.
fn holds(kept: &[Value], id: &str) -> bool {
    kept.iter().any(|s| s["tag"] == "message" && s["id"] == id)
}

async fn redelivered(sb: &wagate_sandbox::Sandbox, to: &str) -> Vec<Value> {
    let (status, body) = admin_get(sb, &format!("/admin/messages?to={to}&limit=1000")).await;
    assert_eq!(status, 200, "{body}");
    body.as_array()
        .unwrap()
        .iter()
        .filter(|r| r["kind"] == "redelivered")
        .cloned()
        .collect()
}

async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while !f().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacked_message_comes_again_at_the_next_login() {
    let sb = sandbox().await;
    let (alice, bob) = ("628123450201", "628123450202");
    create_phone(&sb, alice, "Alice").await;
    create_phone(&sb, bob, "Bob").await;
    let gate = Arc::new(Gate::default());
    gate.open.store(true, Ordering::SeqCst);
    let ((a, _), (mut b, _)) = tokio::join!(
        paired_client(&sb, alice),
        paired_client_with(&sb, bob, Some(gate.clone()))
    );

    // Step 1: a message Bob commits is acked and not kept.
    let hello = a.client.send_text(pn(bob), "hello").await.unwrap();
    until("bob commits hello", || async { gate.saw("hello") }).await;
    until("hello no longer kept for bob", || async {
        !holds(&pending(&sb, bob).await, &hello.message_id)
    })
    .await;

    // Step 2: Bob receives the next one but dies before committing it.
    gate.open.store(false, Ordering::SeqCst);
    let sent = a
        .client
        .send_text(pn(bob), "kept until acked")
        .await
        .unwrap();
    until("bob saw it", || async { gate.saw("kept until acked") }).await;
    let kept = pending(&sb, bob).await;
    let it = kept
        .iter()
        .find(|s| s["tag"] == "message" && s["id"] == sent.message_id.as_str());
    assert_eq!(
        it.map(|s| &s["sent"]),
        Some(&Value::Bool(true)),
        "it went out live: {kept:?}"
    );
    assert!(!holds(&kept, &hello.message_id), "{kept:?}");
    let backend = b.backend.clone();
    b.stop().await;
    assert!(redelivered(&sb, bob).await.is_empty());

    // Step 3: at Bob's next login it comes again, offline, and he acks it.
    gate.open.store(true, Ordering::SeqCst);
    let b2 = TestClient::start_with_hook(&sb, backend, gate.clone()).await;
    let (text, offline) = b2
        .events
        .wait("the message again", |e| match e {
            Event::Messages(batch) => batch
                .iter()
                .find_map(|m| text_of(m).map(|t| (t, m.info.is_offline))),
            _ => None,
        })
        .await;
    assert_eq!(text, "kept until acked");
    assert!(offline, "redelivered from the offline queue");
    until("bob acked it", || async {
        !holds(&pending(&sb, bob).await, &sent.message_id)
    })
    .await;
    let rows = redelivered(&sb, bob).await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["id"], sent.message_id.as_str());
    assert_eq!(rows[0]["from"], alice);

    // Step 4: the relay itself happened once per message.
    let relayed = |rows: Vec<Value>| rows.iter().filter(|r| r["kind"] == "message").count();
    let (_, log) = admin_get(&sb, &format!("/admin/messages?to={bob}")).await;
    assert_eq!(relayed(log.as_array().unwrap().clone()), 2);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_sandbox_still_owes_what_was_kept() {
    let dir = tempfile_dir("owed");
    let cfg = wagate_sandbox::SandboxConfig {
        data_dir: Some(dir.clone()),
        ..Default::default()
    };
    init_logs();
    let sb = wagate_sandbox::Sandbox::start(cfg.clone()).await.unwrap();
    let (carol, dave) = ("628123450211", "628123450212");
    create_phone(&sb, carol, "Carol").await;
    create_phone(&sb, dave, "Dave").await;
    let gate = Arc::new(Gate::default());
    gate.open.store(true, Ordering::SeqCst);
    let ((mut c, _), (mut d, _)) = tokio::join!(
        paired_client(&sb, carol),
        paired_client_with(&sb, dave, Some(gate.clone()))
    );
    // `send_text` returns once the message is written to the socket, not
    // once the sandbox has it: wait for Dave's commit of this very message.
    let first = c.client.send_text(pn(dave), "first").await.unwrap();
    until("dave committed first", || async { gate.saw("first") }).await;
    until("dave acked first", || async {
        !holds(&pending(&sb, dave).await, &first.message_id)
    })
    .await;

    // Dave is away; the sandbox restarts with a message still owed to him.
    let backend = d.backend.clone();
    d.stop().await;
    let owed = c.client.send_text(pn(dave), "while away").await.unwrap();
    until("queued for dave", || async {
        holds(&pending(&sb, dave).await, &owed.message_id)
    })
    .await;
    c.stop().await;
    sb.shutdown().await;
    let sb = wagate_sandbox::Sandbox::start(wagate_sandbox::SandboxConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        ..cfg
    })
    .await
    .unwrap();
    let kept = pending(&sb, dave).await;
    assert!(
        holds(&kept, &owed.message_id),
        "kept across the restart: {kept:?}"
    );

    let d2 = TestClient::start_with_hook(&sb, backend, gate.clone()).await;
    let text = d2
        .events
        .wait("the owed message", |e| match e {
            Event::Messages(batch) => batch.iter().find_map(text_of),
            _ => None,
        })
        .await;
    assert_eq!(text, "while away");
    until("dave acked it", || async {
        !holds(&pending(&sb, dave).await, &owed.message_id)
    })
    .await;
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir(tag: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "wagate-sandbox-{tag}-{}-{}",
        std::process::id(),
        chrono_like_nanos()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn chrono_like_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}
