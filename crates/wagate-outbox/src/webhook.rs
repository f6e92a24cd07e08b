//! The optional status webhook: one POST per settled row, in the
//! background (a 10 s timeout; failures are logged, never retried, never
//! blocking the loop for long). With a secret the body is signed:
//! `X-Wagate-Signature: <hex HMAC-SHA256 of the body>`.

use std::sync::Arc;
use std::time::Duration;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use tokio::sync::Semaphore;

/// At most this many deliveries in flight; the loop waits beyond.
const IN_FLIGHT: u32 = 32;
const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Notifier {
    http: reqwest::Client,
    slots: Arc<Semaphore>,
}

impl Default for Notifier {
    fn default() -> Self {
        Self::new()
    }
}

/// The signature header's value for `body`.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl Notifier {
    pub fn new() -> Notifier {
        Notifier {
            http: reqwest::Client::builder()
                .timeout(TIMEOUT)
                .build()
                .unwrap_or_default(),
            slots: Arc::new(Semaphore::new(IN_FLIGHT as usize)),
        }
    }

    /// Posts `payload` to `url` in the background.
    pub async fn notify(&self, url: &str, secret: Option<&str>, payload: Value) {
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let body = serde_json::to_vec(&payload).unwrap_or_default();
        let mut req = self
            .http
            .post(url)
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
                Err(e) => tracing::warn!(%url, error = %e, "status webhook failed"),
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
