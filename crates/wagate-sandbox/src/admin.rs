//! The admin API (JSON): creating virtual phones, playing the phone's part
//! in linking (QR scan, pairing code), kicking / logging out devices,
//! temporary bans, the relay log, the devices that connected twice at once
//! (`/admin/conflicts`), how many clients are connecting at once
//! (`/admin/handshakes`), and what each device has not acked yet
//! (the phone's app-state routes are `appstate::admin`). This is a contract used by tests
//! outside the project; every error is `{"error": "..."}` with 400/404/409.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router, routing};
use serde::Deserialize;
use serde_json::json;
use wacore_binary::Jid;
use wacore_binary::builder::NodeBuilder;

use crate::nodes::now_secs;
use crate::pairing::PairError;
use crate::state::{DevKey, Phone, State, StoredKeyPair, lock, read, write};

pub fn router() -> Router<Arc<State>> {
    Router::new()
        .route(
            "/admin/phones",
            routing::get(list_phones).post(create_phone),
        )
        .route("/admin/phones/{phone}/scan", routing::post(scan))
        .route("/admin/phones/{phone}/pair-code", routing::post(pair_code))
        .route("/admin/phones/{phone}/ban", routing::post(ban))
        .route("/admin/phones/{phone}/blocklist", routing::get(blocklist))
        .route("/admin/phones/{phone}/pending", routing::get(pending))
        .route(
            "/admin/phones/{phone}/picture",
            routing::put(set_picture).delete(remove_picture),
        )
        .route("/admin/devices/{jid}/kick", routing::post(kick))
        .route("/admin/devices/{jid}/logout", routing::post(logout))
        .route("/admin/messages", routing::get(messages))
        .route("/admin/conflicts", routing::get(conflicts))
        .route(
            "/admin/handshakes",
            routing::get(handshakes).delete(reset_handshakes),
        )
}

/// How many clients are connecting now, the most at once, and in all.
async fn handshakes(AxState(state): AxState<Arc<State>>) -> Response {
    Json(state.handshakes.counts()).into_response()
}

/// Starts a new peak from now.
async fn reset_handshakes(AxState(state): AxState<Arc<State>>) -> Response {
    state.handshakes.reset_peak();
    Json(state.handshakes.counts()).into_response()
}

/// Devices that logged in while an older connection of theirs was still
/// open (the older one was replaced), oldest first.
async fn conflicts(AxState(state): AxState<Arc<State>>) -> Response {
    Json(lock(&state.conflicts).clone()).into_response()
}

pub(crate) fn error(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({ "error": msg.into() }))).into_response()
}

fn parse_body<T: for<'de> Deserialize<'de>>(body: &Bytes) -> Result<T, Box<Response>> {
    serde_json::from_slice(body).map_err(|e| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("invalid JSON body: {e}"),
        ))
    })
}

fn pair_error(e: PairError) -> Response {
    match e {
        PairError::NotFound(m) => error(StatusCode::NOT_FOUND, m),
        PairError::BadRequest(m) => error(StatusCode::BAD_REQUEST, m),
    }
}

fn valid_phone(p: &str) -> bool {
    (5..=20).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_digit()) && !p.starts_with('0')
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreatePhone {
    phone: String,
    #[serde(default)]
    push_name: Option<String>,
    #[serde(default)]
    bot: Option<String>,
    /// Chats the phone already holds: pushed to each device it links.
    #[serde(default)]
    history: Vec<crate::history::SeedChat>,
    /// Addressed by its LID (`Phone::lid_addressed`).
    #[serde(default)]
    lid: bool,
}

