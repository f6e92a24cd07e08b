//! A room's settings as the operator writes them (`RoomSettings`, with its
//! `AiSettings`): their serde defaults, their bounds, and how the API shows
//! them. They are stored as JSON on the room row and read by the worker.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wagate_core::warming::{ActiveHours, RampUp};

use super::config::Provider;

/// A room's AI settings; each left out takes the deployment's default.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AiSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Write-only: stored, used, never returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// How a room runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomSettings {
    #[serde(default = "default_interval_min")]
    pub interval_min_secs: u64,
    #[serde(default = "default_interval_max")]
    pub interval_max_secs: u64,
    /// At the end of the script, start over (else finish).
    #[serde(default, rename = "loop")]
    pub loop_script: bool,
    /// The room's clock: `+07:00`, `UTC`, ….
    #[serde(default = "default_timezone")]
    pub timezone: String,
    #[serde(default)]
    pub active_hours: Option<ActiveHours>,
    /// Resume by itself when every member session is connected again.
    #[serde(default = "yes")]
    pub auto_resume: bool,
    /// Render and record, send nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// A daily message budget per session (none: no budget).
    #[serde(default)]
    pub ramp_up: Option<RampUp>,
    /// AI mode: messages before the room finishes (default 20).
    #[serde(default)]
    pub max_messages: Option<u32>,
    #[serde(default)]
    pub ai: AiSettings,
}

fn default_interval_min() -> u64 {
    30
}
fn default_interval_max() -> u64 {
    120
}
fn default_timezone() -> String {
    "UTC".into()
}
fn yes() -> bool {
    true
}

impl Default for RoomSettings {
    fn default() -> Self {
        serde_json::from_value(json!({})).expect("defaults")
    }
}

impl RoomSettings {
    /// Checks bounds; the message says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        if self.interval_min_secs < 1 || self.interval_min_secs > 86_400 {
            return Err("intervalMinSecs must be between 1 and 86400".into());
        }
        if self.interval_max_secs < self.interval_min_secs || self.interval_max_secs > 86_400 {
            return Err("intervalMaxSecs must be between intervalMinSecs and 86400".into());
        }
        if self.utc_offset().is_none() {
            return Err("timezone must be a UTC offset like +07:00 or UTC".into());
        }
        if let Some(h) = &self.active_hours
            && !h.is_valid()
        {
            return Err("activeHours must be {\"start\": \"HH:MM\", \"end\": \"HH:MM\"}".into());
        }
        if let Some(r) = &self.ramp_up
            && (r.start == 0 || r.max < r.start)
        {
            return Err("rampUp needs start ≥ 1 and max ≥ start".into());
        }
        if let Some(p) = &self.ai.provider
            && Provider::parse(p).is_none()
        {
            return Err("ai.provider must be openai or gemini".into());
        }
        if let Some(t) = self.ai.temperature
            && !(0.0..=2.0).contains(&t)
        {
            return Err("ai.temperature must be between 0 and 2".into());
        }
        if self.ai.max_tokens.is_some_and(|t| t == 0 || t > 8192) {
            return Err("ai.maxTokens must be between 1 and 8192".into());
        }
        if self.max_messages.is_some_and(|m| m > 100_000) {
            return Err("maxMessages must be at most 100000".into());
        }
        Ok(())
    }

    pub fn utc_offset(&self) -> Option<i32> {
        wagate_core::warming::parse_utc_offset(&self.timezone)
    }

    /// A random wait between two lines, in ms.
    pub fn pick_interval_ms(&self) -> i64 {
        let (lo, hi) = (self.interval_min_secs * 1000, self.interval_max_secs * 1000);
        rand::random_range(lo..=hi.max(lo)) as i64
    }

    /// The settings as the API shows them (the key left out).
    pub fn public(&self) -> Value {
        let mut s = self.clone();
        let has_key = s.ai.api_key.take().is_some();
        let mut v = serde_json::to_value(s).unwrap_or_default();
        v["ai"]["hasApiKey"] = json!(has_key);
        v
    }
}
