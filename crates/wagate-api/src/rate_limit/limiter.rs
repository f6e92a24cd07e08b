//! The limiter itself: the categories ([`classify`]), the limits
//! (`RATE_LIMIT_*` and a tenant's overrides) and the fixed windows
//! ([`RateLimiter`]), pure and testable without HTTP.
//!
//! A component: [`crate::state::AppState`] holds the [`RateLimiter`], so this
//! file imports neither the state nor the middleware; what it reads from
//! the database (a tenant's overrides) it is given the store for.

use std::collections::HashMap;
use std::sync::Mutex;

use axum::http::Method;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use wagate_store::Store;
use wagate_store::app::TenantRateLimits;

/// One window, in milliseconds.
const WINDOW_MS: u64 = 60_000;
/// How long a tenant's overrides are trusted before being read again.
const OVERRIDES_TTL_MS: u64 = 60_000;
/// Largest limit accepted per category.
pub(crate) const MAX_PER_MIN: u32 = 1_000_000;

/// The contract's endpoint categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    Session,
    Send,
    Read,
    Webhook,
}

impl Category {
    fn index(self) -> usize {
        match self {
            Category::Session => 0,
            Category::Send => 1,
            Category::Read => 2,
            Category::Webhook => 3,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Category::Session => "session",
            Category::Send => "send",
            Category::Read => "read",
            Category::Webhook => "webhook",
        }
    }
}

/// Requests per minute by category; `0` means unlimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Limits {
    pub session: u32,
    pub send: u32,
    pub read: u32,
    pub webhook: u32,
}

impl Default for Limits {
    /// The contract's table.
    fn default() -> Self {
        Limits {
            session: 10,
            send: 60,
            read: 120,
            webhook: 10,
        }
    }
}

impl Limits {
    pub fn get(&self, category: Category) -> u32 {
        match category {
            Category::Session => self.session,
            Category::Send => self.send,
            Category::Read => self.read,
            Category::Webhook => self.webhook,
        }
    }

    /// These limits with a tenant's overrides applied.
    pub fn with(&self, o: &TenantRateLimits) -> Limits {
        Limits {
            session: o.session.unwrap_or(self.session),
            send: o.send.unwrap_or(self.send),
            read: o.read.unwrap_or(self.read),
            webhook: o.webhook.unwrap_or(self.webhook),
        }
    }
}

/// `RATE_LIMIT_*` from the environment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitConfig {
    /// `RATE_LIMIT_ENABLED` (default true).
    pub enabled: bool,
    /// `RATE_LIMIT_{SESSION,SEND,READ,WEBHOOK}_PER_MIN`.
    pub limits: Limits,
    /// `RATE_LIMIT_ADMIN` (default false): count the admin key too.
    pub limit_admin: bool,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        RateLimitConfig {
            enabled: true,
            limits: Limits::default(),
            limit_admin: false,
        }
    }
}

impl RateLimitConfig {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `var` (the environment, or a test's map).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let flag = |name: &str, default: bool| -> Result<bool, String> {
            match var(name).map(|v| v.trim().to_ascii_lowercase()) {
                None => Ok(default),
                Some(v) if v.is_empty() => Ok(default),
                Some(v) => match v.as_str() {
                    "1" | "true" | "yes" | "on" => Ok(true),
                    "0" | "false" | "no" | "off" => Ok(false),
                    _ => Err(format!("{name} must be true or false, not '{v}'")),
                },
            }
        };
        let per_min = |name: &str, default: u32| -> Result<u32, String> {
            match var(name).map(|v| v.trim().to_string()) {
                None => Ok(default),
                Some(v) if v.is_empty() => Ok(default),
                Some(v) => v
                    .parse::<u32>()
                    .ok()
                    .filter(|n| *n <= MAX_PER_MIN)
                    .ok_or_else(|| {
                        format!(
                            "{name} must be a number of requests per minute (0 turns it off), not '{v}'"
                        )
                    }),
            }
        };
        let d = Limits::default();
        Ok(RateLimitConfig {
            enabled: flag("RATE_LIMIT_ENABLED", true)?,
            limits: Limits {
                session: per_min("RATE_LIMIT_SESSION_PER_MIN", d.session)?,
                send: per_min("RATE_LIMIT_SEND_PER_MIN", d.send)?,
                read: per_min("RATE_LIMIT_READ_PER_MIN", d.read)?,
                webhook: per_min("RATE_LIMIT_WEBHOOK_PER_MIN", d.webhook)?,
            },
            limit_admin: flag("RATE_LIMIT_ADMIN", false)?,
        })
    }
}

/// The category of a request to `path` (the full path, `/api/…`), or `None`
/// when it is not limited.
pub fn classify(method: &Method, path: &str) -> Option<Category> {
    if let Some(rest) = path.strip_prefix("/compat/") {
        return classify_compat(method, rest);
    }
    let rest = path.strip_prefix("/api/")?;
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let first = *segs.first()?;
    if first.starts_with("docs") {
        return None;
    }
    let is_read = *method == Method::GET || *method == Method::HEAD;
    if *method == Method::OPTIONS {
        return None;
    }
    if is_read {
        let stream = matches!(
            segs.as_slice(),
            ["events"] | ["sessions", _, "events"] | ["listen", _]
        );
        return (!stream).then_some(Category::Read);
    }
    Some(match segs.as_slice() {
        ["tenants", ..] => Category::Session,
        ["webhooks", ..]
        | ["sessions", _, "webhooks", ..]
        | ["instances", _, "webhook-setconfig"] => Category::Webhook,
        ["sessions", _, "messages", ..] => Category::Send,
        ["sessions", _, "contacts", "check", ..] => Category::Read,
        [
            "sessions",
            _,
            "groups" | "presence" | "chats" | "contacts" | "queue" | "channels" | "status",
            ..,
        ] => Category::Send,
        _ => Category::Session,
    })
}

