//! `wagate pair`: links a number from a terminal, as seed 002's users did.
//!
//! It creates (or reuses) the session by name on a running gateway — or,
//! when none answers, starts one in this process on the local database —
//! then prints the QR in the terminal (Unicode half blocks, plus the raw
//! code), prints a new one as codes rotate, or with `--phone` prints the
//! pairing code to enter on the phone instead, and exits 0 once the
//! session is CONNECTED. A session paired this way is in the database like
//! any other: `wagate serve` keeps it connected afterwards.

use std::time::{Duration, Instant};

use clap::{Args, Parser};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use serde_json::{Value, json};

#[derive(Args, Debug)]
pub struct PairArgs {
    /// The session's name (created when the key has none by that name).
    #[arg(long)]
    pub session: String,
    /// Pair by phone number (digits with country code): print the 8-character
    /// code to enter on the phone instead of a QR.
    #[arg(long)]
    pub phone: Option<String>,
    /// The gateway's base URL (default: http://127.0.0.1:$PORT).
    #[arg(long, env = "WAGATE_URL")]
    pub url: Option<String>,
    #[arg(long, env = "PORT", default_value_t = 2785)]
    pub port: u16,
    /// The key to use (the admin key or a tenant's).
    #[arg(long, env = "API_KEY", hide_env_values = true)]
    pub api_key: String,
    /// Give up after this many seconds.
    #[arg(long, default_value_t = 300)]
    pub timeout_secs: u64,
}

/// `wagate serve`'s arguments, to start a gateway in this process.
#[derive(Parser)]
struct EmbeddedServe {
    #[command(flatten)]
    serve: crate::config::ServeArgs,
}

struct Gateway {
    base: String,
    key: String,
    http: reqwest::Client,
}

impl Gateway {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.base))
            .header("X-API-Key", &self.key);
        if let Some(b) = body {
            req = req.json(&b);
        }
        match req.send().await {
            Ok(r) => {
                let status = r.status().as_u16();
                (status, r.json().await.unwrap_or(Value::Null))
            }
            Err(_) => (0, Value::Null),
        }
    }

    async fn up(&self) -> bool {
        matches!(
            self.http.get(format!("{}/health", self.base)).send().await,
            Ok(r) if r.status().is_success()
        )
    }
}

fn error_of(body: &Value) -> String {
    body["error"]["message"]
        .as_str()
        .unwrap_or("unexpected answer")
        .to_string()
}

pub async fn run(args: PairArgs) -> anyhow::Result<()> {
    let http = wagate_outbound::client_builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://127.0.0.1:{}", args.port));
    let mut gw = Gateway {
        base: base.trim_end_matches('/').to_string(),
        key: args.api_key.clone(),
        http,
    };
    if !gw.up().await {
        gw.base = start_embedded(&gw).await?;
    }
    let id = session(&gw, &args.session).await?;
    let deadline = Instant::now() + Duration::from_secs(args.timeout_secs.max(10));
    if let Some(phone) = &args.phone {
        let (status, body) = gw
            .call(
                reqwest::Method::POST,
                &format!("/api/sessions/{id}/pair-code"),
                Some(json!({ "phoneNumber": phone })),
            )
            .await;
        if status != 200 {
            anyhow::bail!("no pairing code: {}", error_of(&body));
        }
        println!(
            "Pairing code: {}\nOn the phone: WhatsApp > Linked devices > Link a device > Link with phone number instead.",
            body["data"]["code"].as_str().unwrap_or_default()
        );
    }
    let mut shown: Option<String> = None;
    let mut said: Option<String> = None;
    while Instant::now() < deadline {
        let (_, s) = gw
            .call(reqwest::Method::GET, &format!("/api/sessions/{id}"), None)
            .await;
        let status = s["data"]["status"].as_str().unwrap_or_default();
        match status {
            "CONNECTED" => {
                let phone = s["data"]["phoneNumber"].as_str().unwrap_or("?");
                println!("CONNECTED as +{phone} (session {id})");
                return Ok(());
            }
            "FAILED" => anyhow::bail!(
                "the session failed: {}",
                s["data"]["statusReason"]
                    .as_str()
                    .unwrap_or("unknown reason")
            ),
            _ => {}
        }
        if args.phone.is_none() && status != "CONNECTING" {
            let (code, qr) = gw
                .call(
                    reqwest::Method::GET,
                    &format!("/api/sessions/{id}/qr"),
                    None,
                )
                .await;
            if code == 200
                && let Some(raw) = qr["data"]["code"].as_str()
                && shown.as_deref() != Some(raw)
            {
                print_qr(raw)?;
                shown = Some(raw.to_string());
            } else if code != 200 && code != 0 {
                let why = error_of(&qr);
                if said.as_deref() != Some(why.as_str()) {
                    eprintln!("waiting: {why}");
                    said = Some(why);
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    anyhow::bail!("not connected within {} s", args.timeout_secs)
}

/// The session named `name` among the key's, created when missing.
async fn session(gw: &Gateway, name: &str) -> anyhow::Result<String> {
    let (status, list) = gw
        .call(reqwest::Method::GET, "/api/sessions?limit=100", None)
        .await;
    if status != 200 {
        anyhow::bail!("cannot list sessions: {}", error_of(&list));
    }
    if let Some(found) = list["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|s| s["name"] == name)
    {
        return Ok(found["id"].as_str().unwrap_or_default().to_string());
    }
    let (status, created) = gw
        .call(
            reqwest::Method::POST,
            "/api/sessions",
            Some(json!({ "name": name })),
        )
        .await;
    if status != 201 {
        anyhow::bail!("cannot create session {name}: {}", error_of(&created));
    }
    Ok(created["data"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string())
}

/// Prints a QR in half blocks (light on dark, as terminals are), and the
/// raw code under it.
fn print_qr(raw: &str) -> anyhow::Result<()> {
    let image = QrCode::new(raw.as_bytes())?
        .render::<Dense1x2>()
        .dark_color(Dense1x2::Light)
        .light_color(Dense1x2::Dark)
        .quiet_zone(true)
        .build();
    println!("{image}");
    println!("Scan with WhatsApp > Linked devices > Link a device.");
    println!("QR code: {raw}");
    Ok(())
}

/// No gateway answers: run one in this process on the configured
/// database (`DATABASE_URL`, `DATA_DIR`), on a free loopback port.
async fn start_embedded(gw: &Gateway) -> anyhow::Result<String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let port_arg = port.to_string();
    let serve = EmbeddedServe::try_parse_from([
        "wagate",
        "--host",
        "127.0.0.1",
        "--port",
        &port_arg,
        "--api-key",
        &gw.key,
    ])
    .map_err(|e| anyhow::anyhow!("{e}"))?
    .serve;
    eprintln!(
        "no gateway at {}: starting one on the local database",
        gw.base
    );
    tokio::spawn(async move {
        if let Err(e) = crate::serve::run(serve).await {
            eprintln!("wagate: {e}");
            std::process::exit(1);
        }
    });
    let base = format!("http://127.0.0.1:{port}");
    let probe = Gateway {
        base: base.clone(),
        key: gw.key.clone(),
        http: gw.http.clone(),
    };
    for _ in 0..100 {
        if probe.up().await {
            return Ok(base);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    anyhow::bail!("the embedded gateway did not start")
}
