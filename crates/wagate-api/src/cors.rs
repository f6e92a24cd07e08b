//! Cross-origin requests from a browser front end (`CORS_ALLOW_ORIGINS`).
//!
//! Off unless configured. `*` lets any origin call the API with its key in
//! a header, never with cookies; a list of origins (`https://a.example,
//! https://b.example`) lets exactly those call it, credentials included.
//! Preflights are answered before authentication (they carry no key).

use std::time::Duration;

use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, Any, CorsLayer};

/// Which origins may call the API from a browser.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers at all (the default).
    #[default]
    Off,
    /// `*`: any origin, no credentials.
    Any,
    /// These origins only, credentials allowed.
    List(Vec<String>),
}

impl CorsOrigins {
    /// `CORS_ALLOW_ORIGINS`: empty, `*`, or a comma list of origins
    /// (`scheme://host[:port]`, no path).
    pub fn parse(text: &str) -> Result<CorsOrigins, String> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(CorsOrigins::Off);
        }
        if text == "*" {
            return Ok(CorsOrigins::Any);
        }
        let mut origins = Vec::new();
        for o in text.split(',').map(str::trim).filter(|o| !o.is_empty()) {
            let ok = url::Url::parse(o).is_ok_and(|u| {
                matches!(u.scheme(), "http" | "https")
                    && u.host_str().is_some()
                    && u.path() == "/"
                    && !o.ends_with('/')
            });
            if !ok || HeaderValue::from_str(o).is_err() {
                return Err(format!(
                    "CORS_ALLOW_ORIGINS: '{o}' is not an origin (scheme://host[:port], no path), nor *"
                ));
            }
            origins.push(o.to_string());
        }
        Ok(CorsOrigins::List(origins))
    }

    /// The layer, or `None` when off.
    pub fn layer(&self) -> Option<CorsLayer> {
        let base = CorsLayer::new()
            .allow_methods([
                Method::GET,
                Method::POST,
                Method::PUT,
                Method::PATCH,
                Method::DELETE,
                Method::OPTIONS,
            ])
            .expose_headers(EXPOSED.map(HeaderName::from_static))
            .max_age(Duration::from_secs(600));
        match self {
            CorsOrigins::Off => None,
            CorsOrigins::Any => Some(base.allow_origin(Any).allow_headers(Any)),
            CorsOrigins::List(list) => Some(
                base.allow_origin(AllowOrigin::list(
                    list.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
                ))
                .allow_headers(ALLOWED.map(HeaderName::from_static))
                .allow_credentials(true),
            ),
        }
    }
}

/// Request headers a front end may send (with credentials a list is required).
const ALLOWED: [&str; 9] = [
    "content-type",
    "authorization",
    "x-api-key",
    "idempotency-key",
    "x-request-id",
    "x-csrf-token",
    "last-event-id",
    "x-act-as-tenant",
    "accept",
];

/// Response headers a front end may read.
const EXPOSED: [&str; 5] = [
    "x-request-id",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse() {
        assert_eq!(CorsOrigins::parse(""), Ok(CorsOrigins::Off));
        assert_eq!(CorsOrigins::parse(" * "), Ok(CorsOrigins::Any));
        assert_eq!(
            CorsOrigins::parse("https://a.example, http://localhost:5173"),
            Ok(CorsOrigins::List(vec![
                "https://a.example".into(),
                "http://localhost:5173".into()
            ]))
        );
        assert!(CorsOrigins::parse("https://a.example/app").is_err());
        assert!(CorsOrigins::parse("a.example").is_err());
        assert!(CorsOrigins::parse("ftp://a.example").is_err());
    }
}
