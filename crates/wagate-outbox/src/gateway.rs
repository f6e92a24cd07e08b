//! The worker's side of the gateway's HTTP API: configurations, connected
//! sessions of a circle, and sends. The API key goes in `X-API-Key` and is
//! never logged (the client's `Debug` leaves it out).

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use crate::db::OutboxRow;

/// A worker configuration, as `GET /api/outbox/workers` gives it (or as
/// the environment defines one).
#[derive(Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkerConfig {
    /// `0` for the configuration from the environment.
    #[serde(default)]
    pub id: i64,
    pub name: String,
    pub circle: Option<String>,
    pub application: String,
    #[serde(default)]
    pub interval_seconds: i64,
    pub interval_max_seconds: Option<i64>,
    #[serde(default = "yes")]
    pub enabled: bool,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    /// The tenant the configuration belongs to (absent from the
    /// environment's configuration and from older gateways).
    #[serde(default)]
    pub tenant_id: Option<String>,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for WorkerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerConfig")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("circle", &self.circle)
            .field("application", &self.application)
            .field("interval_seconds", &self.interval_seconds)
            .field("interval_max_seconds", &self.interval_max_seconds)
            .field("enabled", &self.enabled)
            .field("tenant_id", &self.tenant_id)
            .field("webhook_url", &self.webhook_url)
            .field(
                "webhook_secret",
                &self.webhook_secret.as_ref().map(|_| "***"),
            )
            .finish()
    }
}

/// A connected session to send through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionRef {
    pub id: String,
    pub phone: Option<String>,
}

/// How a send ended.
#[derive(Debug)]
pub enum SendOutcome {
    /// Taken by the gateway: `sent` (200), or `queued` in its durable send
    /// queue (202: its pacing holds it; it goes out, or fails, there).
    Sent {
        message_id: Option<String>,
        gateway_status: Option<String>,
    },
    /// A client error: the row fails for good.
    Rejected { error: String },
    /// The session cannot send now (not connected, gone): try later or
    /// through another session; no error counted.
    SessionUnavailable { error: String },
    /// Too many requests: wait, no error counted.
    Throttled { retry_after: Duration },
    /// Transport error or 5xx: counted; retried until the attempts run out.
    Transient { error: String },
}

#[derive(Clone)]
pub struct Gateway {
    base: String,
    key: String,
    http: reqwest::Client,
    /// With the admin key: the tenant whose sessions this worker loop may
    /// use (`X-Act-As-Tenant`), so one tenant's configuration never sends
    /// through another tenant's sessions.
    tenant: Option<String>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway").field("base", &self.base).finish()
    }
}

/// Message types of the outbox's `type` column.
pub const TYPE_TEXT: i64 = 0;
pub const TYPE_IMAGE: i64 = 1;
pub const TYPE_DOCUMENT: i64 = 2;
pub const TYPE_VIDEO: i64 = 3;
pub const TYPE_AUDIO: i64 = 4;

const IMAGE_EXTENSIONS: &[&str] = &["jpg", "jpeg", "png", "webp", "gif"];

