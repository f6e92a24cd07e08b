//! The WebSocket to WhatsApp, directly or through a proxy: the stream is a
//! TCP connection with `TCP_NODELAY`, or comes from [`super::tunnel::open`];
//! TLS (for `wss://`) is the engine's own default connector with WhatsApp's
//! normal certificate checks, and the engine's `from_websocket` turns the
//! upgraded socket into its transport, exactly as its own factory does.

use std::sync::Arc;

use async_trait::async_trait;
use wagate_core::ProxyUrl;
use whatsapp_rust::transport::{
    Connector, Transport, TransportEvent, TransportFactory, default_tls_connector, from_websocket,
};
use whatsapp_rust::wacore::net::WHATSAPP_WEB_ORIGIN;

use super::tunnel::{self, ProxyError};

type Opened = (Arc<dyn Transport>, async_channel::Receiver<TransportEvent>);

/// Opens each WebSocket to `url` through `proxy`.
pub(crate) struct ProxiedTransport {
    pub proxy: ProxyUrl,
    /// `wss://web.whatsapp.com/ws/chat`, or a sandbox's `ws://…`.
    pub url: String,
}

/// Opens each WebSocket to `url` directly, on a socket with `TCP_NODELAY`
/// (the engine's own factory leaves Nagle's algorithm on, and each small
/// frame of a send then waits for the server's delayed ACK).
pub(crate) struct DirectTransport {
    /// `wss://web.whatsapp.com/ws/chat`, or a sandbox's `ws://…`.
    pub url: String,
}

#[async_trait]
impl TransportFactory for DirectTransport {
    async fn create_transport(&self) -> Result<Opened, anyhow::Error> {
        let target = Target::of(&self.url)?;
        let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port)).await?;
        let _ = tcp.set_nodelay(true);
        target.upgrade(Box::new(tcp), "").await
    }
}

#[async_trait]
impl TransportFactory for ProxiedTransport {
    async fn create_transport(&self) -> Result<Opened, anyhow::Error> {
        let target = Target::of(&self.url)?;
        let stream = tunnel::open(&self.proxy, &target.host, target.port).await?;
        target.upgrade(stream, " through the proxy").await
    }
}

/// Where a WebSocket to WhatsApp goes.
struct Target {
    uri: http::Uri,
    secure: bool,
    host: String,
    port: u16,
}

impl Target {
    fn of(url: &str) -> Result<Target, anyhow::Error> {
        let uri: http::Uri = url
            .parse()
            .map_err(|e| anyhow::anyhow!("the WhatsApp server URL is not usable: {e}"))?;
        let secure = match uri.scheme_str() {
            Some("wss") => true,
            Some("ws") => false,
            _ => anyhow::bail!("the WhatsApp server URL must be ws:// or wss://"),
        };
        let host = uri
            .host()
            .ok_or_else(|| anyhow::anyhow!("the WhatsApp server URL has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let port = uri.port_u16().unwrap_or(if secure { 443 } else { 80 });
        Ok(Target {
            uri,
            secure,
            host,
            port,
        })
    }

    /// TLS (for `wss://`, WhatsApp's normal certificate checks) and the
    /// WebSocket upgrade on an open stream; `how` ends the error messages.
    async fn upgrade(
        self,
        stream: Box<dyn tunnel::Tunnelled>,
        how: &str,
    ) -> Result<Opened, anyhow::Error> {
        let connector = if self.secure {
            default_tls_connector()
        } else {
            Connector::Plain
        };
        let stream = connector
            .wrap(&self.host, stream)
            .await
            .map_err(|e| anyhow::anyhow!("TLS{how} failed: {e}"))?;
        let origin = http::HeaderValue::from_static(WHATSAPP_WEB_ORIGIN);
        let (ws, _) = tokio_websockets::ClientBuilder::from_uri(self.uri)
            .add_header(http::header::ORIGIN, origin)
            .map_err(|e| anyhow::anyhow!("cannot set the Origin header: {e}"))?
            .connect_on(stream)
            .await
            .map_err(|e| anyhow::anyhow!("WebSocket upgrade{how} failed: {e}"))?;
        Ok(from_websocket(ws))
    }
}

/// A session whose proxy may not be used (a tenant's proxy at an address
/// the outbound policy refuses): every attempt fails with why, and nothing
/// is ever sent directly instead.
pub(crate) struct RefusedTransport(pub ProxyError);

#[async_trait]
impl TransportFactory for RefusedTransport {
    async fn create_transport(&self) -> Result<Opened, anyhow::Error> {
        Err(self.0.clone().into())
    }
}
