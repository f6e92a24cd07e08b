//! Why a session cannot reach WhatsApp, said on the session instead of
//! only in the log.
//!
//! whatsapp-rust retries a failed connect by itself (Fibonacci backoff,
//! 1 s … 15 min, ±10 %) and only logs the cause. Two thin wrappers around
//! what the engine is given let the session see each attempt:
//! - [`WatchedTransport`] around the WebSocket transport factory: every
//!   `create_transport` is one attempt; its error names DNS, a refused
//!   connection, TLS, a timeout;
//! - [`WatchedHttp`] around the HTTP client: a failed fetch of the current
//!   WhatsApp Web version (`web.whatsapp.com/sw.js`) is a failed attempt
//!   too (`WA_VERSION` pins the version and skips it).
//!
//! Through a proxy, the proxy's own failures come first: unreachable,
//! refused credentials, or a proxy that would not connect onwards
//! (`proxy_unreachable`, `proxy_auth_failed`, `proxy_refused`).
//!
//! An attempt whose transport opened but that was followed by another
//! attempt with no sign of life from the engine in between (no QR, no
//! pairing, no `Connected`) failed in WhatsApp's own handshake.
//!
//! The session then stands CONNECTING with a `statusReason` naming the
//! cause, `lastError` (one line) and `nextRetryAt` (the engine's own
//! schedule, computed the same way); a `session.status` event goes out when
//! the cause changes. Any sign of life clears all three.

use std::sync::Weak;

use async_trait::async_trait;
use whatsapp_rust::transport::{Transport, TransportEvent, TransportFactory};
use whatsapp_rust::wacore::net::{HttpClient, HttpRequest, HttpResponse, StreamingHttpResponse};

use super::*;

/// The URL whatsapp-rust fetches the current WhatsApp Web version from.
const VERSION_URL: &str = "https://web.whatsapp.com/sw.js";
/// The engine's longest wait between attempts (WhatsApp Web's 900 s).
const MAX_BACKOFF_MS: i64 = 900_000;

/// What the session knows of its current run of connect attempts.
#[derive(Debug, Default)]
pub(crate) struct Attempts {
    /// Failed attempts since the last sign of life.
    failures: u32,
    /// The latest attempt's transport opened.
    transport_opened: bool,
    /// The engine showed life since the latest attempt began.
    progressed: bool,
}

/// The engine's wait after `failures` failed attempts in a row (without its
/// ±10 % jitter): 1 s, 1 s, 2 s, 3 s, 5 s, … up to 15 min.
pub(crate) fn backoff_ms(failures: u32) -> i64 {
    let (mut a, mut b) = (1000i64, 1000i64);
    for _ in 1..failures {
        let next = (a + b).min(MAX_BACKOFF_MS);
        a = b;
        b = next;
    }
    a.min(MAX_BACKOFF_MS)
}

/// The cause of a transport failure, from its error chain.
pub(crate) fn transport_cause(e: &anyhow::Error) -> StatusReason {
    if let Some(proxy) = e.downcast_ref::<crate::proxy::ProxyError>() {
        return proxy.reason;
    }
    for cause in e.chain() {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return StatusReason::ConnectionRefused,
                TimedOut => return StatusReason::ConnectTimeout,
                _ => {}
            }
        }
    }
    let text = format!("{e:#}").to_ascii_lowercase();
    if text.contains("connection refused") {
        StatusReason::ConnectionRefused
    } else if text.contains("lookup")
        || text.contains("resolve")
        || text.contains("name or service not known")
        || text.contains("no address")
        || text.contains("dns")
    {
        StatusReason::DnsFailed
    } else if text.contains("tls") || text.contains("certificate") || text.contains("handshake") {
        StatusReason::TlsFailed
    } else if text.contains("timed out") || text.contains("timeout") {
        StatusReason::ConnectTimeout
    } else {
        StatusReason::NetworkUnreachable
    }
}

/// One line for `lastError`: the cause and the error's own words (the
/// server is the operator's, so its address may show).
fn one_line(e: &anyhow::Error) -> String {
    let text = format!("{e:#}");
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(300).collect()
}

impl Session {
    /// An attempt begins; if the previous one opened its transport and the
    /// engine showed no life since, that one failed in the handshake.
    pub(crate) async fn connect_attempt(&self, generation: u64) {
        let handshake_failed = {
            let mut a = self.attempts_lock();
            let failed = a.transport_opened && !a.progressed;
            a.transport_opened = false;
            a.progressed = false;
            failed
        };
        if handshake_failed {
            self.connect_failed(
                generation,
                StatusReason::HandshakeFailed,
                "the server accepted the connection but the WhatsApp handshake did not complete"
                    .to_string(),
            )
            .await;
        }
    }

    pub(crate) fn transport_opened(&self) {
        self.attempts_lock().transport_opened = true;
    }

    /// The engine showed life (a QR code, pairing, a connection): the
    /// failures are over.
    pub(crate) fn connect_progressed(&self) {
        let mut a = self.attempts_lock();
        a.failures = 0;
        a.progressed = true;
    }

