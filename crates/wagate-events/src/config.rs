//! Configuration of event delivery, from the environment.
//!
//! The names are a contract (documented in the README): `WEBHOOK_URL`,
//! `WEBHOOK_SECRET`, `WEBHOOK_EVENTS` (the global webhook),
//! `WEBHOOK_RETRY_SCHEDULE`, `WEBHOOK_DISABLE_AFTER_SECS`,
//! `WEBHOOK_TIMEOUT_SECS`, `WEBHOOK_MAX_PER_SESSION`, `EVENT_RETENTION_DAYS`,
//! and the operator's event-bus outputs: `NATS_URL`, `NATS_STREAM`,
//! `NATS_EVENTS`, `RABBITMQ_URL`, `RABBITMQ_EXCHANGE`, `RABBITMQ_EVENTS`.
//! Every check fails with one line that says what to do; the secret is never
//! shown, not even in `Debug`.

use std::time::Duration;

use crate::schedule::{DEFAULT_SCHEDULE, RetrySchedule, default_schedule};

/// The one global webhook from the environment: every tenant's events.
#[derive(Clone)]
pub struct GlobalWebhook {
    pub url: String,
    pub secret: Option<String>,
    pub events: Vec<String>,
}

impl std::fmt::Debug for GlobalWebhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalWebhook")
            .field("url", &self.url)
            .field("secret", &self.secret.as_ref().map(|_| "***"))
            .field("events", &self.events)
            .finish()
    }
}

/// An operator's event-bus output from the environment: every tenant's
/// events go to it.
#[derive(Clone)]
pub struct GlobalOutput {
    pub kind: wagate_core::OutputKind,
    /// With credentials; `Debug` shows it redacted.
    pub url: String,
    /// The JetStream stream or the RabbitMQ exchange.
    pub target: String,
    pub events: Vec<String>,
}

impl std::fmt::Debug for GlobalOutput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlobalOutput")
            .field("kind", &self.kind)
            .field("url", &wagate_store::app::outputs::redact_url(&self.url))
            .field("target", &self.target)
            .field("events", &self.events)
            .finish()
    }
}

/// The stream a NATS output writes to unless told otherwise.
pub const DEFAULT_NATS_STREAM: &str = "WAGATE";
/// The exchange a RabbitMQ output publishes to unless told otherwise.
pub const DEFAULT_RABBITMQ_EXCHANGE: &str = "wagate";

#[derive(Clone, Debug)]
pub struct EventsConfig {
    pub global: Option<GlobalWebhook>,
    /// `NATS_URL` and `RABBITMQ_URL`, when set.
    pub global_outputs: Vec<GlobalOutput>,
    pub retry_schedule: RetrySchedule,
    /// An endpoint failing continuously this long is disabled.
    pub disable_after: Duration,
    /// Whole-request timeout of one delivery.
    pub timeout: Duration,
    /// Events older than this are pruned (unless a webhook still needs
    /// them); `None` keeps them forever.
    pub retention: Option<Duration>,
    /// How often retention runs.
    pub prune_every: Duration,
    /// Webhooks per session (`WEBHOOK_MAX_PER_SESSION`), enforced by the API.
    pub max_per_session: usize,
}

impl Default for EventsConfig {
    fn default() -> Self {
        EventsConfig {
            global: None,
            global_outputs: Vec::new(),
            retry_schedule: default_schedule(),
            disable_after: Duration::from_secs(24 * 3600),
            timeout: Duration::from_secs(10),
            retention: Some(Duration::from_secs(7 * 86400)),
            prune_every: Duration::from_secs(3600),
            max_per_session: 10,
        }
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

fn number(name: &str, default: u64) -> Result<u64, String> {
    match var(name) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| format!("{name} must be a whole number, not '{v}'")),
    }
}

/// A comma list of event names, checked; `*` when empty.
fn event_list(name: &str) -> Result<Vec<String>, String> {
    let events: Vec<String> = var(name)
        .unwrap_or_else(|| "*".to_string())
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    wagate_core::event::validate_filter(&events).map_err(|e| format!("{name}: {e}"))?;
    Ok(if events.is_empty() {
        vec!["*".to_string()]
    } else {
        events
    })
}