/// The gateway route and JSON body for a row.
pub fn request_for(row: &OutboxRow) -> Result<(&'static str, Value), String> {
    let chat_id = chat_id(&row.destination)?;
    let text = row.messages.clone().unwrap_or_default();
    let file = row.file.as_deref().map(str::trim).filter(|f| !f.is_empty());
    let kind = match (row.msg_type, file) {
        (TYPE_TEXT, None) => return Ok(("send-text", json!({ "chatId": chat_id, "text": text }))),
        (TYPE_TEXT, Some(f)) => {
            // A text row with a file: an image when it looks like one.
            let ext = extension(f);
            if IMAGE_EXTENSIONS.contains(&ext.as_str()) {
                TYPE_IMAGE
            } else {
                TYPE_DOCUMENT
            }
        }
        (t @ (TYPE_IMAGE | TYPE_DOCUMENT | TYPE_VIDEO | TYPE_AUDIO), Some(_)) => t,
        (TYPE_IMAGE | TYPE_DOCUMENT | TYPE_VIDEO | TYPE_AUDIO, None) => {
            return Err(format!(
                "type {} needs a file URL in the file column",
                row.msg_type
            ));
        }
        (t, _) => {
            return Err(format!(
                "unknown type {t}: use 0 text, 1 image, 2 document, 3 video, 4 audio"
            ));
        }
    };
    let url = file.unwrap_or_default();
    let caption = (!text.trim().is_empty()).then_some(text);
    Ok(match kind {
        TYPE_IMAGE => (
            "send-image",
            json!({ "chatId": chat_id, "image": { "url": url }, "caption": caption }),
        ),
        TYPE_VIDEO => (
            "send-video",
            json!({ "chatId": chat_id, "video": { "url": url }, "caption": caption }),
        ),
        TYPE_AUDIO => (
            "send-audio",
            json!({ "chatId": chat_id, "audio": { "url": url } }),
        ),
        _ => {
            let filename = url
                .split(['?', '#'])
                .next()
                .and_then(|p| p.rsplit('/').next())
                .filter(|n| !n.is_empty())
                .map(str::to_owned);
            (
                "send-document",
                json!({ "chatId": chat_id, "document": { "url": url }, "caption": caption, "filename": filename }),
            )
        }
    })
}

fn extension(url: &str) -> String {
    url.split(['?', '#'])
        .next()
        .and_then(|p| p.rsplit('/').next())
        .and_then(|n| n.rsplit_once('.'))
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default()
}

/// A destination as the gateway takes it: a chat id as is, a phone number
/// with its punctuation removed.
fn chat_id(destination: &str) -> Result<String, String> {
    let d = destination.trim();
    if d.contains('@') {
        return Ok(d.to_string());
    }
    let digits: String = d.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() {
        return Err(format!(
            "destination '{d}' is not a phone number or chat id"
        ));
    }
    Ok(digits)
}

/// The digits of a `from_number` (the gateway resolves a session by them).
pub fn phone_digits(n: &str) -> String {
    n.chars().filter(char::is_ascii_digit).collect()
}

impl Gateway {
    pub fn new(base: &str, key: &str) -> Result<Gateway, String> {
        let http = wagate_outbound::client_builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Gateway {
            base: base.trim_end_matches('/').to_string(),
            key: key.to_string(),
            http,
            tenant: None,
        })
    }

    /// This gateway acting for `tenant`'s configuration: with the admin key
    /// it sees only that tenant's sessions (a tenant key sees its own
    /// anyway).
    pub fn for_tenant(&self, tenant: Option<&str>) -> Gateway {
        Gateway {
            tenant: tenant.filter(|t| !t.is_empty()).map(str::to_owned),
            ..self.clone()
        }
    }

    fn scoped(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.tenant {
            Some(t) => req.header("X-Act-As-Tenant", t),
            None => req,
        }
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .get(format!("{}{path}", self.base))
            .header("X-API-Key", &self.key)
            .timeout(Duration::from_secs(15))
    }

    /// Every worker configuration the key sees (secrets included: the worker
    /// signs its status webhook).
    pub async fn configs(&self) -> Result<Vec<WorkerConfig>, String> {
        let resp = self
            .get("/api/outbox/workers?includeSecret=true")
            .send()
            .await
            .map_err(|e| format!("cannot reach the gateway at {}: {e}", self.base))?;
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            return Err(format!(
                "GET /api/outbox/workers answered {status}: {}",
                error_text(&body)
            ));
        }
        serde_json::from_value(body["data"].clone())
            .map_err(|e| format!("unexpected answer from GET /api/outbox/workers: {e}"))
    }

    /// CONNECTED sessions, of `circle` if given, in the gateway's order.
    pub async fn connected_sessions(
        &self,
        circle: Option<&str>,
    ) -> Result<Vec<SessionRef>, String> {
        let mut out = Vec::new();
        for page in 1..=100u32 {
            let mut url = url::Url::parse(&format!("{}/api/sessions", self.base))
                .map_err(|e| format!("OUTBOX_API_BASEURL is not a URL: {e}"))?;
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("status", "CONNECTED")
                    .append_pair("limit", "100")
                    .append_pair("page", &page.to_string());
                if let Some(c) = circle {
                    q.append_pair("circle", c);
                }
            }
            let resp = self
                .scoped(self.http.get(url))
                .header("X-API-Key", &self.key)
                .timeout(Duration::from_secs(15))
                .send()
                .await
                .map_err(|e| format!("cannot reach the gateway at {}: {e}", self.base))?;
            let status = resp.status();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if !status.is_success() {
                return Err(format!(
                    "GET /api/sessions answered {status}: {}",
                    error_text(&body)
                ));
            }
            let list = body["data"].as_array().cloned().unwrap_or_default();
            for s in &list {
                if s["status"] != "CONNECTED" {
                    continue;
                }
                if let Some(id) = s["id"].as_str() {
                    out.push(SessionRef {
                        id: id.to_string(),
                        phone: s["phoneNumber"].as_str().map(str::to_owned),
                    });
                }
            }
            let pages = body["pagination"]["totalPages"].as_u64().unwrap_or(1);
            if list.is_empty() || u64::from(page) >= pages {
                break;
            }
        }
        Ok(out)
    }

    /// Sends one row through `session` (a session id or phone number),
    /// with its `Idempotency-Key` (see `OutboxDb::idempotency_key`).
    pub async fn send(&self, row: &OutboxRow, session: &str, idempotency_key: &str) -> SendOutcome {
        let (route, body) = match request_for(row) {
            Ok(v) => v,
            Err(error) => return SendOutcome::Rejected { error },
        };
        let url = format!(
            "{}/api/sessions/{}/messages/{route}",
            self.base,
            url_segment(session)
        );
        let resp = self
            .scoped(self.http.post(url))
            .header("X-API-Key", &self.key)
            .header("Idempotency-Key", idempotency_key)
            .json(&body)
            .timeout(Duration::from_secs(120))
            .send()
            .await;
        let resp = match resp {
            Ok(r) => r,
            Err(e) => {
                return SendOutcome::Transient {
                    error: format!("gateway unreachable: {e}"),
                };
            }
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        classify(status, &body, retry_after, row.from_number.is_some())
    }
}