    /// An attempt failed for `cause`: the session says so and when the next
    /// one comes.
    pub(crate) async fn connect_failed(&self, generation: u64, cause: StatusReason, error: String) {
        if !self.is_generation(generation) {
            return;
        }
        let failures = {
            let mut a = self.attempts_lock();
            a.failures += 1;
            a.transport_opened = false;
            a.failures
        };
        {
            let mut s = self.lock_state();
            // A banned or stopped session is not "connecting".
            if matches!(s.status, SessionStatus::Error | SessionStatus::Disconnected) {
                return;
            }
            s.last_error = Some(error.clone());
            s.next_retry_at_ms = Some(now_ms() + backoff_ms(failures));
        }
        warn!(session = %self.id, reason = cause.as_str(), "cannot reach WhatsApp: {error}");
        self.set_status(SessionStatus::Connecting, Some(cause))
            .await;
    }

    fn attempts_lock(&self) -> std::sync::MutexGuard<'_, Attempts> {
        self.attempts.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The WebSocket transport factory, reporting each attempt to its session.
pub(crate) struct WatchedTransport {
    pub inner: Box<dyn TransportFactory>,
    pub session: Weak<Session>,
    pub generation: u64,
}

#[async_trait]
impl TransportFactory for WatchedTransport {
    async fn create_transport(
        &self,
    ) -> Result<(Arc<dyn Transport>, async_channel::Receiver<TransportEvent>), anyhow::Error> {
        if let Some(s) = self.session.upgrade() {
            s.connect_attempt(self.generation).await;
        }
        let result = self.inner.create_transport().await;
        if let Some(s) = self.session.upgrade() {
            match &result {
                Ok(_) => s.transport_opened(),
                Err(e) => {
                    let cause = transport_cause(e);
                    let what = if e.downcast_ref::<crate::proxy::ProxyError>().is_some() {
                        "cannot open the WebSocket to WhatsApp through the proxy"
                    } else {
                        "cannot open the WebSocket to WhatsApp"
                    };
                    s.connect_failed(self.generation, cause, format!("{what}: {}", one_line(e)))
                        .await;
                }
            }
        }
        result
    }
}

/// The HTTP client, reporting a failed WhatsApp Web version fetch.
pub(crate) struct WatchedHttp {
    pub inner: GatewayHttpClient,
    /// Through a proxy: a fetch that cannot connect is the proxy's failure.
    pub proxied: bool,
    pub session: Weak<Session>,
    pub generation: u64,
}

#[async_trait]
impl HttpClient for WatchedHttp {
    async fn execute(&self, request: HttpRequest) -> anyhow::Result<HttpResponse> {
        let is_version = request.url.starts_with(VERSION_URL);
        let result = self.inner.execute(request).await;
        if is_version && let Some(s) = self.session.upgrade() {
            let failure = match &result {
                Err(e) => Some(one_line(e)),
                Ok(r) if !(200..300).contains(&r.status_code) => {
                    Some(format!("web.whatsapp.com answered HTTP {}", r.status_code))
                }
                Ok(_) => None,
            };
            let through_proxy = self.proxied
                && result
                    .as_ref()
                    .err()
                    .and_then(|e| e.downcast_ref::<reqwest::Error>())
                    .is_some_and(|e| e.is_connect());
            if let (Some(why), true) = (&failure, through_proxy) {
                s.connect_failed(
                    self.generation,
                    StatusReason::ProxyUnreachable,
                    format!(
                        "cannot fetch the current WhatsApp Web version through the proxy ({why})"
                    ),
                )
                .await;
            } else if let Some(why) = failure {
                s.connect_failed(
                    self.generation,
                    StatusReason::VersionFetchFailed,
                    format!(
                        "cannot fetch the current WhatsApp Web version ({why}); set WA_VERSION to skip this fetch"
                    ),
                )
                .await;
            }
        }
        result
    }

    fn supports_streaming(&self) -> bool {
        self.inner.supports_streaming()
    }

    fn execute_streaming(&self, request: HttpRequest) -> anyhow::Result<StreamingHttpResponse> {
        self.inner.execute_streaming(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_is_the_engines() {
        let waits: Vec<i64> = (1..=8).map(backoff_ms).collect();
        assert_eq!(waits, [1000, 1000, 2000, 3000, 5000, 8000, 13000, 21000]);
        assert_eq!(backoff_ms(60), MAX_BACKOFF_MS);
    }

    #[test]
    fn transport_errors_name_their_cause() {
        let refused =
            anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(transport_cause(&refused), StatusReason::ConnectionRefused);
        let dns =
            anyhow::anyhow!("failed to lookup address information: Name or service not known");
        assert_eq!(transport_cause(&dns), StatusReason::DnsFailed);
        let tls = anyhow::anyhow!("TLS error: invalid peer certificate: UnknownIssuer");
        assert_eq!(transport_cause(&tls), StatusReason::TlsFailed);
        let other = anyhow::anyhow!("Connection reset by peer");
        assert_eq!(transport_cause(&other), StatusReason::NetworkUnreachable);
    }
}