/// `NATS_URL` / `RABBITMQ_URL` and their companions.
fn global_outputs() -> Result<Vec<GlobalOutput>, String> {
    use wagate_core::OutputKind;
    let mut outputs = Vec::new();
    if let Some(url) = var("NATS_URL") {
        wagate_core::output::check_broker_url(OutputKind::Nats, &url)
            .map_err(|e| format!("NATS_URL: {e}"))?;
        let target = var("NATS_STREAM").unwrap_or_else(|| DEFAULT_NATS_STREAM.to_string());
        wagate_core::output::check_target(OutputKind::Nats, &target)
            .map_err(|e| format!("NATS_STREAM: {e}"))?;
        outputs.push(GlobalOutput {
            kind: OutputKind::Nats,
            url,
            target,
            events: event_list("NATS_EVENTS")?,
        });
    }
    if let Some(url) = var("RABBITMQ_URL") {
        wagate_core::output::check_broker_url(OutputKind::Rabbitmq, &url)
            .map_err(|e| format!("RABBITMQ_URL: {e}"))?;
        let target =
            var("RABBITMQ_EXCHANGE").unwrap_or_else(|| DEFAULT_RABBITMQ_EXCHANGE.to_string());
        wagate_core::output::check_target(OutputKind::Rabbitmq, &target)
            .map_err(|e| format!("RABBITMQ_EXCHANGE: {e}"))?;
        outputs.push(GlobalOutput {
            kind: OutputKind::Rabbitmq,
            url,
            target,
            events: event_list("RABBITMQ_EVENTS")?,
        });
    }
    Ok(outputs)
}

/// Whether `url` is an http(s) URL with a host.
pub fn valid_webhook_url(url: &str) -> bool {
    url::Url::parse(url)
        .map(|u| {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        })
        .unwrap_or(false)
}

impl EventsConfig {
    /// Reads the environment.
    pub fn from_env() -> Result<EventsConfig, String> {
        let global = match var("WEBHOOK_URL") {
            None => None,
            Some(url) => {
                if !valid_webhook_url(&url) {
                    return Err("WEBHOOK_URL must be an http:// or https:// URL".to_string());
                }
                Some(GlobalWebhook {
                    url,
                    secret: var("WEBHOOK_SECRET"),
                    events: event_list("WEBHOOK_EVENTS")?,
                })
            }
        };
        let retry_schedule = RetrySchedule::parse(
            &var("WEBHOOK_RETRY_SCHEDULE").unwrap_or_else(|| DEFAULT_SCHEDULE.into()),
        )
        .map_err(|e| format!("WEBHOOK_RETRY_SCHEDULE: {e}"))?;
        let disable_after =
            Duration::from_secs(number("WEBHOOK_DISABLE_AFTER_SECS", 24 * 3600)?.max(1));
        let timeout = Duration::from_secs(number("WEBHOOK_TIMEOUT_SECS", 10)?.clamp(1, 300));
        let days = number("EVENT_RETENTION_DAYS", 7)?;
        let max_per_session = number("WEBHOOK_MAX_PER_SESSION", 10)?;
        if max_per_session == 0 {
            return Err("WEBHOOK_MAX_PER_SESSION must be at least 1".to_string());
        }
        Ok(EventsConfig {
            global,
            global_outputs: global_outputs()?,
            retry_schedule,
            disable_after,
            timeout,
            retention: (days > 0).then(|| Duration::from_secs(days * 86400)),
            prune_every: Duration::from_secs(3600),
            max_per_session: max_per_session as usize,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(valid_webhook_url("https://example.com/hook"));
        assert!(valid_webhook_url("http://127.0.0.1:9000/x"));
        assert!(!valid_webhook_url("ftp://example.com"));
        assert!(!valid_webhook_url("not a url"));
    }

    #[test]
    fn debug_hides_the_secret() {
        let g = GlobalWebhook {
            url: "https://x".into(),
            secret: Some("s3cr3t".into()),
            events: vec!["*".into()],
        };
        assert!(!format!("{g:?}").contains("s3cr3t"));
    }
}
