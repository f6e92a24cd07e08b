#![cfg(test)]
//! Unit tests of the outbound policy: address ranges, the environment,
//! URL checks, and the client against a real loopback server.

use std::net::IpAddr;
use std::time::Duration;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn internal_ranges_are_not_public() {
    for s in [
        "127.0.0.1",
        "10.0.0.1",
        "172.20.1.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fc00::1",
        "fd12:3456::1",
        "fe80::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::a00:1",
        "2002:7f00:1::",
    ] {
        assert!(!is_public(ip(s)), "{s} must not be public");
    }
    for s in ["8.8.8.8", "93.184.216.34", "2606:4700::1111", "1.1.1.1"] {
        assert!(is_public(ip(s)), "{s} is public");
    }
}

#[test]
fn the_environment_sets_the_policy() {
    let p = Policy::from_lookup(|_| None).unwrap();
    assert!(!p.allow_private);
    assert!(!p.permits(ip("127.0.0.1")));
    let p = Policy::from_lookup(|k| {
        Some(match k {
            "OUTBOUND_ALLOW_PRIVATE" => "false".into(),
            _ => "10.1.0.0/16, hooks.internal, *.corp.example, 127.0.0.2".into(),
        })
    })
    .unwrap();
    assert!(p.permits(ip("10.1.2.3")));
    assert!(!p.permits(ip("10.2.0.1")));
    assert!(p.permits(ip("127.0.0.2")));
    assert!(p.permits(ip("::ffff:127.0.0.2")));
    assert!(p.host_allowed("HOOKS.internal."));
    assert!(p.host_allowed("a.corp.example"));
    assert!(!p.host_allowed("corp.example.evil"));
    assert!(
        Policy::from_lookup(|k| (k == "OUTBOUND_ALLOW_PRIVATE").then(|| "maybe".into())).is_err()
    );
    assert!(Policy::from_lookup(|k| (k == "OUTBOUND_ALLOW_HOSTS").then(|| "a b".into())).is_err());
    let open =
        Policy::from_lookup(|k| (k == "OUTBOUND_ALLOW_PRIVATE").then(|| "true".into())).unwrap();
    assert!(open.permits(ip("127.0.0.1")));
}

#[test]
fn ip_literals_are_checked_before_any_request() {
    let p = Policy::default();
    for url in [
        "http://127.0.0.1:8080/x",
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://0x7f.1/",
        "http://2130706433/",
        "http://[::ffff:7f00:1]/",
    ] {
        assert_eq!(
            p.check_url(url).unwrap_err().reason,
            Reason::ForbiddenAddress,
            "{url}"
        );
    }
    assert_eq!(
        p.check_url("file:///etc/passwd").unwrap_err().reason,
        Reason::InvalidUrl
    );
    assert!(p.check_url("https://example.com/a.jpg").is_ok());
}

/// A small real server on loopback: `/file` answers bytes, `/hop`
/// redirects to `/file` on 127.0.0.1.
async fn server() -> (u16, tokio::task::JoinHandle<()>) {
    use axum::response::Redirect;
    use axum::routing::get;
    let listener = tokio::net::TcpListener::bind("0.0.0.0:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app =
        axum::Router::new()
            .route("/file", get(|| async { vec![7u8; 1000] }))
            .route(
                "/hop",
                get(move || async move {
                    Redirect::temporary(&format!("http://127.0.0.1:{port}/file"))
                }),
            );
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (port, task)
}

#[tokio::test]
async fn connect_time_checks_names_redirects_and_sizes() {
    let (port, task) = server().await;
    let t = Duration::from_secs(10);
    let closed = Outbound::default();
    // A host name that resolves to loopback: refused when resolved.
    let e = closed
        .fetch(&format!("http://localhost:{port}/file"), 1 << 20, t)
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::ForbiddenAddress, "{e:?}");

    // An allowed host that redirects to a forbidden one: the hop is refused.
    let mut p = Policy::default();
    p.allow("127.0.0.2").unwrap();
    let some = Outbound::new(p);
    assert_eq!(
        some.fetch(&format!("http://127.0.0.2:{port}/file"), 1 << 20, t)
            .await
            .unwrap()
            .len(),
        1000
    );
    let e = some
        .fetch(&format!("http://127.0.0.2:{port}/hop"), 1 << 20, t)
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::ForbiddenAddress, "{e:?}");

    // Allowed: everything works, and the cap holds.
    let open = Outbound::new(Policy {
        allow_private: true,
        ..Default::default()
    });
    let body = open
        .fetch(&format!("http://localhost:{port}/hop"), 1 << 20, t)
        .await
        .unwrap();
    assert_eq!(body.len(), 1000);
    let e = open
        .fetch(&format!("http://127.0.0.1:{port}/file"), 999, t)
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::TooLarge);
    let e = open
        .fetch(&format!("http://127.0.0.1:{port}/missing"), 999, t)
        .await
        .unwrap_err();
    assert_eq!((e.reason, e.status), (Reason::HttpStatus, Some(404)));
    task.abort();
    // Nothing listens any more: one class, no socket text.
    let e = open
        .fetch(&format!("http://127.0.0.1:{port}/file"), 999, t)
        .await
        .unwrap_err();
    assert_eq!(e.reason, Reason::Unreachable);
    assert!(!e.message.contains("refused"), "{}", e.message);
}
