//! The optional status webhook: one POST per settled row, in the
//! background (a 10 s timeout; failures are logged, never retried, never
//! blocking the loop for long). With a secret the body is signed:
//! `X-Wagate-Signature: <hex HMAC-SHA256 of the body>`.
//!
//! The URL may be a tenant's (a worker configured through the API), so it
//! goes through the outbound guard (`OUTBOUND_ALLOW_PRIVATE`,
//! `OUTBOUND_ALLOW_HOSTS` in the worker's environment): no internal address,
//! no redirect.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Semaphore;
use wagate_outbound::Outbound;

/// At most this many deliveries in flight; the loop waits beyond.
const IN_FLIGHT: u32 = 32;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Notifier {
    outbound: Outbound,
    slots: Arc<Semaphore>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new(Outbound::default())
    }
}

/// The signature header's value for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl Notifier {
    pub fn new(outbound: Outbound) -> Notifier {
        Notifier {
            outbound,
            slots: Arc::new(Semaphore::new(IN_FLIGHT as usize)),
        }
    }

    /// Posts `payload` to `url` in the background.
    pub async fn notify(&self, url: &str, secret: Option<&str>, payload: Value) {
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        if let Err(e) = self.outbound.policy().check_url(url) {
            tracing::warn!(reason = %e.reason, "status webhook refused: {e}");
            return;
        }
        let mut req = self
            .outbound
            .client_without_redirects()
            .post(url)
            .timeout(TIMEOUT)
            .header("Content-Type", "application/json")
            .header(
                "User-Agent",
                concat!("wagate-worker/", env!("CARGO_PKG_VERSION")),
            );
        if let Some(secret) = secret {
            req = req.header("X-Wagate-Signature", sign(secret, &body));
        }
        let req = req.body(body);
        let url = url.to_string();
        tokio::spawn(async move {
            let _permit = permit;
            match req.send().await {
                Ok(resp) if resp.status().is_success() => {}
                Ok(resp) => {
                    tracing::warn!(%url, status = resp.status().as_u16(), "status webhook refused")
                }
                Err(e) => {
                    let e = wagate_outbound::classify(&e);
                    tracing::warn!(%url, reason = %e.reason, "status webhook failed: {e}")
                }
            }
        });
    }

    /// Waits for deliveries in flight (at most a timeout's worth).
    pub async fn drain(&self) {
        let _ = tokio::time::timeout(
            TIMEOUT + Duration::from_secs(1),
            self.slots.acquire_many(IN_FLIGHT),
        )
        .await;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn signs_like_openssl() {
        // printf 'hello' | openssl dgst -sha256 -hmac key
        assert_eq!(
            super::sign("key", b"hello"),
            "9307b3b915efb5171ff14d8cb55fbcc798c6c0ef1456d66ded1a6aa723a58b7b"
        );
    }
}