/// Creates the account record of a virtual phone.
pub(crate) fn new_phone(state: &State, phone: &str, push_name: &str, bot: Option<String>) -> Phone {
    let account = StoredKeyPair::generate();
    let spk = StoredKeyPair::generate();
    let spk_sig = account.sign(&spk.0.public_key.serialize());
    let lid = loop {
        let candidate = format!(
            "{}",
            100_000_000_000_000u64 + rand::random::<u64>() % 899_999_999_999_999
        );
        if !read(&state.lid_to_phone).contains_key(&candidate) {
            break candidate;
        }
    };
    Phone {
        phone: phone.to_string(),
        push_name: push_name.to_string(),
        lid,
        lid_addressed: false,
        account,
        raw_id: rand::random::<u32>() & 0x7fff_ffff,
        next_device: 1,
        banned_until: None,
        bot,
        created_at: now_secs(),
        phone_registration_id: (rand::random::<u32>() % 16380) + 1,
        phone_signed_prekey: spk,
        phone_signed_prekey_sig: spk_sig,
        app_state_key: None,
    }
}

async fn create_phone(AxState(state): AxState<Arc<State>>, body: Bytes) -> Response {
    let req: CreatePhone = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    let phone = req.phone.trim().trim_start_matches('+').to_string();
    if !valid_phone(&phone) {
        return error(
            StatusCode::BAD_REQUEST,
            "phone must be 5-20 digits in international format without '+'",
        );
    }
    match req.bot.as_deref() {
        None => {}
        Some("echo") if !crate::bot::AVAILABLE => {
            return error(
                StatusCode::BAD_REQUEST,
                "this sandbox was built without the echo-bot feature; rebuild with --features sandbox",
            );
        }
        Some("echo") => {}
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("unknown bot kind {other:?}"),
            );
        }
    }
    let history = match crate::history::prepare(req.history) {
        Ok(h) => h,
        Err(e) => return error(StatusCode::BAD_REQUEST, e),
    };
    let push_name = req.push_name.unwrap_or_default();
    let mut record = new_phone(&state, &phone, &push_name, req.bot.clone());
    record.lid_addressed = req.lid;
    let lid_jid = format!("{}@lid", record.lid);
    {
        let mut phones = write(&state.phones);
        if phones.contains_key(&phone) {
            return error(
                StatusCode::CONFLICT,
                format!("phone {phone} already exists"),
            );
        }
        write(&state.lid_to_phone).insert(record.lid.clone(), phone.clone());
        phones.insert(phone.clone(), record);
        if !history.is_empty() {
            write(&state.histories).insert(phone.clone(), history);
        }
    }
    state.persist();
    if req.bot.as_deref() == Some("echo")
        && let Err(e) = crate::bot::spawn_echo(state.clone(), phone.clone()).await
    {
        return error(
            StatusCode::BAD_REQUEST,
            format!("cannot start echo bot: {e}"),
        );
    }
    (
        StatusCode::CREATED,
        Json(json!({
            "phone": phone,
            "jid": format!("{phone}@s.whatsapp.net"),
            "lid": lid_jid,
            "lidAddressed": req.lid,
        })),
    )
        .into_response()
}

