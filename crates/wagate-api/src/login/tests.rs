#![cfg(test)]
//! Unit tests of the parent module.

use std::time::Duration;

use wagate_store::app::Principal;

use super::config::{DashboardConfig, PasswordCheck};
use super::guard::{LoginGuard, MAX_FAILURES};
use super::token::{looks_like_jwt, new_claims, sign, verify};

fn cfg() -> DashboardConfig {
    DashboardConfig {
        username: "op".into(),
        password: PasswordCheck::Plain("pw".into()),
        jwt_secret: b"secret-secret-secret".to_vec(),
        token_ttl: Duration::from_secs(60),
        secure_cookie: false,
    }
}

#[test]
fn a_signed_token_verifies_and_a_tampered_one_does_not() {
    let cfg = cfg();
    let claims = new_claims(&cfg, &Principal::admin(), "op".into(), None);
    let token = sign(&cfg, &claims).unwrap();
    assert!(looks_like_jwt(&token));
    assert!(verify(&cfg, &token).is_some_and(|c| c.adm));
    let mut tampered = token.clone();
    tampered.pop();
    tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert!(verify(&cfg, &tampered).is_none());
    let other = DashboardConfig {
        jwt_secret: b"another".to_vec(),
        ..cfg.clone()
    };
    assert!(verify(&other, &token).is_none());
}

#[test]
fn an_expired_token_is_refused() {
    let cfg = cfg();
    let mut claims = new_claims(&cfg, &Principal::admin(), "op".into(), None);
    claims.exp = claims.iat - 10;
    let token = sign(&cfg, &claims).unwrap();
    assert!(verify(&cfg, &token).is_none());
}

#[test]
fn argon2_hashes_and_plain_passwords_verify() {
    use argon2::PasswordHasher;
    let salt = argon2::password_hash::SaltString::from_b64("c2FsdHNhbHRzYWx0").unwrap();
    let hash = argon2::Argon2::default()
        .hash_password(b"s3cret", &salt)
        .unwrap()
        .to_string();
    let check = PasswordCheck::parse(&hash).unwrap();
    assert!(matches!(check, PasswordCheck::Argon2(_)));
    assert!(check.verify("s3cret"));
    assert!(!check.verify("wrong"));
    assert!(PasswordCheck::parse("$argon2id$!!").is_err());
    assert!(PasswordCheck::parse("plain").unwrap().verify("plain"));
}

#[test]
fn failures_block_after_the_limit() {
    let guard = LoginGuard::default();
    for _ in 0..MAX_FAILURES {
        assert!(!guard.blocked("op"));
        guard.failed("op");
    }
    assert!(guard.blocked("op"));
    assert!(!guard.blocked("other"));
}
