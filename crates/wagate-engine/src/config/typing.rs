//! Simulated typing pauses (`TYPING_DELAY_MIN`, `TYPING_DELAY_MAX`): how
//! long `composing` shows before a send.

use std::time::Duration;

/// A person types about this many characters per second.
const TYPING_CHARS_PER_SEC: f64 = 6.0;

/// How long a simulated typing pause lasts: it grows with the text, with
/// jitter, and stays within `min..=max`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypingConfig {
    pub min: Duration,
    pub max: Duration,
}

impl Default for TypingConfig {
    fn default() -> Self {
        TypingConfig {
            min: Duration::from_secs(1),
            max: Duration::from_secs(3),
        }
    }
}

impl TypingConfig {
    /// Reads `TYPING_DELAY_MIN` and `TYPING_DELAY_MAX` (whole seconds).
    pub fn from_env() -> Result<TypingConfig, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<TypingConfig, String> {
        let d = TypingConfig::default();
        let secs = |name: &str, default: Duration| -> Result<Duration, String> {
            match get(name).filter(|v| !v.trim().is_empty()) {
                None => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<u64>()
                    .map(Duration::from_secs)
                    .map_err(|_| format!("{name} must be a whole number of seconds, not '{v}'")),
            }
        };
        let min = secs("TYPING_DELAY_MIN", d.min)?;
        let max = secs("TYPING_DELAY_MAX", d.max)?;
        if max < min {
            return Err("TYPING_DELAY_MAX must not be less than TYPING_DELAY_MIN".into());
        }
        Ok(TypingConfig { min, max })
    }

    /// The pause for a text of `chars` characters: `min` plus the time a
    /// person needs to type it, ±20%, never above `max`.
    pub fn for_text(&self, chars: usize) -> Duration {
        let typing = chars as f64 / TYPING_CHARS_PER_SEC;
        let jitter = rand::random_range(0.8..=1.2);
        let secs = self.min.as_secs_f64() + typing * jitter;
        Duration::from_secs_f64(secs.clamp(self.min.as_secs_f64(), self.max.as_secs_f64()))
    }

    /// A random pause in `min..=max`.
    pub fn pick(&self) -> Duration {
        let (lo, hi) = (self.min.as_millis() as u64, self.max.as_millis() as u64);
        Duration::from_millis(if hi > lo {
            rand::random_range(lo..=hi)
        } else {
            lo
        })
    }
}