/// The drop-in routes (`/compat/<system>/…`) count like their native
/// twins: reads as reads (not the health check or a live stream), sends as
/// sends, webhook settings as webhook management, the rest as session
/// management.
fn classify_compat(method: &Method, rest: &str) -> Option<Category> {
    let segs: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let last = *segs.last()?;
    if *method == Method::OPTIONS {
        return None;
    }
    if *method == Method::GET || *method == Method::HEAD {
        return (!matches!(last, "health" | "stream")).then_some(Category::Read);
    }
    Some(if segs.iter().any(|s| s.starts_with("send")) {
        Category::Send
    } else if segs.iter().any(|s| s.starts_with("webhook")) {
        Category::Webhook
    } else {
        Category::Session
    })
}

/// What one request was told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    pub limit: u32,
    pub remaining: u32,
    /// Unix seconds at which the window closes.
    pub reset: u64,
    /// Seconds until then, at least 1.
    pub retry_after: u64,
}

#[derive(Clone, Copy, Debug)]
struct Window {
    start_ms: u64,
    count: u32,
}

#[derive(Default)]
struct Windows {
    by_tenant: HashMap<String, [Option<Window>; 4]>,
    last_prune_ms: u64,
}

/// The counters and the per-tenant overrides cache.
pub struct RateLimiter {
    pub config: RateLimitConfig,
    windows: Mutex<Windows>,
    overrides: Mutex<HashMap<String, (TenantRateLimits, u64)>>,
}

impl RateLimiter {
    pub fn new(config: RateLimitConfig) -> Self {
        RateLimiter {
            config,
            windows: Mutex::new(Windows::default()),
            overrides: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request of `tenant` in `category` at `now_ms` against
    /// `limit` (> 0). A refused request is not counted.
    pub fn hit(&self, tenant: &str, category: Category, limit: u32, now_ms: u64) -> Decision {
        let mut guard = self.windows.lock().unwrap_or_else(|e| e.into_inner());
        let w = &mut *guard;
        if now_ms.saturating_sub(w.last_prune_ms) >= WINDOW_MS {
            w.last_prune_ms = now_ms;
            w.by_tenant.retain(|_, slots| {
                slots.iter_mut().for_each(|s| {
                    if s.is_some_and(|win| now_ms >= win.start_ms + WINDOW_MS) {
                        *s = None;
                    }
                });
                slots.iter().any(Option::is_some)
            });
        }
        if !w.by_tenant.contains_key(tenant) {
            w.by_tenant.insert(tenant.to_string(), [None; 4]);
        }
        let Some(slots) = w.by_tenant.get_mut(tenant) else {
            unreachable!("inserted above")
        };
        let slot = &mut slots[category.index()];
        if slot.is_some_and(|win| now_ms >= win.start_ms + WINDOW_MS) {
            *slot = None;
        }
        let window = slot.get_or_insert(Window {
            start_ms: now_ms,
            count: 0,
        });
        let allowed = window.count < limit;
        if allowed {
            window.count += 1;
        }
        let end_ms = window.start_ms + WINDOW_MS;
        Decision {
            allowed,
            limit,
            remaining: limit - window.count,
            reset: end_ms.div_ceil(1000),
            retry_after: (end_ms - now_ms).div_ceil(1000).max(1),
        }
    }

    /// The limits that apply to `tenant`: the server's, with the tenant's
    /// overrides (from the cache, or read once a minute).
    pub async fn limits_for(&self, store: &Store, tenant: &str, now_ms: u64) -> Limits {
        let cached = self
            .overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(tenant)
            .filter(|(_, at)| now_ms.saturating_sub(*at) < OVERRIDES_TTL_MS)
            .map(|(o, _)| *o);
        let overrides = match cached {
            Some(o) => o,
            None => {
                // A failed read keeps the defaults for this request only.
                let Ok(found) = store.tenant_rate_limits(tenant).await else {
                    return self.config.limits;
                };
                let o = found.unwrap_or_default();
                let mut cache = self.overrides.lock().unwrap_or_else(|e| e.into_inner());
                if cache.len() > 10_000 {
                    cache.retain(|_, (_, at)| now_ms.saturating_sub(*at) < OVERRIDES_TTL_MS);
                }
                cache.insert(tenant.to_string(), (o, now_ms));
                o
            }
        };
        self.config.limits.with(&overrides)
    }

    /// Drops a tenant's cached overrides (they were just changed).
    pub fn forget_tenant(&self, tenant: &str) {
        self.overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tenant);
    }
}

pub(crate) fn now_ms() -> u64 {
    u64::try_from(wagate_core::now_ms()).unwrap_or(0)
}

#[cfg(test)]
mod tests;