async fn list_phones(AxState(state): AxState<Arc<State>>) -> Response {
    let mut phones: Vec<Phone> = read(&state.phones).values().cloned().collect();
    phones.sort_by(|a, b| a.phone.cmp(&b.phone));
    let pending = lock(&state.pending);
    let conns = read(&state.conns);
    let devices = read(&state.devices);
    let out: Vec<serde_json::Value> = phones
        .iter()
        .map(|p| {
            let mut devs: Vec<_> = devices
                .values()
                .filter(|d| d.key.phone == p.phone && d.linked)
                .collect();
            devs.sort_by_key(|d| d.key.device);
            json!({
                "phone": p.phone,
                "jid": format!("{}@s.whatsapp.net", p.phone),
                "lid": format!("{}@lid", p.lid),
                "lidAddressed": p.lid_addressed,
                "pushName": p.push_name,
                "bot": p.bot,
                "bannedUntil": p.banned_until.filter(|t| *t > now_secs()),
                "devices": devs.iter().map(|d| json!({
                    "deviceJid": d.key.jid_string(),
                    "platform": d.platform,
                    "connected": conns.contains_key(&d.key),
                    "loggedOut": d.logged_out,
                    "createdAt": d.created_at,
                    "pending": pending.count(&d.key),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(out).into_response()
}

#[derive(Deserialize)]
struct ScanBody {
    qr: String,
}

async fn scan(
    AxState(state): AxState<Arc<State>>,
    Path(phone): Path<String>,
    body: Bytes,
) -> Response {
    let req: ScanBody = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    match crate::pairing::scan(&state, &phone, &req.qr) {
        Ok(jid) => Json(json!({ "deviceJid": jid })).into_response(),
        Err(e) => pair_error(e),
    }
}

#[derive(Deserialize)]
struct CodeBody {
    code: String,
}

async fn pair_code(
    AxState(state): AxState<Arc<State>>,
    Path(phone): Path<String>,
    body: Bytes,
) -> Response {
    let req: CodeBody = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    match crate::pair_code::enter_code(&state, &phone, &req.code).await {
        Ok(jid) => Json(json!({ "deviceJid": jid })).into_response(),
        Err(e) => pair_error(e),
    }
}

#[derive(Deserialize)]
struct BanBody {
    seconds: i64,
}

async fn ban(
    AxState(state): AxState<Arc<State>>,
    Path(phone): Path<String>,
    body: Bytes,
) -> Response {
    let req: BanBody = match parse_body(&body) {
        Ok(r) => r,
        Err(e) => return *e,
    };
    if req.seconds < 0 || req.seconds > 10 * 365 * 86400 {
        return error(
            StatusCode::BAD_REQUEST,
            "seconds must be between 0 and ten years",
        );
    }
    let until = now_secs() + req.seconds;
    {
        let mut phones = write(&state.phones);
        let Some(p) = phones.get_mut(&phone) else {
            return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
        };
        p.banned_until = (req.seconds > 0).then_some(until);
    }
    state.persist();
    if req.seconds > 0 {
        // Live devices get the same failure a fresh login would.
        let live: Vec<_> = read(&state.conns)
            .iter()
            .filter(|(k, _)| k.phone == phone)
            .map(|(_, c)| c.clone())
            .collect();
        for c in live {
            c.send(
                NodeBuilder::new("failure")
                    .attr("reason", 402)
                    .attr("code", 101)
                    .attr("expire", req.seconds)
                    .attr("location", "sandbox")
                    .build(),
            );
            c.close();
        }
    }
    Json(json!({ "phone": phone, "bannedUntil": (req.seconds > 0).then_some(until) }))
        .into_response()
}

fn parse_device(jid: &str) -> Result<DevKey, Box<Response>> {
    let parsed: Jid = jid.parse().map_err(|_| {
        Box::new(error(
            StatusCode::BAD_REQUEST,
            format!("invalid device JID {jid:?}"),
        ))
    })?;
    Ok(DevKey::new(parsed.user.to_string(), parsed.device))
}

async fn kick(AxState(state): AxState<Arc<State>>, Path(jid): Path<String>) -> Response {
    let key = match parse_device(&jid) {
        Ok(k) => k,
        Err(e) => return *e,
    };
    if state.device(&key).is_none() {
        return error(StatusCode::NOT_FOUND, format!("unknown device {jid}"));
    }
    let conn = state.conn(&key);
    let kicked = conn.is_some();
    if let Some(c) = conn {
        c.close();
    }
    Json(json!({ "deviceJid": key.jid_string(), "kicked": kicked })).into_response()
}

async fn logout(AxState(state): AxState<Arc<State>>, Path(jid): Path<String>) -> Response {
    let key = match parse_device(&jid) {
        Ok(k) => k,
        Err(e) => return *e,
    };
    {
        let mut devices = write(&state.devices);
        let Some(d) = devices.get_mut(&key) else {
            return error(StatusCode::NOT_FOUND, format!("unknown device {jid}"));
        };
        d.logged_out = true;
        d.prekeys.clear();
    }
    lock(&state.pending).remove_device(&key);
    state.persist();
    crate::login::kick_logged_out(&state, &key);
    Json(json!({ "deviceJid": key.jid_string(), "loggedOut": true })).into_response()
}

async fn messages(
    AxState(state): AxState<Arc<State>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let limit = match q.get("limit").map(|l| l.parse::<usize>()) {
        None => 100,
        Some(Ok(l)) => l.min(10_000),
        Some(Err(_)) => return error(StatusCode::BAD_REQUEST, "limit must be a number"),
    };
    let norm = |s: &String| {
        s.split('@')
            .next()
            .unwrap_or_default()
            .split(':')
            .next()
            .unwrap_or_default()
            .to_string()
    };
    let from = q.get("from").filter(|s| !s.is_empty()).map(norm);
    let to = q.get("to").filter(|s| !s.is_empty()).map(norm);
    let log = lock(&state.relay_log);
    let mut rows: Vec<_> = log
        .iter()
        .rev()
        .filter(|e| from.as_ref().is_none_or(|f| &e.from == f))
        .filter(|e| {
            to.as_ref()
                .is_none_or(|t| e.to.split('@').next() == Some(t.as_str()))
        })
        .take(limit)
        .cloned()
        .collect();
    rows.reverse();
    Json(rows).into_response()
}

/// `GET /admin/phones/{phone}/pending`: per linked device, the stanzas it
/// has not acked yet — `{phone, devices: [{deviceJid, pending, stanzas:
/// [{tag, id, from, participant, type, sent}]}]}`, oldest first; `sent` is
/// false while a stanza waits for the device's next login.
async fn pending(AxState(state): AxState<Arc<State>>, Path(phone): Path<String>) -> Response {
    if !state.phone_exists(&phone) {
        return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
    }
    let devices = state.devices_of(&phone);
    let kept = lock(&state.pending);
    let attr = |n: &wacore_binary::Node, k: &str| crate::nodes::attr(n, k);
    let out: Vec<serde_json::Value> = devices
        .iter()
        .map(|d| {
            let entries = kept.entries(&d.key);
            json!({
                "deviceJid": d.key.jid_string(),
                "pending": entries.len(),
                "stanzas": entries.iter().map(|e| json!({
                    "tag": e.node.tag,
                    "id": attr(&e.node, "id"),
                    "from": attr(&e.node, "from"),
                    "participant": attr(&e.node, "participant"),
                    "type": attr(&e.node, "type"),
                    "sent": e.sent_on.is_some(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    Json(json!({ "phone": phone, "devices": out })).into_response()
}

/// `GET /admin/phones/{phone}/blocklist`: whom the phone blocked
/// (`[{phone, jid, since}]`, since in unix seconds).
async fn blocklist(AxState(state): AxState<Arc<State>>, Path(phone): Path<String>) -> Response {
    if !state.phone_exists(&phone) {
        return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
    }
    Json(crate::iq::blocklist::admin_view(&state, &phone)).into_response()
}

/// `PUT /admin/phones/{phone}/picture` with the raw JPEG as body: the
/// phone sets its profile picture → `{phone, id, url}`.
async fn set_picture(
    AxState(state): AxState<Arc<State>>,
    Path(phone): Path<String>,
    body: Bytes,
) -> Response {
    if !state.phone_exists(&phone) {
        return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
    }
    match crate::iq::picture::store(&state, &phone, body) {
        Ok(pic) => {
            let url = format!(
                "http://{}{}",
                state.media_host,
                crate::iq::picture::direct_path(&pic)
            );
            Json(json!({ "phone": phone, "id": pic.id, "url": url })).into_response()
        }
        Err(e) => error(StatusCode::BAD_REQUEST, e.message()),
    }
}

/// `DELETE /admin/phones/{phone}/picture` → `{phone, removed}`.
async fn remove_picture(
    AxState(state): AxState<Arc<State>>,
    Path(phone): Path<String>,
) -> Response {
    if !state.phone_exists(&phone) {
        return error(StatusCode::NOT_FOUND, format!("unknown phone {phone}"));
    }
    let removed = crate::iq::picture::remove(&state, &phone);
    Json(json!({ "phone": phone, "removed": removed })).into_response()
}
