//! The AI providers that write a room's next message: any OpenAI-compatible
//! `chat/completions` API, or Gemini's `generateContent`. Calls are bounded
//! (a time limit, a few retries on 5xx/timeouts, a cap per room per hour);
//! errors come back as one line without the key, so a room can pause with
//! the reason.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::config::{AiConfig, Provider};

/// Who said a history message, from the speaker's point of view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Turn {
    /// The speaker itself.
    Own(String),
    /// The other side.
    Other(String),
}

/// One generation request.
#[derive(Clone, Debug)]
pub struct Prompt {
    pub provider: Provider,
    pub model: String,
    pub temperature: f32,
    pub max_tokens: u32,
    /// A room's own key (write-only), else the deployment's.
    pub api_key: Option<String>,
    /// The speaker's persona and situation.
    pub system: String,
    /// The last messages, oldest first.
    pub history: Vec<Turn>,
}

#[derive(Debug, thiserror::Error)]
pub enum AiError {
    #[error("AI provider {0} has no API key (set {1} or the room's apiKey)")]
    NoKey(&'static str, &'static str),
    #[error("AI provider {provider} answered HTTP {status}: {body}")]
    Status {
        provider: &'static str,
        status: u16,
        body: String,
    },
    #[error("AI provider {0} did not answer: {1}")]
    Transport(&'static str, String),
    #[error("AI provider {0} answered without a message")]
    Empty(&'static str),
    #[error("AI call limit reached for this room ({0} per hour)")]
    RateLimited(u32),
}

impl AiError {
    fn is_transient(&self) -> bool {
        match self {
            AiError::Status { status, .. } => *status >= 500 || *status == 429,
            AiError::Transport(..) => true,
            _ => false,
        }
    }
}

/// The providers' client, shared by every room.
pub struct Ai {
    config: AiConfig,
    http: reqwest::Client,
    /// Recent calls per room (for the hourly cap).
    calls: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Ai {
    pub fn new(config: AiConfig) -> Ai {
        let http = wagate_outbound::client_builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Ai {
            config,
            http,
            calls: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &AiConfig {
        &self.config
    }

    /// Writes the next message for `room_id`.
    pub async fn generate(&self, room_id: &str, prompt: &Prompt) -> Result<String, AiError> {
        self.count_call(room_id)?;
        let mut attempt = 0;
        loop {
            let result = match prompt.provider {
                Provider::OpenAi => self.openai(prompt).await,
                Provider::Gemini => self.gemini(prompt).await,
            };
            match result {
                Err(e) if e.is_transient() && attempt < self.config.retries => {
                    attempt += 1;
                    tokio::time::sleep(Duration::from_millis(500 * u64::from(attempt))).await;
                }
                other => return other.map(|t| t.trim().to_string()),
            }
        }
    }

    fn count_call(&self, room_id: &str) -> Result<(), AiError> {
        let cap = self.config.max_calls_per_hour;
        if cap == 0 {
            return Ok(());
        }
        let mut calls = self.calls.lock().unwrap_or_else(|e| e.into_inner());
        if calls.len() > 10_000 {
            calls.retain(|_, q| {
                q.back()
                    .is_some_and(|t| t.elapsed() < Duration::from_secs(3600))
            });
        }
        let q = calls.entry(room_id.to_string()).or_default();
        while q
            .front()
            .is_some_and(|t| t.elapsed() >= Duration::from_secs(3600))
        {
            q.pop_front();
        }
        if q.len() >= cap as usize {
            return Err(AiError::RateLimited(cap));
        }
        q.push_back(Instant::now());
        Ok(())
    }

    async fn openai(&self, p: &Prompt) -> Result<String, AiError> {
        const NAME: &str = "openai";
        let key = p
            .api_key
            .as_deref()
            .or(self.config.openai_api_key.get())
            .ok_or(AiError::NoKey(NAME, "OPENAI_API_KEY"))?;
        let mut messages = vec![json!({ "role": "system", "content": p.system })];
        messages.extend(p.history.iter().map(|t| match t {
            Turn::Own(text) => json!({ "role": "assistant", "content": text }),
            Turn::Other(text) => json!({ "role": "user", "content": text }),
        }));
        if p.history.is_empty() {
            messages.push(json!({ "role": "user", "content": OPENER }));
        }
        let body = json!({
            "model": p.model,
            "messages": messages,
            "temperature": p.temperature,
            "max_tokens": p.max_tokens,
        });
        let url = format!("{}/chat/completions", self.config.openai_base_url);
        let answer = self
            .post(NAME, self.http.post(url).bearer_auth(key).json(&body))
            .await?;
        answer["choices"][0]["message"]["content"]
            .as_str()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_owned)
            .ok_or(AiError::Empty(NAME))
    }

    async fn gemini(&self, p: &Prompt) -> Result<String, AiError> {
        const NAME: &str = "gemini";
        let key = p
            .api_key
            .as_deref()
            .or(self.config.gemini_api_key.get())
            .ok_or(AiError::NoKey(NAME, "GEMINI_API_KEY"))?;
        let mut contents: Vec<Value> = p
            .history
            .iter()
            .map(|t| match t {
                Turn::Own(text) => json!({ "role": "model", "parts": [{ "text": text }] }),
                Turn::Other(text) => json!({ "role": "user", "parts": [{ "text": text }] }),
            })
            .collect();
        if contents.is_empty() {
            contents.push(json!({ "role": "user", "parts": [{ "text": OPENER }] }));
        }
        let body = json!({
            "systemInstruction": { "parts": [{ "text": p.system }] },
            "contents": contents,
            "generationConfig": { "temperature": p.temperature, "maxOutputTokens": p.max_tokens },
        });
        // The key goes in a header, never in the URL (URLs end up in logs).
        let url = format!(
            "{}/v1beta/models/{}:generateContent",
            self.config.gemini_base_url,
            urlencode(&p.model)
        );
        let answer = self
            .post(
                NAME,
                self.http
                    .post(url)
                    .header("x-goog-api-key", key)
                    .json(&body),
            )
            .await?;
        let parts = answer["candidates"][0]["content"]["parts"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let text: String = parts.iter().filter_map(|p| p["text"].as_str()).collect();
        (!text.trim().is_empty())
            .then_some(text)
            .ok_or(AiError::Empty(NAME))
    }

    async fn post(
        &self,
        provider: &'static str,
        req: reqwest::RequestBuilder,
    ) -> Result<Value, AiError> {
        let resp = req
            .send()
            .await
            .map_err(|e| AiError::Transport(provider, e.without_url().to_string()))?;
        let status = resp.status().as_u16();
        // Bounded: a provider's answer is read up to 1 MiB.
        let bytes = read_limited(resp, 1 << 20)
            .await
            .map_err(|e| AiError::Transport(provider, e))?;
        if !(200..300).contains(&status) {
            let body: String = String::from_utf8_lossy(&bytes).chars().take(200).collect();
            return Err(AiError::Status {
                provider,
                status,
                body: body.replace(['\n', '\r'], " "),
            });
        }
        serde_json::from_slice(&bytes).map_err(|_| AiError::Empty(provider))
    }
}

/// What an actor is asked when it speaks first.
const OPENER: &str = "Start the conversation with a short, friendly message.";

async fn read_limited(mut resp: reqwest::Response, limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if out.len() + chunk.len() > limit {
            return Err("the answer is too large".into());
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