/// `Retry-After` bounds for a 429.
const MIN_RETRY_AFTER: u64 = 1;
const MAX_RETRY_AFTER: u64 = 60;

fn classify(status: u16, body: &Value, retry_after: Option<u64>, pinned: bool) -> SendOutcome {
    let code = body["error"]["code"].as_str().unwrap_or_default();
    match status {
        200..=299 => SendOutcome::Sent {
            message_id: body["data"]["messageId"].as_str().map(str::to_owned),
            gateway_status: body["data"]["status"].as_str().map(str::to_owned),
        },
        429 => SendOutcome::Throttled {
            retry_after: Duration::from_secs(
                retry_after
                    .unwrap_or(MIN_RETRY_AFTER)
                    .clamp(MIN_RETRY_AFTER, MAX_RETRY_AFTER),
            ),
        },
        _ if matches!(
            code,
            "SESSION_NOT_READY"
                | "SESSION_INITIALIZING"
                | "SESSION_DISCONNECTED"
                | "SESSION_LOGGED_OUT"
        ) =>
        {
            SendOutcome::SessionUnavailable {
                error: error_text(body),
            }
        }
        // A session from the circle list that is gone meanwhile: another
        // one takes the row. A row's own from_number that matches no
        // session fails.
        404 | 403 if matches!(code, "SESSION_NOT_FOUND" | "SESSION_BANNED") && !pinned => {
            SendOutcome::SessionUnavailable {
                error: error_text(body),
            }
        }
        400..=499 => SendOutcome::Rejected {
            error: error_text(body),
        },
        _ => SendOutcome::Transient {
            error: format!("HTTP {status}: {}", error_text(body)),
        },
    }
}

/// `CODE: message` from the error envelope.
fn error_text(body: &Value) -> String {
    let code = body["error"]["code"].as_str();
    let message = body["error"]["message"].as_str();
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c.to_string(),
        _ => {
            let s = body.to_string();
            s.chars().take(300).collect()
        }
    }
}

fn url_segment(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "_-+.".contains(*c))
        .collect()
}

#[cfg(test)]
mod tests;
