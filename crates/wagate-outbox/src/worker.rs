//! One loop per worker configuration: claim → send → settle → pause.
//!
//! The pause is the configuration's interval (plus random jitter up to
//! `intervalMaxSeconds`); with nothing pending, or no session to send
//! through, the loop waits the interval (at least a second). Stopping (a
//! signal, or the configuration disabled) interrupts any pause at once, but
//! a row being sent is always settled first.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, error, info, warn};

use crate::db::{AppFilter, Claim, OutboxDb, OutboxRow, STATUS_FAILED, STATUS_SENT};
use crate::gateway::{Gateway, SendOutcome, SessionRef, WorkerConfig, phone_digits};
use crate::webhook::Notifier;

/// What every loop of a process shares.
pub struct Shared {
    pub db: OutboxDb,
    pub gateway: Gateway,
    pub notifier: Notifier,
    pub max_attempts: i64,
    /// This process's id (`claimed_by` is it plus the configuration id).
    pub instance: String,
}

/// How long a list of connected sessions is trusted.
const SESSIONS_TTL: Duration = Duration::from_secs(10);
/// How long a row whose own session (`from_number`) cannot send is skipped.
const PINNED_BACKOFF: Duration = Duration::from_secs(30);
/// Most rows skipped at once.
const MAX_SKIPPED: usize = 200;

/// Round-robin over the connected sessions of the configuration's circle.
struct Router {
    sessions: Vec<SessionRef>,
    next: usize,
    fetched: Option<Instant>,
}

impl Router {
    fn stale(&self) -> bool {
        self.fetched.is_none_or(|t| t.elapsed() >= SESSIONS_TTL)
    }

    fn invalidate(&mut self) {
        self.fetched = None;
    }

    fn forget(&mut self, session: &str) {
        self.sessions
            .retain(|s| s.id != session && s.phone.as_deref() != Some(session));
    }

    /// The session for `row`: its own `from_number`; else the one an
    /// earlier claim chose, connected or not (the gateway's idempotency key
    /// is per tenant but its request includes the session: only that
    /// session answers a retry with the first result; if it never took the
    /// row it refuses, and the row is routed afresh); else the next in turn.
    fn route(&mut self, row: &OutboxRow) -> Option<String> {
        if let Some(n) = row.from_number.as_deref().map(phone_digits)
            && !n.is_empty()
        {
            return Some(n);
        }
        if let Some(prev) = row.session_id.as_ref().filter(|p| !p.is_empty()) {
            return Some(prev.clone());
        }
        if self.sessions.is_empty() {
            return None;
        }
        let s = self.sessions[self.next % self.sessions.len()].id.clone();
        self.next = self.next.wrapping_add(1);
        Some(s)
    }
}

/// Sleeps `d`, or less when stopped or the configuration changes; `false`
/// when stopped.
async fn pause(
    stop: &CancellationToken,
    cfg: &mut watch::Receiver<WorkerConfig>,
    d: Duration,
) -> bool {
    if d.is_zero() {
        return !stop.is_cancelled();
    }
    tokio::select! {
        _ = stop.cancelled() => false,
        _ = tokio::time::sleep(d) => true,
        changed = cfg.changed() => {
            if changed.is_err() {
                // The supervisor is gone: finish as if stopped.
                return false;
            }
            true
        }
    }
}

/// The pause after a row: the interval, or a random one up to the max.
pub fn interval(cfg: &WorkerConfig) -> Duration {
    use rand::Rng;
    let min = cfg.interval_seconds.max(0) as u64 * 1000;
    match cfg.interval_max_seconds.map(|m| m.max(0) as u64 * 1000) {
        Some(max) if max > min => Duration::from_millis(rand::rng().random_range(min..=max)),
        _ => Duration::from_millis(min),
    }
}

/// The wait when there is nothing to do: the interval, at least a second.
fn idle(cfg: &WorkerConfig) -> Duration {
    interval(cfg).max(Duration::from_secs(1))
}

