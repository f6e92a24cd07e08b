//! The warming settings (`WARMING_*`, `DEFAULT_REPLY_DELAY_*`, `AI_*`,
//! `OPENAI_*`, `GEMINI_*`). Provider keys are kept as [`Secret`]s: they
//! never appear in `Debug` output or logs.

use std::time::Duration;

/// A value that must never be printed.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "<unset>"
        } else {
            "<secret>"
        })
    }
}

impl Secret {
    pub fn get(&self) -> Option<&str> {
        (!self.0.is_empty()).then_some(self.0.as_str())
    }
}

/// Which AI API writes a room's messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provider {
    /// Any OpenAI-compatible `chat/completions` API (local servers too).
    OpenAi,
    Gemini,
}

impl Provider {
    pub fn parse(s: &str) -> Option<Provider> {
        match s.trim().to_ascii_lowercase().as_str() {
            "openai" => Some(Provider::OpenAi),
            "gemini" => Some(Provider::Gemini),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Gemini => "gemini",
        }
    }
}

#[derive(Clone, Debug)]
pub struct AiConfig {
    pub default_provider: Provider,
    pub temperature: f32,
    pub max_tokens: u32,
    /// Messages of history sent with each request.
    pub history_limit: usize,
    pub openai_api_key: Secret,
    pub openai_base_url: String,
    pub openai_model: String,
    pub gemini_api_key: Secret,
    pub gemini_base_url: String,
    pub gemini_model: String,
    /// One request's time limit.
    pub timeout: Duration,
    /// Retries after a failed request (5xx, timeout, connection).
    pub retries: u32,
    /// Most provider calls per room per hour.
    pub max_calls_per_hour: u32,
}

#[derive(Clone, Debug)]
pub struct WarmingConfig {
    pub worker_enabled: bool,
    pub worker_interval: Duration,
    pub auto_reply_enabled: bool,
    pub auto_reply_cooldown: Duration,
    pub reply_delay_min: Duration,
    pub reply_delay_max: Duration,
    pub ai: AiConfig,
}

impl Default for WarmingConfig {
    fn default() -> Self {
        WarmingConfig::from_lookup(|_| None).expect("defaults are valid")
    }
}

