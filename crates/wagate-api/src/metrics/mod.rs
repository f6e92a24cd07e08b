//! Prometheus metrics at `GET /metrics` (text format 0.0.4), for the
//! operator: the admin key (`X-API-Key`), or `Authorization: Bearer
//! <METRICS_TOKEN>` when one is set, so a scraper need not hold the admin key.
//!
//! Three sources, each named for what it is:
//! - **counted as it happens**: HTTP requests and their duration (the access
//!   log's middleware), rate-limit rejections (the limiter), and the events
//!   the gateway emits, from its live broadcast: every event by kind,
//!   messages sent and received by type, send failures by code;
//! - **read at scrape time** from the database and the process: sessions by
//!   status, the send queue's depth and oldest message per lane, the event
//!   log's head, each enabled webhook's lag behind it, delivery attempts by
//!   outcome, open streams, the database pool, resident memory and open
//!   file descriptors.
//!
//! The live counters start at zero with the process, as Prometheus expects
//! of counters; a subscriber that falls behind a burst larger than the
//! broadcast buffer misses those events' increments (said in the metric's
//! help), while the durable figures above are exact.
//!
//! Here: the registry ([`registry`]: [`Metrics`]), a component the state
//! holds, and the route (`route`), the HTTP face over the state.

mod labels;
pub mod registry;
mod route;

pub use registry::Metrics;
pub use route::router;
