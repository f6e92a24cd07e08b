#![cfg(test)]
//! Unit tests of the parent module.

use super::*;

fn c(method: Method, path: &str) -> Option<Category> {
    classify(&method, path)
}

#[test]
fn classifies_by_contract_category() {
    use Category::*;
    // Not limited.
    assert_eq!(c(Method::GET, "/health"), None);
    assert_eq!(c(Method::GET, "/health/detailed"), None);
    assert_eq!(c(Method::GET, "/api/docs"), None);
    assert_eq!(c(Method::GET, "/api/docs/index.html"), None);
    assert_eq!(c(Method::GET, "/api/docs-json"), None);
    assert_eq!(c(Method::GET, "/ws"), None);
    assert_eq!(c(Method::GET, "/api/events"), None);
    assert_eq!(c(Method::GET, "/api/sessions/s1/events"), None);
    assert_eq!(c(Method::GET, "/api/listen/s1"), None);
    assert_eq!(c(Method::OPTIONS, "/api/sessions"), None);
    // Session management.
    assert_eq!(c(Method::POST, "/api/sessions"), Some(Session));
    assert_eq!(c(Method::PATCH, "/api/sessions/s1"), Some(Session));
    assert_eq!(c(Method::DELETE, "/api/sessions/628123/"), Some(Session));
    for a in ["start", "stop", "restart", "logout", "pair-code"] {
        assert_eq!(
            c(Method::POST, &format!("/api/sessions/s1/{a}")),
            Some(Session)
        );
    }
    assert_eq!(c(Method::POST, "/api/tenants"), Some(Session));
    assert_eq!(c(Method::DELETE, "/api/tenants/t/keys/k"), Some(Session));
    assert_eq!(c(Method::PUT, "/api/tenants/t/rate-limits"), Some(Session));
    // Send.
    for s in [
        "send-text",
        "send-image",
        "send-bulk",
        "react",
        "edit",
        "revoke",
    ] {
        assert_eq!(
            c(Method::POST, &format!("/api/sessions/s1/messages/{s}")),
            Some(Send)
        );
    }
    assert_eq!(
        c(Method::DELETE, "/api/sessions/s1/messages/m1"),
        Some(Send)
    );
    assert_eq!(c(Method::POST, "/api/sessions/s1/groups"), Some(Send));
    assert_eq!(
        c(Method::PUT, "/api/sessions/s1/groups/g@g.us/subject"),
        Some(Send)
    );
    assert_eq!(c(Method::POST, "/api/sessions/s1/presence"), Some(Send));
    assert_eq!(c(Method::POST, "/api/sessions/s1/chats/c/read"), Some(Send));
    assert_eq!(
        c(Method::POST, "/api/sessions/s1/messages/send-otp"),
        Some(Send)
    );
    assert_eq!(
        c(Method::POST, "/api/sessions/s1/messages/batch/b1/cancel"),
        Some(Send)
    );
    assert_eq!(c(Method::DELETE, "/api/sessions/s1/queue/q1"), Some(Send));
    assert_eq!(
        c(Method::POST, "/api/sessions/s1/contacts/628/block"),
        Some(Send)
    );
    assert_eq!(c(Method::PUT, "/api/sessions/s1/pacing"), Some(Session));
    assert_eq!(
        c(Method::PUT, "/api/sessions/s1/profile-picture"),
        Some(Session)
    );
    assert_eq!(c(Method::POST, "/api/outbox/workers"), Some(Session));
    // Webhook management.
    assert_eq!(c(Method::POST, "/api/sessions/s1/webhooks"), Some(Webhook));
    assert_eq!(
        c(Method::PATCH, "/api/sessions/s1/webhooks/w1"),
        Some(Webhook)
    );
    assert_eq!(
        c(Method::POST, "/api/sessions/s1/webhooks/w1/replay"),
        Some(Webhook)
    );
    assert_eq!(c(Method::DELETE, "/api/webhooks/w1"), Some(Webhook));
    // Reads.
    assert_eq!(c(Method::GET, "/api/sessions"), Some(Read));
    assert_eq!(c(Method::GET, "/api/sessions/s1/qr"), Some(Read));
    assert_eq!(c(Method::GET, "/api/sessions/s1/webhooks"), Some(Read));
    assert_eq!(c(Method::HEAD, "/api/circles"), Some(Read));
    assert_eq!(c(Method::GET, "/api/no/such/route"), Some(Read));
    assert_eq!(
        c(Method::POST, "/api/sessions/s1/contacts/check"),
        Some(Read)
    );
}

