//! API rate limiting: requests per minute, per tenant and per category
//! (contract §6.6).
//!
//! | Category | Default | Requests |
//! |---|---|---|
//! | session management | 10/min (`RATE_LIMIT_SESSION_PER_MIN`) | every non-GET on `/api/sessions` and `/api/sessions/{id}` (create, update, delete), the lifecycle actions (`start`, `stop`, `restart`, `logout`, `pair-code`), the session's own settings (`…/pacing`, `…/profile-picture`), any other non-GET on a session not listed below, the tenant administration routes (`/api/tenants…`) and every other non-GET (e.g. `/api/outbox/workers`) |
//! | send message | 60/min (`RATE_LIMIT_SEND_PER_MIN`) | every non-GET under `/api/sessions/{id}/messages/` (`send-*` including `send-bulk` and `send-otp`, `react`, `edit`, `revoke`, `DELETE …/messages/{messageId}` — each puts a message on the wire — and a batch's `cancel`), cancelling a queued send (`DELETE …/queue/{queueId}`), and the other non-GETs that make the number act on WhatsApp: groups (create, join, participants, subject, description, invite revoke, leave), presence, chat state, mark read, and contact actions other than the check |
//! | read operations | 120/min (`RATE_LIMIT_READ_PER_MIN`) | every `GET`/`HEAD` (including `GET …/qr`, webhook and delivery listings), and `POST …/contacts/check`, a lookup that changes nothing |
//! | webhook management | 10/min (`RATE_LIMIT_WEBHOOK_PER_MIN`) | every non-GET under `/api/webhooks` or `/api/sessions/{id}/webhooks` (create, update, delete, redeliver, replay) |
//!
//! Not limited: `/health`, the docs (`/api/docs…`), and the long-lived
//! streams (`GET /api/events`, `GET /api/sessions/{id}/events`,
//! `GET /api/listen/{id}`, `/ws`) — a stream is one connection, not a stream
//! of requests, and a client whose read budget is spent must still be able
//! to reconnect the feed that saves it from polling.
//!
//! **Algorithm**: a fixed window per (tenant, category). The window opens
//! with the tenant's first request in that category and lasts 60 seconds;
//! it admits `limit` requests, and the next request after it closes opens a
//! new one. So the headers are exact: `X-RateLimit-Limit` is the limit,
//! `X-RateLimit-Remaining` how many more this window admits, and
//! `X-RateLimit-Reset` the unix second at which it closes. They are on every
//! response of a limited category, success or error; a request over the
//! limit is not counted and answers 429 `RATE_LIMITED` in the error envelope
//! with `Retry-After` (seconds). Windows live in memory (one gateway
//! process); idle ones are pruned once a minute.
//!
//! **Who is counted**: the tenant of the presented key. A request without a
//! valid key is not counted (it gets its 401 from the handler, as before).
//! The admin key (`API_KEY`) is exempt unless `RATE_LIMIT_ADMIN=true`: it is
//! the operator's own key, and scripts, tests and benchmarks drive hundreds
//! of requests a minute with it; with `RATE_LIMIT_ADMIN=true` it counts as
//! the admin tenant (`tnt_admin`).
//!
//! **Per tenant**: `PUT /api/tenants/{id}/rate-limits` (admin) sets a
//! tenant's own limits per category (`null` keeps the server default, `0`
//! turns the category off for that tenant). They are cached here for a
//! minute and dropped from the cache when changed through the API.
//!
//! Here: the limiter itself ([`limiter`]: [`classify`], [`RateLimiter`]),
//! pure and testable without HTTP, a component the state holds; the
//! [`middleware()`] applies it to requests (the HTTP face, over the state);
//! the per-tenant routes are `routes::tenant_rate_limits`.

pub mod limiter;
mod middleware;

pub(crate) use limiter::MAX_PER_MIN;
pub use limiter::{Category, Decision, Limits, RateLimitConfig, RateLimiter, classify};
pub use middleware::middleware;
