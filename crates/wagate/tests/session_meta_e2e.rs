//! Sessions as the seeds use them, through HTTP only: a session addressed by
//! its phone number, the `used` flag and notes, circles, and the device
//! identity the phone shows under Linked Devices. Runs on SQLite and
//! PostgreSQL.

mod common;

use common::*;
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_meta_on_sqlite() {
    story(Db::sqlite()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn session_meta_on_postgres() {
    story(Db::postgres().await).await;
}

async fn sandbox_platforms(sandbox: &wagate_sandbox::Sandbox, phone: &str) -> Vec<String> {
    let phones: Value = reqwest::get(format!("{}/admin/phones", sandbox.http_url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let list = phones
        .as_array()
        .or_else(|| phones["phones"].as_array())
        .cloned()
        .unwrap_or_default();
    list.iter()
        .filter(|p| p["phone"] == phone)
        .flat_map(|p| p["devices"].as_array().cloned().unwrap_or_default())
        .filter_map(|d| d["platform"].as_str().map(str::to_owned))
        .collect()
}

async fn story(db: Db) {
    let sandbox = start_sandbox().await;
    let alice = create_phone(&sandbox, "628222000001", "Alice").await;
    let bob = create_phone(&sandbox, "628222000002", "Bob").await;
    let data = tempfile::tempdir().unwrap();
    let url = db.url(data.path());
    let gw = Gateway::start_with_env(
        data.path(),
        &url,
        &sandbox,
        &[("DEVICE_OS", "Fedora".to_string())],
    );
    let api = gw.api(ADMIN_KEY);

    // Device identity: Alice's session names its device; Bob's takes the
    // DEVICE_OS default. Both carry metadata from the start.
    let (status, created) = api
        .post(
            "/api/sessions",
            json!({ "name": "alice", "deviceName": "Sales Desk", "deviceOs": "macOS",
                    "used": true, "notes": "front office", "circle": "sales" }),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["data"]["deviceName"], "Sales Desk");
    assert_eq!(created["data"]["deviceOs"], "macOS");
    assert_eq!(created["data"]["used"], true);
    assert_eq!(created["data"]["notes"], "front office");
    assert_eq!(created["data"]["circle"], "sales");
    let a = created["data"]["id"].as_str().unwrap().to_string();
    pair(&api, &a, &alice).await;
    let b = create_and_pair(&api, "bob", &bob).await;
    let (_, got) = api.get(&format!("/api/sessions/{b}")).await;
    assert_eq!(got["data"]["deviceOs"], "Fedora");
    assert_eq!(got["data"]["used"], false);
    assert!(got["data"]["circle"].is_null());

    // The phone's Linked Devices shows what was stored.
    assert_eq!(
        sandbox_platforms(&sandbox, "628222000001").await,
        vec!["Sales Desk".to_string()]
    );
    assert_eq!(
        sandbox_platforms(&sandbox, "628222000002").await,
        vec!["Fedora".to_string()]
    );

    // Send by phone number instead of the session id.
    let (status, sent) = api
        .post(
            "/api/sessions/+628222000001/messages/send-text",
            json!({ "chatId": "628222000002@c.us", "text": "sent by number" }),
        )
        .await;
    assert_eq!(status, 200, "{sent}");
    eventually("bob sees the text", Duration::from_secs(30), || async {
        let (_, h) = api
            .get("/api/sessions/628222000002/chats/628222000001/messages")
            .await;
        h["data"]
            .as_array()?
            .iter()
            .any(|m| m["body"] == "sent by number")
            .then_some(())
    })
    .await;
    let (status, got) = api.get("/api/sessions/628222000001").await;
    assert_eq!(status, 200);
    assert_eq!(got["data"]["id"], a.as_str());
    let (status, body) = api.get("/api/sessions/628999999999").await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "SESSION_NOT_FOUND");

    // PATCH metadata (by id and by number); an empty string clears.
    let (status, body) = api
        .patch(
            &format!("/api/sessions/{b}"),
            json!({ "used": true, "circle": "sales", "notes": "backup" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["used"], true);
    assert_eq!(body["data"]["circle"], "sales");
    assert_eq!(body["data"]["notes"], "backup");
    let (status, body) = api
        .patch(
            "/api/sessions/628222000001",
            json!({ "used": false, "notes": "" }),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["used"], false);
    assert!(body["data"]["notes"].is_null());
    assert_eq!(body["data"]["circle"], "sales");
    let (status, body) = api
        .patch(
            &format!("/api/sessions/{b}"),
            json!({ "notes": "x".repeat(1001) }),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");
    let (status, body) = api
        .patch("/api/sessions/sess_nope", json!({ "used": true }))
        .await;
    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], "SESSION_NOT_FOUND");

    // List filters.
    let (_, list) = api.get("/api/sessions?used=true").await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    assert_eq!(list["data"][0]["id"], b.as_str());
    let (_, list) = api.get("/api/sessions?used=false&circle=sales").await;
    assert_eq!(list["pagination"]["total"], 1, "{list}");
    assert_eq!(list["data"][0]["id"], a.as_str());
    let (_, list) = api.get("/api/sessions?circle=nobody").await;
    assert_eq!(list["pagination"]["total"], 0);
    let (status, body) = api.get("/api/sessions?used=maybe").await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "VALIDATION_ERROR");

    // Circles, tenant-scoped.
    let (status, t) = api.post("/api/tenants", json!({ "name": "other" })).await;
    assert_eq!(status, 201, "{t}");
    let other = Api {
        base: api.base.clone(),
        key: Some(t["data"]["apiKey"].as_str().unwrap().to_string()),
        http: reqwest::Client::new(),
    };
    let (status, _) = other
        .post("/api/sessions", json!({ "name": "o", "circle": "support" }))
        .await;
    assert_eq!(status, 201);
    let (status, circles) = other.get("/api/circles").await;
    assert_eq!(status, 200);
    assert_eq!(
        circles["data"],
        json!([{ "name": "support", "sessions": 1 }])
    );
    let (_, circles) = api.get("/api/circles").await;
    assert_eq!(
        circles["data"],
        json!([{ "name": "sales", "sessions": 2 }, { "name": "support", "sessions": 1 }])
    );
    // Another tenant can't reach a session by its number either.
    let (status, _) = other.get("/api/sessions/628222000001").await;
    assert_eq!(status, 404);

    // Rename and delete a circle: the tenant's own only.
    let put = |api: &Api, path: &str, body: Value| {
        let req = api
            .http
            .put(format!("{}{path}", api.base))
            .header("X-API-Key", api.key.clone().unwrap())
            .json(&body);
        async move {
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            (status, resp.json::<Value>().await.unwrap())
        }
    };
    let (status, renamed) = put(&other, "/api/circles/support", json!({ "name": "care" })).await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["data"], json!({ "name": "care", "sessions": 1 }));
    let (status, _) = put(&other, "/api/circles/sales", json!({ "name": "mine" })).await;
    assert_eq!(status, 404, "another tenant's circle is not there");
    let (status, _) = put(&other, "/api/circles/care", json!({ "name": "  " })).await;
    assert_eq!(status, 400);
    let (status, gone) = other.delete("/api/circles/care").await;
    assert_eq!(status, 200, "{gone}");
    assert_eq!(gone["data"]["sessionsReleased"], 1);
    let (_, circles) = api.get("/api/circles").await;
    assert_eq!(circles["data"], json!([{ "name": "sales", "sessions": 2 }]));
    let (status, _) = other.delete("/api/circles/care").await;
    assert_eq!(status, 404);
}