#[test]
fn a_window_admits_the_limit_then_refuses_until_it_closes() {
    let l = RateLimiter::new(RateLimitConfig::default());
    let t0 = 1_706_868_000_500;
    for i in 0..3u32 {
        let d = l.hit("t", Category::Read, 3, t0 + u64::from(i));
        assert!(d.allowed);
        assert_eq!(d.remaining, 2 - i);
        assert_eq!(d.reset, 1_706_868_061);
    }
    let d = l.hit("t", Category::Read, 3, t0 + 30_000);
    assert!(!d.allowed);
    assert_eq!(
        (d.remaining, d.reset, d.retry_after),
        (0, 1_706_868_061, 30)
    );
    // Other categories and tenants have their own budgets.
    assert!(l.hit("t", Category::Send, 3, t0 + 30_000).allowed);
    assert!(l.hit("u", Category::Read, 3, t0 + 30_000).allowed);
    // A new window once this one has closed.
    let d = l.hit("t", Category::Read, 3, t0 + WINDOW_MS);
    assert!(d.allowed);
    assert_eq!(d.remaining, 2);
    assert_eq!(d.reset, (t0 + 2 * WINDOW_MS).div_ceil(1000));
    let d = l.hit("t", Category::Read, 3, t0 + WINDOW_MS + 1);
    assert_eq!(d.remaining, 1);
    // Once every window has closed, the next minute's pruning drops them.
    l.hit("v", Category::Read, 3, t0 + 4 * WINDOW_MS);
    let tenants: Vec<String> = l
        .windows
        .lock()
        .unwrap()
        .by_tenant
        .keys()
        .cloned()
        .collect();
    assert_eq!(tenants, ["v"]);
}

#[test]
fn config_from_variables() {
    let none = RateLimitConfig::from_lookup(|_| None).unwrap();
    assert_eq!(none, RateLimitConfig::default());
    let vars: HashMap<&str, &str> = [
        ("RATE_LIMIT_READ_PER_MIN", "5"),
        ("RATE_LIMIT_SEND_PER_MIN", "0"),
        ("RATE_LIMIT_ADMIN", "true"),
    ]
    .into_iter()
    .collect();
    let cfg = RateLimitConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap();
    assert_eq!(cfg.limits.read, 5);
    assert_eq!(cfg.limits.send, 0);
    assert_eq!(cfg.limits.session, 10);
    assert!(cfg.limit_admin && cfg.enabled);
    let bad = RateLimitConfig::from_lookup(|k| {
        (k == "RATE_LIMIT_SESSION_PER_MIN").then(|| "ten".to_string())
    });
    assert!(bad.unwrap_err().contains("RATE_LIMIT_SESSION_PER_MIN"));
    let off =
        RateLimitConfig::from_lookup(|k| (k == "RATE_LIMIT_ENABLED").then(|| "false".to_string()));
    assert!(!off.unwrap().enabled);
}

#[test]
fn overrides_apply_per_category() {
    let d = Limits::default();
    let o = TenantRateLimits {
        read: Some(5),
        send: Some(0),
        ..TenantRateLimits::default()
    };
    let l = d.with(&o);
    assert_eq!((l.session, l.send, l.read, l.webhook), (10, 0, 5, 10));
}
