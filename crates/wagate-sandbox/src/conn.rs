//! One task per WebSocket connection on `/ws/chat`: the connection preamble,
//! the Noise handshake (`noise.rs`), then the encrypted frame loop that
//! decodes client stanzas, dispatches them to the protocol handlers and
//! writes whatever the rest of the sandbox queued for this device.
//!
//! Every frame written is delayed by the configured latency (`--latency-ms`)
//! so the sandbox is as far away as a real server: frames wait in a
//! per-connection queue, in order, without holding up reads or other
//! connections.
//!
//! Per-connection memory is a frame decoder, an unbounded channel of
//! stanzas and the frames in flight (at most one latency's worth).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use axum::extract::ws::{Message, WebSocket};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::time::Instant;
use wacore_binary::{Jid, Node};
use wacore_noise::framing::{FrameDecoder, encode_frame};

use crate::noise::{self, FirstReply, TransportCipher};
use crate::state::{ConnHandle, DevKey, Outbound, Registration, State, write};
use crate::{iq, login, pairing, relay};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);
/// Close a logged-in connection the client stopped talking on (clients ping
/// every 15-30 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(120);
/// A pairing connection lives as long as its QR refs (60 s + 5 × 20 s).
const PAIRING_IDLE_TIMEOUT: Duration = Duration::from_secs(300);

/// What a connection is, once the handshake told us.
pub enum Role {
    /// A new device waiting for a QR scan or pairing code.
    Pairing {
        registration: Registration,
        noise_pub: [u8; 32],
        refs: Vec<String>,
    },
    /// A linked device that logged in.
    Device { key: DevKey, jid: Jid },
}

/// Per-connection context passed to every handler.
pub struct Session {
    pub state: Arc<State>,
    pub handle: ConnHandle,
    pub role: Role,
    /// Counts this client as connecting until it leaves passive mode.
    pub handshaking: std::sync::Mutex<Option<crate::state::Handshaking>>,
}

impl Session {
    pub fn send(&self, node: Node) {
        self.handle.send(node);
    }
    pub fn close(&self) {
        self.handle.close();
    }
    /// The logged-in device, if this is a device session.
    pub fn device(&self) -> Option<(&DevKey, &Jid)> {
        match &self.role {
            Role::Device { key, jid } => Some((key, jid)),
            Role::Pairing { .. } => None,
        }
    }
}

struct Wire {
    ws: WebSocket,
    decoder: FrameDecoder,
    /// How long each written frame travels (see the module doc).
    latency: Duration,
}

impl Wire {
    async fn recv_frame(&mut self) -> Result<Vec<u8>> {
        loop {
            if let Some(frame) = self.decoder.decode_frame() {
                return Ok(frame.to_vec());
            }
            match self.ws.next().await {
                Some(Ok(Message::Binary(b))) => self.decoder.feed(&b),
                Some(Ok(Message::Close(_))) | None => return Err(anyhow!("closed")),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.into()),
            }
        }
    }

    /// Frames and sends one handshake payload.
    async fn send_raw(&mut self, payload: &[u8]) -> Result<()> {
        let framed = encode_frame(payload, None)?;
        self.write_after_latency(framed).await
    }

    /// Writes one frame after the emulated latency (handshake and refusal:
    /// nothing else is going on on the connection then).
    async fn write_after_latency(&mut self, framed: Vec<u8>) -> Result<()> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        self.write(framed).await
    }

    async fn write(&mut self, framed: Vec<u8>) -> Result<()> {
        self.ws.send(Message::Binary(framed.into())).await?;
        Ok(())
    }

    /// Reads until the preamble is complete and feeds the rest to the decoder.
    async fn read_preamble(&mut self) -> Result<()> {
        let mut buf = Vec::new();
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Binary(b))) => buf.extend_from_slice(&b),
                Some(Ok(Message::Close(_))) | None => return Err(anyhow!("closed")),
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
            }
            if let Some(off) = noise::strip_preamble(&buf)? {
                self.decoder.feed(&buf[off..]);
                return Ok(());
            }
            if buf.len() > 64 * 1024 {
                return Err(anyhow!("preamble too long"));
            }
        }
    }
}

