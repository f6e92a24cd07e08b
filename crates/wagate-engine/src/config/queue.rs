//! The queue's settings: `SEND_*`, `IDEMPOTENCY_TTL_HOURS`, pacing and
//! quiet hours from the environment.

use std::time::Duration;

use wagate_core::RetrySchedule;

use crate::queue::pacing::{self, Pacing, QuietHours};

/// The queue's settings (`SEND_*`, `IDEMPOTENCY_TTL_HOURS`).
#[derive(Clone, Debug)]
pub struct QueueConfig {
    /// The deployment's pacing; sessions may override any part.
    pub pacing: Pacing,
    /// Waits before each retry of a send that failed for a transient reason;
    /// a message is tried `retry_schedule.retries() + 1` times in all.
    pub retry_schedule: RetrySchedule,
    /// How long a send the client waits for may take before the API answers
    /// `202` with the message still queued.
    pub sync_timeout: Duration,
    /// How long an idempotency key is remembered.
    pub idempotency_ttl: Duration,
    /// How long finished queue rows are kept (at least a day: the daily cap
    /// counts them).
    pub retention: Duration,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            pacing: Pacing::default(),
            retry_schedule: RetrySchedule::new(vec![
                Duration::from_secs(2),
                Duration::from_secs(10),
                Duration::from_secs(60),
            ]),
            sync_timeout: Duration::from_secs(60),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

impl QueueConfig {
    pub fn from_env() -> Result<QueueConfig, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<QueueConfig, String> {
        let mut c = QueueConfig::default();
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        fn num<T: std::str::FromStr>(k: &str, v: &str) -> Result<T, String> {
            v.parse()
                .map_err(|_| format!("{k} must be a non-negative whole number (got '{v}')"))
        }
        let p = &mut c.pacing;
        if let Some(v) = get("SEND_MIN_INTERVAL_MS") {
            p.min_interval_ms = num("SEND_MIN_INTERVAL_MS", &v)?;
        }
        if let Some(v) = get("SEND_JITTER_MS") {
            p.jitter_ms = num("SEND_JITTER_MS", &v)?;
        }
        if let Some(v) = get("SEND_MAX_PER_MINUTE") {
            p.max_per_minute = num("SEND_MAX_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("SEND_MAX_PER_HOUR") {
            p.max_per_hour = num("SEND_MAX_PER_HOUR", &v)?;
        }
        if let Some(v) = get("SEND_MAX_PER_DAY") {
            p.max_per_day = num("SEND_MAX_PER_DAY", &v)?;
        }
        if let Some(v) = get("SEND_DRIP_PER_MINUTE") {
            p.drip_per_minute = num("SEND_DRIP_PER_MINUTE", &v)?;
        }
        if let Some(v) = get("SEND_QUIET_HOURS") {
            let bad = || format!("SEND_QUIET_HOURS must look like 22:00-07:00 (got '{v}')");
            let (start, end) = v.split_once('-').ok_or_else(bad)?;
            let offset = match get("SEND_QUIET_HOURS_UTC_OFFSET") {
                Some(o) => parse_offset(&o).ok_or_else(|| {
                    format!("SEND_QUIET_HOURS_UTC_OFFSET must look like +07:00 (got '{o}')")
                })?,
                None => 0,
            };
            p.quiet_hours = Some(QuietHours {
                start: pacing::HourMinute::parse(start).ok_or_else(bad)?,
                end: pacing::HourMinute::parse(end).ok_or_else(bad)?,
                utc_offset_minutes: offset,
            });
        }
        if let Some(v) = get("SEND_RETRY_SCHEDULE") {
            c.retry_schedule =
                RetrySchedule::parse(&v).map_err(|e| format!("SEND_RETRY_SCHEDULE: {e}"))?;
        }
        if let Some(v) = get("SEND_SYNC_TIMEOUT_SECS") {
            c.sync_timeout = Duration::from_secs(num("SEND_SYNC_TIMEOUT_SECS", &v)?);
        }
        if let Some(v) = get("IDEMPOTENCY_TTL_HOURS") {
            let h: u64 = num("IDEMPOTENCY_TTL_HOURS", &v)?;
            if h < 24 {
                return Err("IDEMPOTENCY_TTL_HOURS must be at least 24".into());
            }
            c.idempotency_ttl = Duration::from_secs(h * 3600);
        }
        if let Some(v) = get("SEND_QUEUE_RETENTION_DAYS") {
            let d: u64 = num("SEND_QUEUE_RETENTION_DAYS", &v)?;
            c.retention = Duration::from_secs(d.max(1) * 24 * 3600);
        }
        Ok(c)
    }
}

/// `+07:00`, `-03:30`, `420` (minutes) → minutes east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    if let Ok(m) = s.parse::<i32>() {
        return (-14 * 60..=14 * 60).contains(&m).then_some(m);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => (1, s),
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}