/// Runs one configuration's loop until `stop`.
pub async fn run_loop(
    shared: Arc<Shared>,
    mut cfg_rx: watch::Receiver<WorkerConfig>,
    stop: CancellationToken,
) {
    let first = cfg_rx.borrow_and_update().clone();
    let worker_id: String = format!("{}-{}", shared.instance, first.id)
        .chars()
        .take(64)
        .collect();
    println!("outbox loop started: config {} ({})", first.id, first.name);
    info!(config = first.id, name = %first.name, application = %first.application,
          circle = ?first.circle, "outbox loop started");
    let mut router = Router {
        sessions: Vec::new(),
        next: rand::random::<u32>() as usize,
        fetched: None,
    };
    let mut circle = first.circle.clone();
    let mut skipped: HashMap<i64, Instant> = HashMap::new();
    while !stop.is_cancelled() {
        let cfg = cfg_rx.borrow_and_update().clone();
        if cfg.circle != circle {
            circle = cfg.circle.clone();
            router.invalidate();
        }
        if router.stale() {
            match shared
                .gateway
                .for_tenant(cfg.tenant_id.as_deref())
                .connected_sessions(circle.as_deref())
                .await
            {
                Ok(list) => {
                    if list.len() != router.sessions.len() {
                        debug!(config = cfg.id, sessions = list.len(), "connected sessions");
                    }
                    router.sessions = list;
                    router.fetched = Some(Instant::now());
                }
                Err(e) => {
                    warn!(config = cfg.id, error = %e, "cannot list the circle's sessions");
                    router.sessions.clear();
                }
            }
        }
        let now = Instant::now();
        skipped.retain(|_, until| *until > now);
        let exclude: Vec<i64> = skipped.keys().copied().collect();
        let filter = AppFilter::parse(&cfg.application);
        let claim = shared
            .db
            .claim(&filter, &worker_id, &exclude, |row| router.route(row))
            .await;
        let (row, session) = match claim {
            Err(e) => {
                error!(config = cfg.id, error = %e, "cannot claim from the outbox");
                if !pause(&stop, &mut cfg_rx, idle(&cfg)).await {
                    break;
                }
                continue;
            }
            Ok(Claim::Empty) => {
                if !pause(&stop, &mut cfg_rx, idle(&cfg)).await {
                    break;
                }
                continue;
            }
            Ok(Claim::NoSession) => {
                debug!(config = cfg.id, circle = ?circle, "no connected session: rows left pending");
                router.invalidate();
                if !pause(&stop, &mut cfg_rx, idle(&cfg)).await {
                    break;
                }
                continue;
            }
            Ok(Claim::Row { row, session }) => (row, session),
        };
        // From here the row is settled whatever happens to `stop`.
        let key = shared.db.idempotency_key(&row);
        let outcome = shared
            .gateway
            .for_tenant(cfg.tenant_id.as_deref())
            .send(&row, &session, &key)
            .await;
        let wait = match settle(&shared, &cfg, &worker_id, &row, &session, outcome).await {
            Settled::Done => interval(&cfg),
            Settled::SessionDown => {
                if row.from_number.is_some() {
                    if skipped.len() < MAX_SKIPPED {
                        skipped.insert(row.id, Instant::now() + PINNED_BACKOFF);
                    }
                } else {
                    router.forget(&session);
                    router.invalidate();
                }
                Duration::from_millis(200)
            }
            Settled::Throttled(d) => d,
        };
        if !pause(&stop, &mut cfg_rx, wait).await {
            break;
        }
    }
    println!("outbox loop stopped: config {}", first.id);
    info!(config = first.id, "outbox loop stopped");
}

/// Tries a settling write again when the database asks for it (a
/// deadlock, a serialization failure: MariaDB and PostgreSQL roll the
/// statement back and expect the client to repeat it), a few times. Left
/// unsettled, the row would wait for the claim timeout.
async fn again<T, F, Fut>(write: F) -> Result<T, sqlx::Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut tries = 0u64;
    loop {
        match write().await {
            Err(e) if tries < SETTLE_RETRIES && asks_to_retry(&e) => {
                tries += 1;
                warn!(error = %e, tries, "settling a row: trying again");
                tokio::time::sleep(Duration::from_millis(20 * tries)).await;
            }
            other => return other,
        }
    }
}

/// A deadlock or serialization failure (SQLSTATE 40001 / 40P01; MariaDB's
/// 1213 and 1205 carry 40001 or HY000).
fn asks_to_retry(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => {
            let code = db.code().unwrap_or_default();
            matches!(code.as_ref(), "40001" | "40P01" | "1213" | "1205")
                || db.message().contains("Deadlock found")
        }
        _ => false,
    }
}

/// Tries of a settling write the database asked to repeat.
const SETTLE_RETRIES: u64 = 5;

enum Settled {
    Done,
    SessionDown,
    Throttled(Duration),
}

