//! Comparing secrets in constant time.
//!
//! A leaf: API keys ([`crate::auth`]), the dashboard's password and CSRF
//! token ([`crate::login`]) and the metrics token ([`crate::metrics`]) are
//! all compared here, so none of them needs to import another for it.

use sha2::{Digest, Sha256};

/// Constant-time comparison through fixed-length digests.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let da = Sha256::digest(a.as_bytes());
    let db = Sha256::digest(b.as_bytes());
    da.iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
    }
}
