//! wagate-sandbox: a protocol-level WhatsApp Web server on loopback.
//!
//! Real WhatsApp Web clients (whatsapp-rust) connect to it unchanged except
//! for the server URL. It speaks the wire protocol (Noise XX / IK /
//! XXfallback, binary stanzas), plays the virtual phones behind an admin API
//! (QR scan, pairing code, kick, logout, ban, the phone's own chat
//! settings), keeps each account's app-state patches and newsletters
//! (channels, plaintext as on WhatsApp), relays end-to-end encrypted stanzas
//! between devices without ever decrypting them, and serves media
//! uploads/downloads — all on one axum listener:
//!
//! * `GET  /ws/chat` — the WhatsApp WebSocket
//! * `/admin/...` — the JSON admin API (`admin.rs`; calls in `calls/`,
//!   newsletters in `newsletters/`)
//! * `POST /mms/{type}/{token}`, `GET /v/sandbox/{type}/{token}` — media
//! * `GET /pp/{owner}/{id}.jpg` — profile pictures

mod admin;
mod appstate;
mod bot;
mod calls;
pub mod cert;
mod conn;
mod groups;
mod history;
mod iq;
mod keyshare;
mod login;
mod media;
mod newsletters;
mod nodes;
mod noise;
mod pair_code;
mod pairing;
mod pending;
mod phone_session;
mod relay;
mod sender_key;
mod state;
mod status;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{DefaultBodyLimit, State as AxState};
use axum::response::Response;
use axum::routing::{get, post};
use tokio::task::JoinHandle;

use crate::noise::ServerIdentity;
use crate::state::State;

/// Where and how to run the sandbox.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// `127.0.0.1:0` picks a free port.
    pub listen: SocketAddr,
    /// Persist the server's Noise key, phones, devices, groups and media here.
    pub data_dir: Option<PathBuf>,
    /// Emulated network latency: every frame the sandbox writes to a client
    /// is delayed this long (per connection, order kept). Real WhatsApp is
    /// tens of milliseconds away, and some clients (Baileys) rely on it.
    /// Zero by default here; `wagate sandbox` defaults to 20 ms.
    pub latency: Duration,
}

impl Default for SandboxConfig {
    /// `127.0.0.1:0`, nothing persisted, no added latency.
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: None,
            latency: Duration::ZERO,
        }
    }
}

/// A running sandbox.
pub struct Sandbox {
    addr: SocketAddr,
    state: Arc<State>,
    server: JoinHandle<()>,
}

const NOISE_KEY_FILE: &str = "noise_key";

fn load_identity(data_dir: Option<&PathBuf>) -> anyhow::Result<ServerIdentity> {
    let Some(dir) = data_dir else {
        return Ok(ServerIdentity::generate());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let path = dir.join(NOISE_KEY_FILE);
    match std::fs::read(&path) {
        Ok(raw) => {
            let bytes = hex::decode(raw.trim_ascii()).context("noise_key is not hex")?;
            ServerIdentity::from_private_bytes(&bytes)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let id = ServerIdentity::generate();
            std::fs::write(&path, hex::encode(id.private_bytes()))
                .with_context(|| format!("writing {}", path.display()))?;
            Ok(id)
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

async fn ws_handler(AxState(state): AxState<Arc<State>>, ws: WebSocketUpgrade) -> Response {
    ws.max_message_size(media::MAX_BLOB)
        .on_upgrade(move |socket| conn::serve(state, socket))
}

impl Sandbox {
    /// Binds the listener and starts serving.
    pub async fn start(config: SandboxConfig) -> anyhow::Result<Sandbox> {
        let identity = load_identity(config.data_dir.as_ref())?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let mut state = State::new(identity, config.data_dir.clone(), &format!("http://{addr}"));
        state.latency = config.latency;
        let state = Arc::new(state);
        state.restore();

        let app = Router::new()
            .route("/ws/chat", get(ws_handler))
            .route(
                "/mms/{kind}/{token}",
                post(media::upload).layer(DefaultBodyLimit::max(media::MAX_BLOB)),
            )
            .route("/v/sandbox/{kind}/{token}", get(media::download))
            .route("/pp/{owner}/{file}", get(iq::picture::serve))
            .merge(admin::router())
            .merge(calls::routes::router())
            .merge(appstate::admin::router())
            .merge(appstate::labels::router())
            .merge(newsletters::routes::router())
            .merge(status::routes::router())
            .with_state(state.clone());

        let mut shutdown = state.shutdown.subscribe();
        let server = tokio::spawn(async move {
            // Frames go out at once, as WhatsApp's servers send them: with
            // Nagle's algorithm a small frame waits for the peer's delayed
            // ACK (tens of milliseconds per round trip).
            use axum::serve::ListenerExt;
            let listener = listener.tap_io(|tcp| {
                let _ = tcp.set_nodelay(true);
            });
            let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|v| *v).await;
            });
            if let Err(e) = serve.await {
                tracing::error!("sandbox: server error: {e}");
            }
        });
        tracing::info!("sandbox listening on http://{addr} (ws://{addr}/ws/chat)");
        Ok(Sandbox {
            addr,
            state,
            server,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `ws://127.0.0.1:PORT/ws/chat`
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    /// `http://127.0.0.1:PORT` — admin API and media.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Closes every connection and stops the listener.
    pub async fn shutdown(self) {
        #[cfg(feature = "echo-bot")]
        {
            let bots = std::mem::take(&mut *state::lock(&self.state.bots));
            for b in bots {
                b.abort();
            }
        }
        self.state.persist();
        let _ = self.state.shutdown.send(true);
        let _ = self.server.await;
    }

    /// Serves until ctrl-c, then shuts down.
    pub async fn run_until_shutdown(self) {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("sandbox: shutting down");
        self.shutdown().await;
    }
}
