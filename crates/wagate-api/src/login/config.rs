//! The dashboard login's settings (`DASHBOARD_*`, `JWT_*`) and the
//! operator's password check.
//!
//! A component: [`crate::state::ApiConfig`] holds a [`DashboardConfig`], so
//! this file imports neither the state nor the routes.

use std::time::Duration;

use crate::secret::same_secret;

/// How the operator's password is given.
#[derive(Clone)]
pub enum PasswordCheck {
    Plain(String),
    /// A PHC string (`$argon2id$v=19$…`).
    Argon2(String),
}

impl std::fmt::Debug for PasswordCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PasswordCheck::Plain(_) => f.write_str("Plain(<hidden>)"),
            PasswordCheck::Argon2(_) => f.write_str("Argon2(<hidden>)"),
        }
    }
}

impl PasswordCheck {
    /// A value from the environment: an argon2 PHC string is a hash,
    /// anything else the password itself.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value.starts_with("$argon2") {
            argon2::PasswordHash::new(value).map_err(|e| {
                format!("DASHBOARD_PASSWORD looks like an argon2 hash but is not one ({e})")
            })?;
            Ok(PasswordCheck::Argon2(value.to_string()))
        } else {
            Ok(PasswordCheck::Plain(value.to_string()))
        }
    }

    pub(super) fn verify(&self, given: &str) -> bool {
        match self {
            PasswordCheck::Plain(p) => same_secret(p, given),
            PasswordCheck::Argon2(hash) => {
                use argon2::PasswordVerifier;
                match argon2::PasswordHash::new(hash) {
                    Ok(parsed) => argon2::Argon2::default()
                        .verify_password(given.as_bytes(), &parsed)
                        .is_ok(),
                    Err(_) => false,
                }
            }
        }
    }
}

/// `DASHBOARD_*` / `JWT_*` settings; absent when no operator credentials
/// are configured (then the dashboard only says how to enable it).
#[derive(Clone, Debug)]
pub struct DashboardConfig {
    pub username: String,
    pub password: PasswordCheck,
    pub jwt_secret: Vec<u8>,
    pub token_ttl: Duration,
    /// Always mark the cookie `Secure` (it is also when the request came
    /// through a proxy that says `X-Forwarded-Proto: https`).
    pub secure_cookie: bool,
}
