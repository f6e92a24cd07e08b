//! When to try a failed delivery again, and what an answer means.
//!
//! The retry schedule is data (`WEBHOOK_RETRY_SCHEDULE`, default
//! `5s,30s,2m,10m,30m,1h,2h,4h`): attempt `n` failing waits the `n`-th delay
//! (±20% jitter, so a fleet of endpoints that failed together does not retry
//! together); once the list is used up the event has finally failed. A
//! `Retry-After` from the receiver wins over the schedule.

use std::time::Duration;

/// The default delays between attempts.
pub const DEFAULT_SCHEDULE: &str = "5s,30s,2m,10m,30m,1h,2h,4h";
/// The longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(24 * 3600);

pub use wagate_core::{RetrySchedule, parse_duration};

/// The webhook schedule when `WEBHOOK_RETRY_SCHEDULE` is not set.
pub fn default_schedule() -> RetrySchedule {
    RetrySchedule::parse(DEFAULT_SCHEDULE).expect("the default schedule parses")
}

/// What an answer (or no answer) means for a delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Delivered,
    /// Try again (5xx, 408, 429, network errors, timeouts).
    Retry,
    /// Never retried (other 4xx, redirects): the event finally failed.
    Reject,
    /// 410 Gone: the endpoint is disabled at once.
    Gone,
}

/// The verdict on an HTTP status (`None`: no response at all).
pub fn verdict(status: Option<u16>) -> Verdict {
    match status {
        None => Verdict::Retry,
        Some(s) if (200..300).contains(&s) => Verdict::Delivered,
        Some(410) => Verdict::Gone,
        Some(408 | 429) => Verdict::Retry,
        Some(s) if s >= 500 => Verdict::Retry,
        Some(_) => Verdict::Reject,
    }
}

/// A `Retry-After` value: delay-seconds or an HTTP date.
pub fn parse_retry_after(value: &str, now: chrono::DateTime<chrono::Utc>) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
        (at.with_timezone(&chrono::Utc) - now)
            .to_std()
            .unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_is_the_documented_one() {
        let s = default_schedule();
        assert_eq!(s.retries(), 8);
        assert_eq!(
            s,
            RetrySchedule::new(vec![
                Duration::from_secs(5),
                Duration::from_secs(30),
                Duration::from_secs(120),
                Duration::from_secs(600),
                Duration::from_secs(1800),
                Duration::from_secs(3600),
                Duration::from_secs(7200),
                Duration::from_secs(14400),
            ])
        );
    }

    #[test]
    fn verdicts() {
        assert_eq!(verdict(Some(200)), Verdict::Delivered);
        assert_eq!(verdict(Some(204)), Verdict::Delivered);
        assert_eq!(verdict(Some(500)), Verdict::Retry);
        assert_eq!(verdict(Some(503)), Verdict::Retry);
        assert_eq!(verdict(Some(408)), Verdict::Retry);
        assert_eq!(verdict(Some(429)), Verdict::Retry);
        assert_eq!(verdict(Some(400)), Verdict::Reject);
        assert_eq!(verdict(Some(404)), Verdict::Reject);
        assert_eq!(verdict(Some(301)), Verdict::Reject);
        assert_eq!(verdict(Some(410)), Verdict::Gone);
        assert_eq!(verdict(None), Verdict::Retry);
    }

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:01:00 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(parse_retry_after("999999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
