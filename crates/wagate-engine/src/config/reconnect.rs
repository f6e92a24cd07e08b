//! Connect pacing (`RECONNECT_CONCURRENCY`, `RECONNECT_JITTER_MS`): how many
//! sessions may be handshaking with WhatsApp at once when a crowd of them
//! comes back (start-up, a cluster takeover), and how much random delay
//! spreads their first dial.

use std::time::Duration;

/// The pacing of a reconnect storm.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReconnectConfig {
    /// Most sessions connecting (dialled, not yet connected) at once.
    pub concurrency: usize,
    /// Each session waits a random 0..=this before it dials.
    pub jitter: Duration,
}

impl Default for ReconnectConfig {
    fn default() -> Self {
        ReconnectConfig {
            concurrency: 256,
            jitter: Duration::from_millis(250),
        }
    }
}

impl ReconnectConfig {
    pub fn from_env() -> Result<ReconnectConfig, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<ReconnectConfig, String> {
        let d = ReconnectConfig::default();
        let number =
            |name: &str, default: u64, range: std::ops::RangeInclusive<u64>| match get(name)
                .filter(|v| !v.trim().is_empty())
            {
                None => Ok(default),
                Some(v) => match v.trim().parse::<u64>() {
                    Ok(n) if range.contains(&n) => Ok(n),
                    _ => Err(format!(
                        "{name} must be a whole number from {} to {}",
                        range.start(),
                        range.end()
                    )),
                },
            };
        Ok(ReconnectConfig {
            concurrency: number("RECONNECT_CONCURRENCY", d.concurrency as u64, 1..=10_000)?
                as usize,
            jitter: Duration::from_millis(number(
                "RECONNECT_JITTER_MS",
                d.jitter.as_millis() as u64,
                0..=60_000,
            )?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_bounds() {
        assert_eq!(
            ReconnectConfig::from_lookup(|_| None).unwrap(),
            ReconnectConfig::default()
        );
        let c = ReconnectConfig::from_lookup(|k| {
            Some(match k {
                "RECONNECT_CONCURRENCY" => "8".into(),
                _ => "0".into(),
            })
        })
        .unwrap();
        assert_eq!(c.concurrency, 8);
        assert_eq!(c.jitter, Duration::ZERO);
        for bad in ["0", "x", "-1", "10001"] {
            let r = ReconnectConfig::from_lookup(|k| {
                (k == "RECONNECT_CONCURRENCY").then(|| bad.to_string())
            });
            assert!(r.is_err(), "{bad}");
        }
    }
}