/// Entry point for an upgraded `/ws/chat` socket.
pub async fn serve(state: Arc<State>, ws: WebSocket) {
    // Counted from the accept until connected (`/admin/handshakes`).
    let handshaking = state.handshakes.begin();
    let mut wire = Wire {
        ws,
        decoder: FrameDecoder::new(),
        latency: state.latency,
    };
    let established =
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake(&state, &mut wire)).await {
            Ok(Ok(e)) => e,
            Ok(Err(e)) => {
                tracing::debug!("sandbox: handshake failed: {e:#}");
                return;
            }
            Err(_) => {
                tracing::debug!("sandbox: handshake timed out");
                return;
            }
        };
    let noise::Established {
        mut cipher,
        client_static,
        payload,
    } = established;

    let (tx, rx) = mpsc::unbounded_channel();
    let handle = ConnHandle {
        id: state.next_conn_id(),
        tx,
        active: Arc::new(AtomicBool::new(false)),
    };

    // Decide registration vs login and send the first stanza(s).
    let role = match login::admit(&state, &handle, &payload, client_static) {
        Ok(role) => role,
        Err(failure) => {
            // Refused: send the failure and close.
            let _ = send_node(&mut wire, &mut cipher, &failure).await;
            let _ = wire.ws.send(Message::Close(None)).await;
            return;
        }
    };
    let mut session = Session {
        state: state.clone(),
        handle,
        role,
        handshaking: std::sync::Mutex::new(Some(handshaking)),
    };
    if let Err(e) = run(&mut session, &mut wire, &mut cipher, rx).await {
        tracing::debug!("sandbox: connection {} ended: {e:#}", session.handle.id);
    }
    disconnect_cleanup(&session);
}

async fn handshake(state: &State, wire: &mut Wire) -> Result<noise::Established> {
    wire.read_preamble().await?;
    let hello = wire.recv_frame().await?;
    match noise::respond(&state.identity, &hello)? {
        FirstReply::Established {
            server_hello,
            established,
        } => {
            wire.send_raw(&server_hello).await?;
            Ok(*established)
        }
        FirstReply::NeedFinish {
            server_hello,
            state: pending,
        } => {
            wire.send_raw(&server_hello).await?;
            let finish = wire.recv_frame().await?;
            noise::finish(*pending, &finish)
        }
    }
}

async fn send_node(wire: &mut Wire, cipher: &mut TransportCipher, node: &Node) -> Result<()> {
    let frame = seal(cipher, node)?;
    wire.write_after_latency(frame).await
}

/// Encrypts and frames a stanza (in send order: the cipher counts frames).
fn seal(cipher: &mut TransportCipher, node: &Node) -> Result<Vec<u8>> {
    tracing::trace!(target: "sandbox::wire", "-> {node:?}");
    let plain = wacore_binary::marshal::marshal(node).map_err(|e| anyhow!("marshal: {e}"))?;
    let ct = cipher.encrypt(&plain)?;
    encode_frame(&ct, None)
}

/// Frames on their way to the client, each with the time it arrives.
#[derive(Default)]
struct InFlight {
    frames: VecDeque<(Instant, Vec<u8>)>,
}

impl InFlight {
    fn next_due(&self) -> Option<Instant> {
        self.frames.front().map(|(due, _)| *due)
    }

    /// Writes every frame whose time has come.
    async fn write_due(&mut self, wire: &mut Wire) -> Result<()> {
        let now = Instant::now();
        while self.next_due().is_some_and(|due| due <= now) {
            if let Some((_, frame)) = self.frames.pop_front() {
                wire.write(frame).await?;
            }
        }
        Ok(())
    }

    /// Writes everything left, each at its time (before closing).
    async fn write_all(&mut self, wire: &mut Wire) -> Result<()> {
        while let Some((due, frame)) = self.frames.pop_front() {
            tokio::time::sleep_until(due).await;
            wire.write(frame).await?;
        }
        Ok(())
    }
}

fn decode_node(cipher: &mut TransportCipher, frame: &[u8]) -> Result<Node> {
    let plain = cipher.decrypt(frame)?;
    let unpacked = wacore_binary::util::unpack(&plain).map_err(|e| anyhow!("unpack: {e}"))?;
    let node = wacore_binary::marshal::unmarshal_ref(&unpacked)
        .map_err(|e| anyhow!("unmarshal: {e}"))?
        .to_owned();
    Ok(node)
}

