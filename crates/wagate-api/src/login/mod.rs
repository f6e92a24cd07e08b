//! Dashboard login: the operator's username and password, or a tenant's
//! API key, exchanged for a signed token.
//!
//! `POST /api/auth/login` answers with an HS256 JWT signed with
//! `JWT_SECRET`. The token works as `Authorization: Bearer` on the whole API
//! with the rights of who logged in (the operator: admin; a tenant: that
//! tenant only, and only while the key it logged in with still exists). The
//! browser gets the same token in an `HttpOnly; SameSite=Strict` cookie; a
//! request authenticated by that cookie that changes state must also carry
//! `X-CSRF-Token` equal to the token's `csrf` claim (double submit: the
//! claim is readable by the page through the login answer and
//! `GET /api/auth/me`, never by another site). Wrong passwords are counted
//! per user name and refused for a minute after [`MAX_FAILURES`]; the log
//! says who failed, never with what.
//!
//! Here, one concern a file: the settings and the password check
//! ([`config`]), the failure counter ([`guard`]) and the token with its
//! cookie and CSRF check ([`token`]) are components, imported by
//! [`crate::state`] and [`crate::auth`] and importing neither; the routes
//! ([`routes`]) are the HTTP face, over the state. Who a token stands for is
//! decided with the other callers, in [`crate::auth::dashboard_principal`].

pub mod config;
pub mod guard;
pub mod routes;
pub mod token;

pub use config::{DashboardConfig, PasswordCheck};
pub use guard::{FAILURE_WINDOW, LoginGuard, MAX_FAILURES};
pub use routes::{LoginRequest, LoginResult, login, logout, me, router};
pub use token::{
    CSRF_HEADER, Claims, SESSION_COOKIE, check_csrf, looks_like_jwt, session_cookie, verify,
};

#[cfg(test)]
mod tests;
