//! What an outbound failure is, as a tenant may see it: its class
//! ([`Reason`]), an [`OutboundError`] with a safe message, and
//! [`classify`], which turns a reqwest error into one without ever passing
//! on socket text. The [`Forbidden`] marker lives here because the resolver
//! and the redirect policy raise it and `classify` looks for it.

/// The class of an outbound failure: what a tenant is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// The URL names (or resolves to, or redirects to) an address the policy
    /// forbids.
    ForbiddenAddress,
    /// No answer in time.
    Timeout,
    /// The body is larger than allowed.
    TooLarge,
    /// The server answered with a non-success status.
    HttpStatus,
    /// Not an http(s) URL with a host.
    InvalidUrl,
    /// Nothing could be reached (no such host, connection refused, TLS,
    /// too many redirects, …): deliberately one class, so the answer does
    /// not map ports.
    Unreachable,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::ForbiddenAddress => "forbidden_address",
            Reason::Timeout => "timeout",
            Reason::TooLarge => "too_large",
            Reason::HttpStatus => "http_status",
            Reason::InvalidUrl => "invalid_url",
            Reason::Unreachable => "unreachable",
        }
    }

    /// Whether the same request may work later.
    pub fn is_transient(self) -> bool {
        matches!(
            self,
            Reason::Timeout | Reason::Unreachable | Reason::HttpStatus
        )
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A failed outbound request, by class, with a message safe to show a
/// tenant (no socket text, no resolved address).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct OutboundError {
    pub reason: Reason,
    /// `http_status`: the status the server answered.
    pub status: Option<u16>,
    /// `too_large`: how many bytes had arrived (or were announced).
    pub size: Option<u64>,
    pub message: String,
}

impl OutboundError {
    fn new(reason: Reason, message: impl Into<String>) -> Self {
        OutboundError {
            reason,
            status: None,
            size: None,
            message: message.into(),
        }
    }

    pub fn forbidden() -> Self {
        Self::new(
            Reason::ForbiddenAddress,
            "the URL points to a loopback, private, link-local or otherwise internal address",
        )
    }

    pub fn timeout() -> Self {
        Self::new(Reason::Timeout, "the server did not answer in time")
    }

    pub fn too_large(size: u64, cap: u64) -> Self {
        OutboundError {
            size: Some(size),
            ..Self::new(
                Reason::TooLarge,
                format!("the body is larger than the limit of {cap} bytes"),
            )
        }
    }

    pub fn http_status(status: u16) -> Self {
        OutboundError {
            status: Some(status),
            ..Self::new(
                Reason::HttpStatus,
                format!("the server answered HTTP {status}"),
            )
        }
    }

    pub fn invalid_url(why: &str) -> Self {
        Self::new(Reason::InvalidUrl, why)
    }

    pub fn unreachable() -> Self {
        Self::new(Reason::Unreachable, "the server could not be reached")
    }
}

/// The marker error the resolver and the redirect policy raise; found again
/// in reqwest's error chain by [`classify`].
#[derive(Debug, thiserror::Error)]
#[error("wagate-outbound: forbidden address")]
pub(crate) struct Forbidden;

/// The class of a reqwest failure, never its text.
pub fn classify(e: &reqwest::Error) -> OutboundError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    let mut timed_out = e.is_timeout();
    while let Some(err) = source {
        if err.is::<Forbidden>() || err.to_string().contains("wagate-outbound: forbidden") {
            return OutboundError::forbidden();
        }
        if let Some(io) = err.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            timed_out = true;
        }
        source = err.source();
    }
    if timed_out {
        OutboundError::timeout()
    } else {
        OutboundError::unreachable()
    }
}