async fn run(
    session: &mut Session,
    wire: &mut Wire,
    cipher: &mut TransportCipher,
    mut rx: mpsc::UnboundedReceiver<Outbound>,
) -> Result<()> {
    let mut shutdown = session.state.shutdown.subscribe();
    let idle = match session.role {
        Role::Pairing { .. } => PAIRING_IDLE_TIMEOUT,
        Role::Device { .. } => IDLE_TIMEOUT,
    };
    let latency = wire.latency;
    let mut in_flight = InFlight::default();
    login::on_open(session);
    loop {
        let next_due = in_flight.next_due();
        tokio::select! {
            biased;
            _ = shutdown.changed() => {
                let _ = wire.ws.send(Message::Close(None)).await;
                return Ok(());
            }
            _ = tokio::time::sleep_until(next_due.unwrap_or_else(Instant::now)), if next_due.is_some() => {
                in_flight.write_due(wire).await?;
            }
            out = rx.recv() => {
                match out {
                    Some(Outbound::Node(node)) => {
                        let frame = seal(cipher, &node)?;
                        if latency.is_zero() {
                            wire.write(frame).await?;
                        } else {
                            in_flight.frames.push_back((Instant::now() + latency, frame));
                        }
                    }
                    Some(Outbound::Close) | None => {
                        in_flight.write_all(wire).await?;
                        let _ = wire.ws.send(Message::Close(None)).await;
                        return Ok(());
                    }
                }
            }
            msg = tokio::time::timeout(idle, wire.ws.next()) => {
                let msg = msg.map_err(|_| anyhow!("idle timeout"))?;
                match msg {
                    Some(Ok(Message::Binary(b))) => {
                        wire.decoder.feed(&b);
                        while let Some(frame) = wire.decoder.decode_frame() {
                            let node = decode_node(cipher, &frame).context("bad frame")?;
                            tracing::trace!(target: "sandbox::wire", "<- {node:?}");
                            dispatch(session, node).await;
                        }
                    }
                    Some(Ok(Message::Close(_))) | None => return Ok(()),
                    Some(Ok(_)) => {}
                    Some(Err(e)) => return Err(e.into()),
                }
            }
        }
    }
}

async fn dispatch(session: &mut Session, node: Node) {
    match node.tag.as_ref() {
        "iq" => iq::handle(session, node).await,
        "message" => relay::on_message(session, node),
        "receipt" if crate::calls::is_offer_receipt(&node) => on_offer_receipt(session, &node),
        "receipt" => relay::on_receipt(session, node),
        "presence" => relay::on_presence(session, node),
        "chatstate" => relay::on_chatstate(session, node),
        "ack" => relay::on_client_ack(session, node),
        "call" => on_call(session, &node),
        "notification" | "ib" => relay::ack_generic(session, &node),
        other => tracing::debug!("sandbox: ignoring <{other}> from client"),
    }
}

/// A `<call>` from a device: its answer to a phone's call is recorded
/// (`calls`); every one is acked.
fn on_call(session: &Session, node: &Node) {
    if let Some((me, _)) = session.device() {
        crate::calls::answer(&session.state, me, node);
    }
    relay::ack_generic(session, node);
}

/// A device's `<receipt><offer/></receipt>`: it rings. Acked, not relayed.
fn on_offer_receipt(session: &Session, node: &Node) {
    if let Some((me, _)) = session.device() {
        crate::calls::rang(&session.state, me, node);
    }
    if let (Some(id), Some(to)) = (
        crate::nodes::attr(node, "id"),
        crate::nodes::attr_jid(node, "to"),
    ) {
        session.send(relay::server_ack("receipt", &id, &to, None));
    }
}

fn disconnect_cleanup(session: &Session) {
    let state = &session.state;
    if let Role::Device { key, .. } = &session.role {
        let mut conns = write(&state.conns);
        let was_current = conns.get(key).is_some_and(|c| c.id == session.handle.id);
        if was_current {
            conns.remove(key);
        }
        drop(conns);
        if was_current {
            write(&state.available_devices).remove(key);
            relay::broadcast_presence_of(state, &key.phone);
        }
    }
    pairing::forget_conn(state, session.handle.id);
}