impl WarmingConfig {
    pub fn from_env() -> Result<WarmingConfig, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<WarmingConfig, String> {
        let get = |k: &str| {
            get(k)
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
        };
        let flag = |k: &str| -> Result<bool, String> {
            match get(k).as_deref() {
                None => Ok(false),
                Some("1" | "true" | "TRUE" | "yes" | "on") => Ok(true),
                Some("0" | "false" | "FALSE" | "no" | "off") => Ok(false),
                Some(v) => Err(format!("{k} must be true or false (got '{v}')")),
            }
        };
        fn num<T: std::str::FromStr>(k: &str, v: Option<String>, default: T) -> Result<T, String> {
            match v {
                None => Ok(default),
                Some(v) => v
                    .parse()
                    .map_err(|_| format!("{k} must be a non-negative number (got '{v}')")),
            }
        }
        let secs = |k: &str, d: u64| num::<u64>(k, get(k), d).map(Duration::from_secs);
        let worker_interval = secs("WARMING_WORKER_INTERVAL_SECONDS", 5)?;
        if worker_interval.is_zero() {
            return Err("WARMING_WORKER_INTERVAL_SECONDS must be at least 1".into());
        }
        let reply_delay_min = secs("DEFAULT_REPLY_DELAY_MIN", 10)?;
        let reply_delay_max = secs("DEFAULT_REPLY_DELAY_MAX", 60)?;
        if reply_delay_max < reply_delay_min {
            return Err("DEFAULT_REPLY_DELAY_MAX must not be below DEFAULT_REPLY_DELAY_MIN".into());
        }
        let provider = match get("AI_DEFAULT_PROVIDER") {
            None => Provider::Gemini,
            Some(v) => Provider::parse(&v).ok_or_else(|| {
                format!("AI_DEFAULT_PROVIDER must be gemini or openai (got '{v}')")
            })?,
        };
        let temperature: f32 = num("AI_DEFAULT_TEMPERATURE", get("AI_DEFAULT_TEMPERATURE"), 0.7)?;
        if !(0.0..=2.0).contains(&temperature) {
            return Err("AI_DEFAULT_TEMPERATURE must be between 0 and 2".into());
        }
        let url = |k: &str, d: &str| -> Result<String, String> {
            let v = get(k).unwrap_or_else(|| d.to_string());
            let parsed = url::Url::parse(&v).map_err(|e| format!("{k} is not a URL ({e})"))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(format!("{k} must be an http:// or https:// URL"));
            }
            Ok(v.trim_end_matches('/').to_string())
        };
        Ok(WarmingConfig {
            worker_enabled: flag("WARMING_WORKER_ENABLED")?,
            worker_interval,
            auto_reply_enabled: flag("WARMING_AUTO_REPLY_ENABLED")?,
            auto_reply_cooldown: secs("WARMING_AUTO_REPLY_COOLDOWN", 60)?,
            reply_delay_min,
            reply_delay_max,
            ai: AiConfig {
                default_provider: provider,
                temperature,
                max_tokens: num("AI_DEFAULT_MAX_TOKENS", get("AI_DEFAULT_MAX_TOKENS"), 150)?,
                history_limit: num(
                    "AI_CONVERSATION_HISTORY_LIMIT",
                    get("AI_CONVERSATION_HISTORY_LIMIT"),
                    10usize,
                )?
                .clamp(1, 200),
                openai_api_key: Secret(get("OPENAI_API_KEY").unwrap_or_default()),
                openai_base_url: url("OPENAI_BASE_URL", "https://api.openai.com/v1")?,
                openai_model: get("OPENAI_DEFAULT_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
                gemini_api_key: Secret(get("GEMINI_API_KEY").unwrap_or_default()),
                gemini_base_url: url(
                    "GEMINI_BASE_URL",
                    "https://generativelanguage.googleapis.com",
                )?,
                gemini_model: get("GEMINI_DEFAULT_MODEL")
                    .unwrap_or_else(|| "gemini-1.5-flash".into()),
                timeout: secs("AI_REQUEST_TIMEOUT_SECONDS", 30)?.max(Duration::from_secs(1)),
                retries: num("AI_MAX_RETRIES", get("AI_MAX_RETRIES"), 2u32)?.min(10),
                max_calls_per_hour: num(
                    "AI_MAX_CALLS_PER_HOUR",
                    get("AI_MAX_CALLS_PER_HOUR"),
                    120,
                )?,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn settings_come_from_the_environment_and_keys_stay_hidden() {
        let env: HashMap<&str, &str> = [
            ("WARMING_WORKER_ENABLED", "true"),
            ("WARMING_WORKER_INTERVAL_SECONDS", "1"),
            ("AI_DEFAULT_PROVIDER", "openai"),
            ("OPENAI_API_KEY", "sk-very-secret"),
            ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/"),
        ]
        .into();
        let c = WarmingConfig::from_lookup(|k| env.get(k).map(|v| v.to_string())).unwrap();
        assert!(c.worker_enabled);
        assert_eq!(c.worker_interval, Duration::from_secs(1));
        assert_eq!(c.ai.default_provider, Provider::OpenAi);
        assert_eq!(c.ai.openai_base_url, "http://127.0.0.1:9/v1");
        assert!(!format!("{c:?}").contains("sk-very-secret"));
        let d = WarmingConfig::default();
        assert!(!d.worker_enabled);
        assert_eq!(d.ai.history_limit, 10);
        assert_eq!(d.ai.gemini_model, "gemini-1.5-flash");
        for (k, v) in [
            ("WARMING_WORKER_INTERVAL_SECONDS", "0"),
            ("AI_DEFAULT_PROVIDER", "claude"),
            ("OPENAI_BASE_URL", "file:///etc/passwd"),
            ("WARMING_AUTO_REPLY_ENABLED", "maybe"),
        ] {
            assert!(
                WarmingConfig::from_lookup(|key| (key == k).then(|| v.to_string())).is_err(),
                "{k}={v} should be refused"
            );
        }
    }
}
