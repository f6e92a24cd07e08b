//! The metrics registry: every metric, registered once, the methods that
//! count as things happen (requests, rate-limit refusals, sends, webhook
//! attempts, and the live events it follows), and the scrape-time reading
//! of the durable figures.
//!
//! A component: [`crate::state::AppState`] holds the [`Metrics`], so this
//! file does not import the state; what it reads it is given (the session
//! manager's broadcast to follow, the store and the open streams to
//! render).

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::{Registry, Unit};
use tokio::sync::broadcast::error::RecvError;
use wagate_core::{DeliveryOutcome, EventKind, Lane, MessageStatus, SessionStatus};
use wagate_engine::SessionManager;
use wagate_store::Store;

use super::labels::{
    CategoryLabels, CodeLabels, EventLabels, HttpLabels, LaneLabels, MessageLabels, OutcomeLabels,
    OutputLabels, PoolLabels, StatusLabels, WebhookLabels, seconds_buckets,
};
use crate::error::ApiError;
use crate::streams::registry::Streams;

/// Every metric, registered once.
pub struct Metrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    messages: Family<MessageLabels, Counter>,
    failures: Family<CodeLabels, Counter>,
    http_requests: Family<HttpLabels, Counter>,
    http_duration: Histogram,
    send_duration: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
    webhook_duration: Family<OutcomeLabels, Histogram, fn() -> Histogram>,
    rate_limited: Family<CategoryLabels, Counter>,
    sessions: Family<StatusLabels, Gauge>,
    queue_depth: Family<LaneLabels, Gauge>,
    queue_oldest: Family<LaneLabels, Gauge>,
    log_head: Gauge,
    webhook_lag: Family<WebhookLabels, Gauge>,
    output_lag: Family<OutputLabels, Gauge>,
    output_published: Family<OutputLabels, Gauge>,
    deliveries: Family<OutcomeLabels, Gauge>,
    streams: Gauge,
    pool: Family<PoolLabels, Gauge>,
    rss: Gauge,
    fds: Gauge,
    group_commit_waits: Gauge,
    group_commit_syncs: Gauge,
    writer_busy_micros: Gauge,
    writer_uses: Gauge,
    batched_statements: Gauge,
    statement_batches: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut m = Metrics {
            registry: Registry::with_prefix("wagate"),
            events: Family::default(),
            messages: Family::default(),
            failures: Family::default(),
            http_requests: Family::default(),
            http_duration: Histogram::new(exponential_buckets(0.001, 2.0, 16)),
            send_duration: Family::new_with_constructor(seconds_buckets),
            webhook_duration: Family::new_with_constructor(seconds_buckets),
            rate_limited: Family::default(),
            sessions: Family::default(),
            queue_depth: Family::default(),
            queue_oldest: Family::default(),
            log_head: Gauge::default(),
            webhook_lag: Family::default(),
            output_lag: Family::default(),
            output_published: Family::default(),
            deliveries: Family::default(),
            streams: Gauge::default(),
            pool: Family::default(),
            rss: Gauge::default(),
            fds: Gauge::default(),
            group_commit_waits: Gauge::default(),
            group_commit_syncs: Gauge::default(),
            writer_busy_micros: Gauge::default(),
            writer_uses: Gauge::default(),
            batched_statements: Gauge::default(),
            statement_batches: Gauge::default(),
        };
        let r = &mut m.registry;
        r.register(
            "events",
            "Events emitted, by kind (from the live broadcast)",
            m.events.clone(),
        );
        r.register(
            "messages",
            "Messages sent and received, by direction and contract type (from the live broadcast)",
            m.messages.clone(),
        );
        r.register(
            "message_failures",
            "Sends that failed for good, by error code (from the live broadcast)",
            m.failures.clone(),
        );
        r.register(
            "http_requests",
            "HTTP requests answered, by method and status class",
            m.http_requests.clone(),
        );
        r.register_with_unit(
            "http_request_duration",
            "Time to answer an HTTP request (a stream counts until its headers)",
            Unit::Seconds,
            m.http_duration.clone(),
        );
        r.register_with_unit(
            "send_duration",
            "Time a waited-for send took, from the API call to WhatsApp's acceptance (pacing included), by final queue status",
            Unit::Seconds,
            m.send_duration.clone(),
        );
        r.register_with_unit(
            "webhook_delivery_duration",
            "Time of one webhook delivery attempt, by outcome",
            Unit::Seconds,
            m.webhook_duration.clone(),
        );
        r.register(
            "rate_limited_requests",
            "Requests refused with 429 RATE_LIMITED, by category",
            m.rate_limited.clone(),
        );
        r.register(
            "sessions",
            "Sessions by status (the API's names)",
            m.sessions.clone(),
        );
        r.register(
            "send_queue_depth",
            "Messages waiting in the send queue, by lane",
            m.queue_depth.clone(),
        );
        r.register_with_unit(
            "send_queue_oldest_age",
            "Age of the oldest message waiting in each lane",
            Unit::Seconds,
            m.queue_oldest.clone(),
        );
        r.register(
            "event_log_head",
            "Sequence number of the newest event in the durable log (appends so far)",
            m.log_head.clone(),
        );
        r.register(
            "webhook_lag_events",
            "Events an enabled webhook has yet to be given (log head minus its cursor)",
            m.webhook_lag.clone(),
        );
        r.register(
            "output_lag_events",
            "Events an enabled event-bus output has yet to publish (log head minus its cursor)",
            m.output_lag.clone(),
        );
        r.register(
            "output_published_messages",
            "Messages an event-bus output has published and the broker confirmed",
            m.output_published.clone(),
        );
        r.register(
            "webhook_delivery_attempts",
            "Delivery attempts kept in the delivery log, by outcome",
            m.deliveries.clone(),
        );
        r.register(
            "streams_open",
            "Open WebSocket and SSE streams",
            m.streams.clone(),
        );
        r.register(
            "db_pool_connections",
            "Database pool connections, in use or idle",
            m.pool.clone(),
        );
        r.register_with_unit(
            "process_resident_memory",
            "Resident memory of the process",
            Unit::Bytes,
            m.rss.clone(),
        );
        r.register(
            "process_open_fds",
            "Open file descriptors of the process",
            m.fds.clone(),
        );
        r.register(
            "sqlite_group_commit_waits",
            "Commits (and log reads) that waited for a group-commit fsync since start (SQLite with synchronous=FULL)",
            m.group_commit_waits.clone(),
        );
        r.register(
            "sqlite_wal_syncs",
            "fsyncs of the SQLite WAL that group commit made since start; waits / syncs is the commits each fsync served",
            m.group_commit_syncs.clone(),
        );
        r.register(
            "sqlite_writer_busy_microseconds",
            "Time the SQLite writer connection (every hot write goes through it) was in use since start; its rate against wall time is the writer's utilization",
            m.writer_busy_micros.clone(),
        );
        r.register(
            "sqlite_writer_uses",
            "Times the SQLite writer connection was lent out since start (a transaction, or a batch of writes); busy_microseconds / uses is the average hold",
            m.writer_uses.clone(),
        );
        r.register(
            "sqlite_batched_writes",
            "Statements run on the SQLite writer through its batcher since start (Signal state, queue claims and enqueues, and the spine units: a message with its event and queue row, a receipt with its ack)",
            m.batched_statements.clone(),
        );
        r.register(
            "sqlite_write_batches",
            "Round trips those writes took: batched_writes / write_batches is the writes each round trip carried",
            m.statement_batches.clone(),
        );
        m
    }

    /// Counts the gateway's live events until the broadcast closes.
    pub fn follow(self: &Arc<Self>, manager: &SessionManager) {
        let mut rx = manager.subscribe();
        let me = self.clone();
        tokio::spawn(async move {
            loop {
                match rx.recv().await {
                    Ok(e) => me.count_event(&e),
                    Err(RecvError::Lagged(_)) => continue,
                    Err(RecvError::Closed) => break,
                }
            }
        });
    }

    fn count_event(&self, e: &wagate_core::Event) {
        self.events
            .get_or_create(&EventLabels {
                event: e.event.as_str().to_string(),
            })
            .inc();
        let direction = match e.event {
            EventKind::MessageSent => MessageStatus::Sent.as_str(),
            EventKind::MessageReceived => MessageStatus::Received.as_str(),
            EventKind::MessageFailed => {
                let code = e.data["error"]["code"].as_str().unwrap_or("UNKNOWN");
                self.failures
                    .get_or_create(&CodeLabels {
                        code: code.to_string(),
                    })
                    .inc();
                return;
            }
            _ => return,
        };
        let msg_type = e.data["type"].as_str().unwrap_or("unknown").to_string();
        self.messages
            .get_or_create(&MessageLabels {
                direction: direction.to_string(),
                msg_type,
            })
            .inc();
    }

    /// One answered request (the access log calls this).
    pub fn request(&self, method: &str, status: u16, elapsed: Duration) {
        self.http_requests
            .get_or_create(&HttpLabels {
                method: method.to_string(),
                class: format!("{}xx", status / 100),
            })
            .inc();
        self.http_duration.observe(elapsed.as_secs_f64());
    }

    /// One request refused by the rate limiter.
    /// A waited-for send ended (`sent`, `failed`, …) after `seconds`.
    pub fn observe_send(&self, status: &str, seconds: f64) {
        self.send_duration
            .get_or_create(&OutcomeLabels {
                outcome: status.to_string(),
            })
            .observe(seconds);
    }

    /// One webhook delivery attempt ended with `outcome` after `seconds`.
    pub fn observe_webhook(&self, outcome: DeliveryOutcome, seconds: f64) {
        self.webhook_duration
            .get_or_create(&OutcomeLabels {
                outcome: outcome.to_string(),
            })
            .observe(seconds);
    }

    pub fn rate_limited(&self, category: &str) {
        self.rate_limited
            .get_or_create(&CategoryLabels {
                category: category.to_string(),
            })
            .inc();
    }

    /// Reads the scrape-time figures (from the store and the open
    /// streams), then the whole registry as text.
    pub(super) async fn render(
        &self,
        store: &Store,
        streams: &Streams,
    ) -> Result<String, ApiError> {
        for s in SessionStatus::ALL {
            self.sessions
                .get_or_create(&StatusLabels {
                    status: s.api().to_string(),
                })
                .set(0);
        }
        for (status, n) in store.count_sessions_by_status(None).await? {
            self.sessions
                .get_or_create(&StatusLabels {
                    status: status.api().to_string(),
                })
                .set(n as i64);
        }
        let now = wagate_core::now_ms();
        for &lane in Lane::ALL {
            let l = LaneLabels {
                lane: lane.to_string(),
            };
            self.queue_depth.get_or_create(&l).set(0);
            self.queue_oldest.get_or_create(&l).set(0);
        }
        for d in store.queue_depth_by_lane().await? {
            let l = LaneLabels {
                lane: d.lane.to_string(),
            };
            self.queue_depth.get_or_create(&l).set(d.queued);
            self.queue_oldest
                .get_or_create(&l)
                .set((now - d.oldest_at).max(0) / 1000);
        }
        let head = store.last_event_seq().await?;
        self.log_head.set(head);
        self.webhook_lag.clear();
        for w in store.list_enabled_webhooks().await? {
            self.webhook_lag
                .get_or_create(&WebhookLabels { webhook: w.id })
                .set((head - w.last_seq).max(0));
        }
        self.output_lag.clear();
        self.output_published.clear();
        for o in store.list_enabled_outputs().await? {
            let l = OutputLabels {
                output: o.id,
                kind: o.kind.to_string(),
            };
            self.output_lag
                .get_or_create(&l)
                .set((head - o.last_seq).max(0));
            self.output_published.get_or_create(&l).set(o.published);
        }
        for o in DeliveryOutcome::ALL {
            self.deliveries
                .get_or_create(&OutcomeLabels {
                    outcome: o.to_string(),
                })
                .set(0);
        }
        for (o, n) in store.delivery_outcomes().await? {
            self.deliveries
                .get_or_create(&OutcomeLabels {
                    outcome: o.to_string(),
                })
                .set(n);
        }
        self.streams.set(streams.total() as i64);
        let pool = store.pool();
        let idle = pool.num_idle() as i64;
        let size = i64::from(pool.size());
        self.pool
            .get_or_create(&PoolLabels {
                state: "idle".into(),
            })
            .set(idle);
        self.pool
            .get_or_create(&PoolLabels {
                state: "in_use".into(),
            })
            .set((size - idle).max(0));
        if let Some(g) = store.group_commit_stats() {
            self.group_commit_waits.set(g.waits as i64);
            self.group_commit_syncs.set(g.syncs as i64);
            self.writer_busy_micros
                .set(i64::try_from(g.writer_busy_micros).unwrap_or(i64::MAX));
            self.writer_uses
                .set(i64::try_from(g.writer_uses).unwrap_or(i64::MAX));
            self.batched_statements
                .set(i64::try_from(g.batched_statements).unwrap_or(i64::MAX));
            self.statement_batches
                .set(i64::try_from(g.statement_batches).unwrap_or(i64::MAX));
        }
        if let Some(rss) = resident_bytes() {
            self.rss.set(rss);
        }
        if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
            self.fds.set(dir.count() as i64);
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .map_err(|e| ApiError::internal("metrics", e))?;
        Ok(out)
    }
}

/// The process's resident memory, from `/proc/self/statm` (Linux).
fn resident_bytes() -> Option<i64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: i64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}
