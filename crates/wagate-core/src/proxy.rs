//! A proxy that a session's WhatsApp traffic goes through: its URL, checked
//! once here, and where a session's proxy came from.
//!
//! A [`ProxyUrl`] is `socks5://`, `socks5h://` (the proxy resolves names)
//! or `http://` (HTTP CONNECT), with a host, a port and optional
//! credentials. Its password is write-only: [`ProxyUrl`]'s `Display` and
//! `Debug` show it as `***` ([`ProxyUrl::masked`]), so neither an answer
//! nor a log line can carry it; only [`ProxyUrl::secret_url`] (to store
//! it) and [`ProxyUrl::credentials`] (to hand to the proxy) give it out.

use percent_encoding::percent_decode_str;

/// Longest accepted proxy URL.
pub const PROXY_URL_MAX_CHARS: usize = 1024;
/// SOCKS5 user names and passwords are at most 255 bytes (RFC 1929).
const CREDENTIAL_MAX_BYTES: usize = 255;

wire_enum! {
    /// How the gateway talks to a proxy.
    pub enum ProxyScheme {
        /// SOCKS5; host names are resolved by the gateway.
        Socks5 => "socks5",
        /// SOCKS5; host names are resolved by the proxy.
        Socks5h => "socks5h",
        /// An HTTP proxy (a CONNECT tunnel for every connection).
        Http => "http",
    }
}

wire_enum! {
    /// Where the proxy a session uses was set.
    pub enum ProxySource {
        /// On the session itself (`proxy` on create or update).
        Session => "session",
        /// Assigned from `PROXY_POOL` when the session was first started.
        Pool => "pool",
        /// `PROXY_URL`, for sessions with neither.
        Default => "default",
    }
}

/// A checked proxy URL (see the module doc).
#[derive(Clone, PartialEq, Eq)]
pub struct ProxyUrl {
    scheme: ProxyScheme,
    /// As in the URL: an IPv6 address keeps its brackets.
    host: String,
    port: u16,
    /// Percent-encoded, as written.
    username: Option<String>,
    password: Option<String>,
}

impl ProxyUrl {
    /// Checks a proxy URL: the scheme, a host, a port (an `http://` proxy
    /// defaults to 80), nothing after the address, and credentials a SOCKS5
    /// proxy can take. The error says what is wrong, without the URL.
    pub fn parse(text: &str) -> Result<ProxyUrl, String> {
        let text = text.trim();
        if text.chars().count() > PROXY_URL_MAX_CHARS {
            return Err(format!("must be at most {PROXY_URL_MAX_CHARS} characters"));
        }
        let url = url::Url::parse(text).map_err(|_| {
            "is not a URL: use socks5://user:pass@host:port, socks5h://… or http://…".to_string()
        })?;
        let scheme = ProxyScheme::parse(url.scheme()).ok_or_else(|| {
            "must start with socks5://, socks5h:// or http:// (https:// proxies are not supported)"
                .to_string()
        })?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or("has no host")?
            .to_string();
        let port = match url.port_or_known_default() {
            Some(0) | None => return Err("needs a port, e.g. socks5://host:1080".to_string()),
            Some(p) => p,
        };
        if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some() {
            return Err("must be only scheme://[user:pass@]host:port".to_string());
        }
        let username = Some(url.username().to_string()).filter(|u| !u.is_empty());
        let password = url.password().map(str::to_string);
        if password.is_some() && username.is_none() {
            return Err("has a password but no user name".to_string());
        }
        let proxy = ProxyUrl {
            scheme,
            host,
            port,
            username,
            password,
        };
        if let Some((user, pass)) = proxy.credentials()
            && (user.len() > CREDENTIAL_MAX_BYTES || pass.len() > CREDENTIAL_MAX_BYTES)
        {
            return Err(format!(
                "user name and password must be at most {CREDENTIAL_MAX_BYTES} bytes each"
            ));
        }
        Ok(proxy)
    }

    pub fn scheme(&self) -> ProxyScheme {
        self.scheme
    }

    /// The host as written (an IPv6 address in brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The host without IPv6 brackets (to resolve or connect to).
    pub fn bare_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The user name and password, decoded (the password empty when only a
    /// user name was given).
    pub fn credentials(&self) -> Option<(String, String)> {
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let user = self.username.as_deref()?;
        Some((
            decode(user),
            self.password.as_deref().map(decode).unwrap_or_default(),
        ))
    }

    /// The same proxy at another host (an address the host name was pinned
    /// to).
    pub fn with_host(&self, host: String) -> ProxyUrl {
        ProxyUrl {
            host,
            ..self.clone()
        }
    }

    /// The URL with its password shown as `***`: what answers and logs show.
    pub fn masked(&self) -> String {
        self.render(self.password.as_ref().map(|_| "***"))
    }

    /// The whole URL, password included: only to store it and to configure
    /// a client that connects through it. Never log or answer with it.
    pub fn secret_url(&self) -> String {
        self.render(self.password.as_deref())
    }

    fn render(&self, password: Option<&str>) -> String {
        let userinfo = match (&self.username, password) {
            (Some(u), Some(p)) => format!("{u}:{p}@"),
            (Some(u), None) => format!("{u}@"),
            _ => String::new(),
        };
        format!("{}://{userinfo}{}:{}", self.scheme, self.host, self.port)
    }
}

impl std::fmt::Display for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.masked())
    }
}

impl std::fmt::Debug for ProxyUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ProxyUrl({})", self.masked())
    }
}

/// `PROXY_POOL`: a comma list of proxy URLs (blank entries skipped); the
/// error names the entry by its position, never its text.
pub fn parse_pool(text: &str) -> Result<Vec<ProxyUrl>, String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .enumerate()
        .map(|(i, s)| ProxyUrl::parse(s).map_err(|e| format!("entry {} {e}", i + 1)))
        .collect()
}

#[cfg(test)]
mod tests;
