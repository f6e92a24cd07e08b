//! A byte stream to a destination, opened through a proxy: SOCKS5 with
//! `tokio-socks` (user name and password per RFC 1929), or an HTTP CONNECT
//! tunnel with hyper's own client and upgrade, so no proxy protocol is
//! written here. The gateway connects to the proxy itself first, so a
//! failure says whether the proxy could not be reached, refused the login
//! or would not connect onwards: a [`ProxyError`] naming its cause as a
//! [`StatusReason`] and quoting the proxy only masked.

use std::time::Duration;

use base64::Engine as _;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use wagate_core::{ProxyScheme, ProxyUrl, StatusReason};

/// How long reaching the proxy may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the whole proxy handshake (connect, login, the tunnel) may
/// take: a proxy that accepts and then says nothing must not hang an
/// attempt.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(20);

/// A stream through a proxy (a SOCKS5 socket or an upgraded CONNECT).
pub trait Tunnelled: AsyncRead + AsyncWrite + Send + Unpin + 'static {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Tunnelled for T {}

/// Why a connection through a proxy failed (no password in it).
#[derive(Debug, Clone)]
pub struct ProxyError {
    pub reason: StatusReason,
    pub message: String,
}

impl std::fmt::Display for ProxyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ProxyError {}

impl ProxyError {
    pub(crate) fn new(reason: StatusReason, message: impl Into<String>) -> ProxyError {
        ProxyError {
            reason,
            message: message.into(),
        }
    }
}

/// Opens a stream to `host:port` through `proxy`. With `socks5://` the
/// name is resolved here first; `socks5h://` and `http://` hand the name
/// to the proxy.
pub async fn open(
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
) -> Result<Box<dyn Tunnelled>, ProxyError> {
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, open_inner(proxy, host, port)).await {
        Ok(result) => result,
        Err(_) => Err(ProxyError::new(
            StatusReason::ProxyUnreachable,
            format!("the proxy {proxy} did not answer in time"),
        )),
    }
}

async fn open_inner(
    proxy: &ProxyUrl,
    host: &str,
    port: u16,
) -> Result<Box<dyn Tunnelled>, ProxyError> {
    let socket = reach(proxy).await?;
    match proxy.scheme() {
        ProxyScheme::Socks5 => {
            let target = resolve(host, port).await?;
            socks5(proxy, socket, target).await
        }
        ProxyScheme::Socks5h => socks5(proxy, socket, (host.to_string(), port)).await,
        ProxyScheme::Http => connect_tunnel(proxy, socket, host, port).await,
    }
}

/// The TCP connection to the proxy itself.
async fn reach(proxy: &ProxyUrl) -> Result<TcpStream, ProxyError> {
    let addr = (proxy.bare_host(), proxy.port());
    match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
        Ok(Ok(socket)) => {
            let _ = socket.set_nodelay(true);
            Ok(socket)
        }
        Ok(Err(e)) => Err(ProxyError::new(
            StatusReason::ProxyUnreachable,
            format!("cannot reach the proxy {proxy}: {e}"),
        )),
        Err(_) => Err(ProxyError::new(
            StatusReason::ProxyUnreachable,
            format!("cannot reach the proxy {proxy}: timed out"),
        )),
    }
}

async fn socks5<'t>(
    proxy: &ProxyUrl,
    socket: TcpStream,
    target: impl tokio_socks::IntoTargetAddr<'t>,
) -> Result<Box<dyn Tunnelled>, ProxyError> {
    use tokio_socks::tcp::Socks5Stream;
    let stream = match proxy.credentials() {
        Some((user, pass)) => {
            Socks5Stream::connect_with_password_and_socket(socket, target, &user, &pass).await
        }
        None => Socks5Stream::connect_with_socket(socket, target).await,
    };
    match stream {
        Ok(stream) => Ok(Box::new(stream.into_inner())),
        Err(e) => Err(socks_error(proxy, e)),
    }
}

fn socks_error(proxy: &ProxyUrl, e: tokio_socks::Error) -> ProxyError {
    use tokio_socks::Error as E;
    let reason = match &e {
        E::PasswordAuthFailure(_)
        | E::NoAcceptableAuthMethods
        | E::AuthorizationRequired
        | E::InvalidAuthValues(_) => StatusReason::ProxyAuthFailed,
        E::Io(_) | E::ProxyServerUnreachable => StatusReason::ProxyUnreachable,
        _ => StatusReason::ProxyRefused,
    };
    let what = match reason {
        StatusReason::ProxyAuthFailed => "refused the login",
        StatusReason::ProxyUnreachable => "dropped the connection",
        _ => "would not connect to WhatsApp",
    };
    ProxyError::new(reason, format!("the proxy {proxy} {what}: {e}"))
}

/// `socks5://`: the destination's name resolved here.
async fn resolve(host: &str, port: u16) -> Result<std::net::SocketAddr, ProxyError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, port));
    }
    let mut addrs = tokio::net::lookup_host((bare, port)).await.map_err(|e| {
        ProxyError::new(
            StatusReason::DnsFailed,
            format!("cannot resolve {bare}: {e}"),
        )
    })?;
    addrs
        .next()
        .ok_or_else(|| ProxyError::new(StatusReason::DnsFailed, format!("{bare} has no address")))
}

/// An HTTP proxy: `CONNECT host:port` with hyper's client, then the
/// upgraded connection is the tunnel.
async fn connect_tunnel(
    proxy: &ProxyUrl,
    socket: TcpStream,
    host: &str,
    port: u16,
) -> Result<Box<dyn Tunnelled>, ProxyError> {
    let failed = |reason, why: String| ProxyError::new(reason, format!("the proxy {proxy} {why}"));
    let authority = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    };
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(socket))
        .await
        .map_err(|e| failed(StatusReason::ProxyUnreachable, format!("failed: {e}")))?;
    tokio::spawn(async move {
        let _ = conn.with_upgrades().await;
    });
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(authority.as_str())
        .header(http::header::HOST, authority.as_str());
    if let Some((user, pass)) = proxy.credentials() {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
        let mut value = http::HeaderValue::from_str(&format!("Basic {token}")).map_err(|_| {
            failed(
                StatusReason::ProxyAuthFailed,
                "cannot be sent these credentials".into(),
            )
        })?;
        value.set_sensitive(true);
        request = request.header(http::header::PROXY_AUTHORIZATION, value);
    }
    let request = request
        .body(http_body_util::Empty::<bytes::Bytes>::new())
        .map_err(|e| failed(StatusReason::ProxyRefused, format!("cannot be asked: {e}")))?;
    let response = sender.send_request(request).await.map_err(|e| {
        failed(
            StatusReason::ProxyUnreachable,
            format!("dropped the connection: {e}"),
        )
    })?;
    let status = response.status();
    if status == http::StatusCode::PROXY_AUTHENTICATION_REQUIRED {
        return Err(failed(
            StatusReason::ProxyAuthFailed,
            format!("refused the login (HTTP {})", status.as_u16()),
        ));
    }
    if !status.is_success() {
        return Err(failed(
            StatusReason::ProxyRefused,
            format!("would not connect to WhatsApp (HTTP {})", status.as_u16()),
        ));
    }
    let upgraded = hyper::upgrade::on(response).await.map_err(|e| {
        failed(
            StatusReason::ProxyRefused,
            format!("did not open the tunnel: {e}"),
        )
    })?;
    Ok(Box::new(TokioIo::new(upgraded)))
}
