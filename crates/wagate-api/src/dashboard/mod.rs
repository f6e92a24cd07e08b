//! The web dashboard, served by the binary at `/dashboard` (`/` redirects
//! there).
//!
//! Everything it needs is embedded at compile time (`assets/dashboard/`:
//! one HTML shell, plain ES modules (`app.js`, and `warming.js` for the
//! Warming screen), one stylesheet): no CDN, no fonts,
//! no build step. The page is a client of the public API: it logs in
//! through `POST /api/auth/login` (see [`crate::login`]), then calls `/api`
//! with the session cookie and follows `/api/events` (SSE) for live
//! updates. The HTML never contains data: the script renders everything
//! with `textContent`, so a push name of `<script>` stays text. Every
//! answer carries a strict Content-Security-Policy (scripts and styles from
//! this origin only, no inline script), `X-Frame-Options: DENY` and
//! `nosniff`. Without operator credentials configured the dashboard is a
//! page that says how to enable it.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::state::AppState;

const INDEX: &str = include_str!("../../assets/dashboard/index.html");
const DISABLED: &str = include_str!("../../assets/dashboard/disabled.html");
const APP_JS: &str = include_str!("../../assets/dashboard/app.js");
const WARMING_JS: &str = include_str!("../../assets/dashboard/warming.js");
const APP_CSS: &str = include_str!("../../assets/dashboard/app.css");
const ICON: &str = include_str!("../../assets/dashboard/icon.svg");

/// The Content-Security-Policy of every dashboard answer.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
    img-src 'self' data: blob:; media-src 'self' blob:; connect-src 'self'; \
    font-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; \
    frame-ancestors 'none'";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { Redirect::to("/dashboard") }))
        .route("/dashboard", get(index))
        .route("/dashboard/", get(index))
        .route(
            "/dashboard/app.js",
            get(|| async { asset("text/javascript; charset=utf-8", APP_JS) }),
        )
        .route(
            "/dashboard/warming.js",
            get(|| async { asset("text/javascript; charset=utf-8", WARMING_JS) }),
        )
        .route(
            "/dashboard/app.css",
            get(|| async { asset("text/css; charset=utf-8", APP_CSS) }),
        )
        .route(
            "/dashboard/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}

async fn index(State(state): State<AppState>) -> Response {
    if state.config.dashboard.is_some() {
        asset("text/html; charset=utf-8", INDEX)
    } else {
        let mut r = asset("text/html; charset=utf-8", DISABLED);
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        r
    }
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut r = body.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r
}
