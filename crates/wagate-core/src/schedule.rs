//! Durations as operators write them, and retry schedules made of them.
//!
//! One grammar serves every setting (`SEND_RETRY_SCHEDULE`,
//! `WEBHOOK_RETRY_SCHEDULE`, `JWT_EXPIRES_IN`, …): a number with `ms`, `s`,
//! `m`, `h` or `d`, or a bare number of seconds; decimals allowed. A
//! [`RetrySchedule`] is a comma list of them: attempt `n` failing waits the
//! `n`-th delay, and once the list is used up the work has finally failed.

use std::time::Duration;

use rand::Rng;

/// The longest duration a setting may name (ten years): anything longer is
/// a typo, and would overflow the clock arithmetic it feeds.
const MAX: Duration = Duration::from_secs(10 * 365 * 24 * 3600);

/// `250ms`, `5s`, `2m`, `1h`, `7d`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Option<Duration> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let n: f64 = number
        .parse()
        .ok()
        .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
    let secs = match unit.trim() {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "d" => n * 86_400.0,
        _ => return None,
    };
    Duration::try_from_secs_f64(secs).ok().filter(|d| *d <= MAX)
}

/// Waits between attempts of work that failed for a transient reason.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetrySchedule {
    delays: Vec<Duration>,
}

impl RetrySchedule {
    pub fn new(delays: Vec<Duration>) -> Self {
        RetrySchedule { delays }
    }

    /// Parses `5s,30s,2m,1h,250ms` (see [`parse_duration`]); empty is no
    /// retry at all.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut delays = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            delays.push(parse_duration(part).ok_or_else(|| {
                format!(
                    "'{part}' is not a delay: use a number with ms, s, m, h or d, e.g. 5s,30s,2m"
                )
            })?);
        }
        Ok(RetrySchedule { delays })
    }

    /// How many retries follow the first attempt.
    pub fn retries(&self) -> usize {
        self.delays.len()
    }

    /// The wait after failed attempt `attempt` (0-based), exactly as
    /// written; `None` once the schedule is used up.
    pub fn base(&self, attempt: usize) -> Option<Duration> {
        self.delays.get(attempt).copied()
    }

    /// [`RetrySchedule::base`] jittered ±20%, so many failures that happened
    /// together do not retry together.
    pub fn delay(&self, attempt: usize) -> Option<Duration> {
        let base = self.base(attempt)?;
        let factor = rand::rng().random_range(0.8..=1.2);
        Some(base.mul_f64(factor))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        assert_eq!(parse_duration("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse_duration("2m"), Some(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5s"), Some(Duration::from_millis(1500)));
        assert_eq!(parse_duration("1h"), Some(Duration::from_secs(3600)));
        assert_eq!(parse_duration("7d"), Some(Duration::from_secs(604_800)));
        assert_eq!(parse_duration("5x"), None);
        assert_eq!(parse_duration("-1s"), None);
        assert_eq!(parse_duration("99999999999999999999d"), None);
    }

    #[test]
    fn schedules() {
        let s = RetrySchedule::parse("250ms, 10s,1m").unwrap();
        assert_eq!(s.retries(), 3);
        assert_eq!(s.base(0), Some(Duration::from_millis(250)));
        assert_eq!(s.base(3), None);
        assert!(RetrySchedule::parse("1s,nope").is_err());
        assert_eq!(RetrySchedule::parse("").unwrap().retries(), 0);
        for _ in 0..100 {
            let d = s.delay(1).unwrap();
            assert!(d >= Duration::from_secs(8) && d <= Duration::from_secs(12));
        }
    }
}
