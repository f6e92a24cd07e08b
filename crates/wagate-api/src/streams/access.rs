//! Admitting a stream and checking its key again: the key a request
//! presented ([`StreamKey`]), the slot and key check a stream takes before
//! it upgrades ([`admit`]), and [`KeyCheck::still_valid`].
//!
//! The HTTP face of the streams: it takes the [`AppState`] and
//! authenticates through [`crate::auth`]; the registry it fills never
//! imports either.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use wagate_core::ErrorCode;

use super::registry::StreamSlot;
use crate::auth::{authenticate, presented_key};
use crate::error::ApiError;
use crate::state::AppState;

/// The key a stream was opened with, to check again later.
#[derive(Clone)]
pub struct KeyCheck {
    state: AppState,
    key: Option<String>,
}

impl KeyCheck {
    pub fn new(state: &AppState, key: Option<String>) -> Self {
        KeyCheck {
            state: state.clone(),
            key,
        }
    }

    /// Whether the key still authenticates. A store error counts as valid:
    /// a database hiccup should not drop every stream.
    pub async fn still_valid(&self) -> bool {
        match authenticate(&self.state, self.key.clone()).await {
            Ok(_) => true,
            Err(e) => e.code != ErrorCode::Unauthorized,
        }
    }
}

/// The API key a request presented (already authenticated by `Auth`), kept
/// by a stream to check it again later.
pub struct StreamKey(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for StreamKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(StreamKey(presented_key(parts)))
    }
}

/// A stream's slot and key check, taken before the upgrade.
pub fn admit(
    state: &AppState,
    tenant: &str,
    key: Option<String>,
) -> Result<(StreamSlot, KeyCheck), ApiError> {
    let slot = state
        .streams
        .open(tenant, state.config.streams_max_per_tenant)?;
    Ok((slot, KeyCheck::new(state, key)))
}
