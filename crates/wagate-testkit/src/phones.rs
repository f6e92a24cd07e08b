//! Sandbox phones, and linking them to gateway sessions by QR.

use super::*;

/// The sandbox's admin API.
pub struct Phone<'a> {
    pub sandbox: &'a Sandbox,
    pub number: String,
}

pub async fn create_phone<'a>(sandbox: &'a Sandbox, number: &str, push_name: &str) -> Phone<'a> {
    create_phone_with(
        sandbox,
        number,
        json!({ "phone": number, "pushName": push_name }),
    )
    .await
}

/// A sandbox phone WhatsApp addresses by its LID (`"lid": true`).
pub async fn create_lid_phone<'a>(
    sandbox: &'a Sandbox,
    number: &str,
    push_name: &str,
) -> Phone<'a> {
    let body = json!({ "phone": number, "pushName": push_name, "lid": true });
    create_phone_with(sandbox, number, body).await
}

async fn create_phone_with<'a>(
    sandbox: &'a Sandbox,
    number: &str,
    body: serde_json::Value,
) -> Phone<'a> {
    let resp = reqwest::Client::new()
        .post(format!("{}/admin/phones", sandbox.http_url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        201,
        "sandbox creates phone {number}"
    );
    Phone {
        sandbox,
        number: number.to_string(),
    }
}

impl Phone<'_> {
    /// The phone scans the QR a session shows.
    pub async fn scan(&self, qr: &str) -> Value {
        let resp = reqwest::Client::new()
            .post(format!(
                "{}/admin/phones/{}/scan",
                self.sandbox.http_url(),
                self.number
            ))
            .json(&json!({ "qr": qr }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "sandbox accepts the QR");
        resp.json().await.unwrap()
    }
}

/// Creates a session through the API and pairs it with `phone` by QR.
pub async fn create_and_pair(api: &Api, name: &str, phone: &Phone<'_>) -> String {
    let (status, body) = api.post("/api/sessions", json!({ "name": name })).await;
    assert_eq!(status, 201, "create session {name}: {body}");
    let id = body["data"]["id"].as_str().unwrap().to_string();
    pair(api, &id, phone).await;
    id
}

pub async fn pair(api: &Api, id: &str, phone: &Phone<'_>) {
    let qr = eventually("a QR code", Duration::from_secs(60), || async {
        let (status, body) = api.get(&format!("/api/sessions/{id}/qr")).await;
        if status == 200 {
            assert!(
                body["data"]["image"]
                    .as_str()
                    .unwrap()
                    .starts_with("data:image/png;base64,")
            );
            body["data"]["code"].as_str().map(str::to_owned)
        } else {
            None
        }
    })
    .await;
    phone.scan(&qr).await;
    api.wait_status(id, "CONNECTED").await;
}
