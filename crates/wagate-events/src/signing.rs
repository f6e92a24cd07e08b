//! Signing a webhook body, under both schemes a receiver may verify.
//!
//! - OpenWA (the contract): `X-OpenWA-Signature: sha256=<hex HMAC-SHA256 of
//!   the raw body>`, keyed by the secret's bytes.
//! - Standard Webhooks: `webhook-signature: v1,<base64 HMAC-SHA256 of
//!   "{webhook-id}.{webhook-timestamp}.{body}">`. A secret written
//!   `whsec_<base64>` is keyed by the decoded bytes, as that spec says;
//!   any other secret by its own bytes.
//!
//! Kept apart from delivery so the exact bytes signed are easy to audit and
//! test against known vectors.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn hmac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    // HMAC accepts keys of any length; `new_from_slice` cannot fail.
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().to_vec()
}

/// `sha256=<hex>`: the contract's `X-OpenWA-Signature`.
pub fn openwa_signature(secret: &str, body: &[u8]) -> String {
    format!("sha256={}", hex::encode(hmac(secret.as_bytes(), &[body])))
}

/// Plain hex HMAC-SHA256 of the body (seed 002's `X-Wago-Signature`).
pub fn hex_signature(secret: &str, body: &[u8]) -> String {
    hex::encode(hmac(secret.as_bytes(), &[body]))
}

/// The key bytes for the Standard Webhooks scheme.
pub fn standard_key(secret: &str) -> Vec<u8> {
    if let Some(encoded) = secret.strip_prefix("whsec_")
        && let Ok(bytes) = STANDARD.decode(encoded)
    {
        return bytes;
    }
    secret.as_bytes().to_vec()
}

/// `v1,<base64>`: the Standard Webhooks `webhook-signature`.
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    let ts = timestamp.to_string();
    let mac = hmac(
        &standard_key(secret),
        &[id.as_bytes(), b".", ts.as_bytes(), b".", body],
    );
    format!("v1,{}", STANDARD.encode(mac))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn openwa_matches_rfc4231_case_2() {
        // RFC 4231, test case 2: key "Jefe".
        assert_eq!(
            openwa_signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn standard_webhooks_known_vector() {
        // The Standard Webhooks reference libraries' test vector.
        let sig = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn plain_secrets_key_by_their_bytes() {
        assert_eq!(standard_key("not-whsec"), b"not-whsec".to_vec());
        assert_eq!(
            standard_key("whsec_!!notbase64"),
            b"whsec_!!notbase64".to_vec()
        );
    }
}
