//! The session status machine.
//!
//! The engine and the database use the internal names (`initializing`,
//! `qr_ready`, …); the API and webhooks always use the contract's names
//! (`INITIALIZING`, `SCAN_QR`, …). The mapping is exactly the contract's
//! table. A [`StatusReason`] says *why* a session is disconnected or failed,
//! so a banned or logged-out number is visible instead of retried forever.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionStatus {
    Initializing,
    QrReady,
    Connecting,
    Ready,
    Disconnected,
    Error,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 6] = [
        Self::Initializing,
        Self::QrReady,
        Self::Connecting,
        Self::Ready,
        Self::Disconnected,
        Self::Error,
    ];

    /// The internal name, as stored in the database and written to logs.
    pub fn internal(self) -> &'static str {
        match self {
            Self::Initializing => "initializing",
            Self::QrReady => "qr_ready",
            Self::Connecting => "connecting",
            Self::Ready => "ready",
            Self::Disconnected => "disconnected",
            Self::Error => "error",
        }
    }

    /// The name the API and webhooks use.
    pub fn api(self) -> &'static str {
        match self {
            Self::Initializing => "INITIALIZING",
            Self::QrReady => "SCAN_QR",
            Self::Connecting => "CONNECTING",
            Self::Ready => "CONNECTED",
            Self::Disconnected => "DISCONNECTED",
            Self::Error => "FAILED",
        }
    }

    pub fn from_internal(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.internal() == s)
    }

    /// Accepts either naming (API filters are usually written in API names).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|v| v.api().eq_ignore_ascii_case(s) || v.internal().eq_ignore_ascii_case(s))
    }
}

/// Why a session stopped, when it did not stop by itself being asked to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StatusReason {
    /// Stopped through the API.
    Stopped,
    /// The device was unlinked (from the phone or through the API).
    LoggedOut,
    /// WhatsApp refused the number (temporary or permanent ban).
    Banned,
    /// QR codes ran out with nobody waiting for one.
    QrExpired,
    /// The engine failed in a way retrying will not fix.
    Fatal,
    // Why a session cannot reach WhatsApp (it keeps trying; the session
    // says when next, see `nextRetryAt`):
    /// The server's name does not resolve.
    DnsFailed,
    /// Nothing listens at the server's address.
    ConnectionRefused,
    /// No route, a reset, or another network failure.
    NetworkUnreachable,
    /// The TLS handshake with the server failed (a certificate, a proxy
    /// that intercepts TLS).
    TlsFailed,
    /// The server did not answer in time.
    ConnectTimeout,
    /// The current WhatsApp Web version could not be fetched
    /// (`WA_VERSION` pins it and skips the fetch).
    VersionFetchFailed,
    /// The server answered but WhatsApp's own handshake failed.
    HandshakeFailed,
    // Why a session cannot reach WhatsApp through its proxy:
    /// The session's proxy cannot be reached (nothing listens there, no
    /// route, a timeout, its name does not resolve).
    ProxyUnreachable,
    /// The proxy refused the session's user name and password (or asks
    /// for credentials the session does not have).
    ProxyAuthFailed,
    /// The proxy answered but would not open the connection to WhatsApp
    /// (its rules, or it cannot reach the server itself).
    ProxyRefused,
}

impl StatusReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::LoggedOut => "logged_out",
            Self::Banned => "banned",
            Self::QrExpired => "qr_expired",
            Self::Fatal => "fatal",
            Self::DnsFailed => "dns_failed",
            Self::ConnectionRefused => "connection_refused",
            Self::NetworkUnreachable => "network_unreachable",
            Self::TlsFailed => "tls_failed",
            Self::ConnectTimeout => "connect_timeout",
            Self::VersionFetchFailed => "version_fetch_failed",
            Self::HandshakeFailed => "handshake_failed",
            Self::ProxyUnreachable => "proxy_unreachable",
            Self::ProxyAuthFailed => "proxy_auth_failed",
            Self::ProxyRefused => "proxy_refused",
        }
    }

    pub const ALL: [StatusReason; 15] = [
        Self::Stopped,
        Self::LoggedOut,
        Self::Banned,
        Self::QrExpired,
        Self::Fatal,
        Self::DnsFailed,
        Self::ConnectionRefused,
        Self::NetworkUnreachable,
        Self::TlsFailed,
        Self::ConnectTimeout,
        Self::VersionFetchFailed,
        Self::HandshakeFailed,
        Self::ProxyUnreachable,
        Self::ProxyAuthFailed,
        Self::ProxyRefused,
    ];

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Whether this says why WhatsApp cannot be reached (the session keeps
    /// trying by itself).
    pub fn is_connection_problem(self) -> bool {
        matches!(
            self,
            Self::DnsFailed
                | Self::ConnectionRefused
                | Self::NetworkUnreachable
                | Self::TlsFailed
                | Self::ConnectTimeout
                | Self::VersionFetchFailed
                | Self::HandshakeFailed
                | Self::ProxyUnreachable
                | Self::ProxyAuthFailed
                | Self::ProxyRefused
        )
    }

    /// What an operator can do about a connection problem.
    pub fn hint(self) -> Option<&'static str> {
        Some(match self {
            Self::DnsFailed => "check the machine's DNS and WA_SERVER_URL",
            Self::ConnectionRefused => "check WA_SERVER_URL: nothing listens there",
            Self::NetworkUnreachable => "check the machine's network and firewall",
            Self::TlsFailed => "check for a proxy or firewall that intercepts TLS",
            Self::ConnectTimeout => "check the machine's network and firewall",
            Self::VersionFetchFailed => {
                "web.whatsapp.com could not be reached for the current version; setting WA_VERSION (e.g. 2.3000.1023456789) avoids this fetch"
            }
            Self::HandshakeFailed => {
                "the server answered but refused the connection; it is retried"
            }
            Self::ProxyUnreachable => {
                "check the session's proxy (or PROXY_URL / PROXY_POOL): nothing answers at its address"
            }
            Self::ProxyAuthFailed => "check the user name and password in the session's proxy URL",
            Self::ProxyRefused => {
                "the proxy would not connect to WhatsApp: check its rules and its own network"
            }
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapping_is_the_contracts_table() {
        let table = [
            ("initializing", "INITIALIZING"),
            ("qr_ready", "SCAN_QR"),
            ("connecting", "CONNECTING"),
            ("ready", "CONNECTED"),
            ("disconnected", "DISCONNECTED"),
            ("error", "FAILED"),
        ];
        for (internal, api) in table {
            let s = SessionStatus::from_internal(internal).unwrap();
            assert_eq!(s.api(), api);
            assert_eq!(SessionStatus::parse(api), Some(s));
        }
    }
}