async fn settle(
    shared: &Shared,
    cfg: &WorkerConfig,
    worker_id: &str,
    row: &OutboxRow,
    session: &str,
    outcome: SendOutcome,
) -> Settled {
    let db = &shared.db;
    let mut gateway_state = None;
    let (status, message_id, error) = match outcome {
        SendOutcome::Sent {
            message_id,
            gateway_status,
        } => {
            gateway_state = gateway_status;
            if let Err(e) = again(|| db.mark_sent(row.id, worker_id, message_id.as_deref())).await {
                error!(id = row.id, error = %e, "sent, but cannot mark the row sent (it will be retried with the same idempotency key)");
            }
            debug!(id = row.id, session, "outbox row sent");
            (STATUS_SENT, message_id, None)
        }
        SendOutcome::Rejected { error } => {
            if let Err(e) = again(|| db.mark_failed(row.id, worker_id, &error)).await {
                error!(id = row.id, error = %e, "cannot mark the row failed");
            }
            info!(id = row.id, session, %error, "outbox row failed");
            (STATUS_FAILED, None, Some(error))
        }
        SendOutcome::SessionUnavailable { error } => {
            info!(id = row.id, session, %error, "session cannot send: row left pending");
            // The session refused before queueing: the key is unused, so
            // another session may take the row (unless it names its own).
            let forget = row.from_number.is_none();
            if let Err(e) = again(|| db.release(row.id, worker_id, forget)).await {
                error!(id = row.id, error = %e, "cannot release the row");
            }
            return Settled::SessionDown;
        }
        SendOutcome::Throttled { retry_after } => {
            info!(
                id = row.id,
                ?retry_after,
                "gateway rate limit: row left pending"
            );
            if let Err(e) = again(|| db.release(row.id, worker_id, false)).await {
                error!(id = row.id, error = %e, "cannot release the row");
            }
            return Settled::Throttled(retry_after);
        }
        SendOutcome::Transient { error } => {
            match again(|| db.mark_retry(row.id, worker_id, &error, shared.max_attempts)).await {
                Ok(STATUS_FAILED) => {
                    warn!(id = row.id, session, %error, "outbox row failed after its last attempt");
                    (STATUS_FAILED, None, Some(error))
                }
                Ok(_) => {
                    warn!(id = row.id, session, %error, "send failed: row will be retried");
                    return Settled::Done;
                }
                Err(e) => {
                    error!(id = row.id, error = %e, "cannot record the failed attempt");
                    return Settled::Done;
                }
            }
        }
    };
    if let Some(url) = cfg.webhook_url.as_deref().filter(|u| !u.is_empty()) {
        let mut payload = json!({
            "event": "outbox.status",
            "idOutbox": row.id,
            "status": status,
            "destination": row.destination,
            "application": row.application,
            "tableId": row.table_id,
            "clientId": row.client_id,
            "sessionId": session,
            "worker": cfg.name,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        if let Some(g) = gateway_state {
            payload["gatewayStatus"] = json!(g);
        }
        if let Some(m) = message_id {
            payload["messageId"] = json!(m);
        }
        if let Some(e) = error {
            payload["error"] = json!(e);
        }
        shared
            .notifier
            .notify(url, cfg.webhook_secret.as_deref(), payload)
            .await;
    }
    Settled::Done
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(min: i64, max: Option<i64>) -> WorkerConfig {
        WorkerConfig {
            id: 1,
            name: "w".into(),
            circle: None,
            application: "*".into(),
            interval_seconds: min,
            interval_max_seconds: max,
            enabled: true,
            webhook_url: None,
            webhook_secret: None,
            tenant_id: None,
        }
    }

    #[test]
    fn intervals_with_jitter() {
        assert_eq!(interval(&cfg(0, None)), Duration::ZERO);
        assert_eq!(idle(&cfg(0, None)), Duration::from_secs(1));
        assert_eq!(interval(&cfg(3, Some(2))), Duration::from_secs(3));
        for _ in 0..50 {
            let d = interval(&cfg(2, Some(4)));
            assert!(d >= Duration::from_secs(2) && d <= Duration::from_secs(4));
        }
    }

    #[test]
    fn round_robin_and_pinning() {
        let mut r = Router {
            sessions: vec![
                SessionRef {
                    id: "a".into(),
                    phone: Some("1".into()),
                },
                SessionRef {
                    id: "b".into(),
                    phone: Some("2".into()),
                },
            ],
            next: 0,
            fetched: None,
        };
        let row = |from: Option<&str>, prev: Option<&str>| OutboxRow {
            id: 1,
            msg_type: 0,
            from_number: from.map(str::to_owned),
            client_id: None,
            destination: "62".into(),
            messages: None,
            application: None,
            table_id: None,
            file: None,
            error_count: 0,
            session_id: prev.map(str::to_owned),
            inserted: None,
        };
        assert_eq!(r.route(&row(None, None)).as_deref(), Some("a"));
        assert_eq!(r.route(&row(None, None)).as_deref(), Some("b"));
        assert_eq!(r.route(&row(None, Some("a"))).as_deref(), Some("a"));
        assert_eq!(r.route(&row(None, Some("gone"))).as_deref(), Some("gone"));
        assert_eq!(r.route(&row(None, None)).as_deref(), Some("a"));
        assert_eq!(
            r.route(&row(Some("+62 811"), None)).as_deref(),
            Some("62811")
        );
        r.forget("2");
        assert_eq!(r.sessions.len(), 1);
        r.sessions.clear();
        assert_eq!(r.route(&row(None, None)), None);
    }
}
