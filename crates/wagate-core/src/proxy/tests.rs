use super::*;

#[test]
fn a_socks5_url_with_credentials_is_masked() {
    let p = ProxyUrl::parse(" socks5://alice:s3cr%40t@10.0.0.5:1080 ").unwrap();
    assert_eq!(p.scheme(), ProxyScheme::Socks5);
    assert_eq!(p.host(), "10.0.0.5");
    assert_eq!(p.port(), 1080);
    assert_eq!(
        p.credentials(),
        Some(("alice".to_string(), "s3cr@t".to_string()))
    );
    assert_eq!(p.masked(), "socks5://alice:***@10.0.0.5:1080");
    assert_eq!(p.to_string(), p.masked());
    assert!(!format!("{p:?}").contains("s3cr"));
    assert_eq!(p.secret_url(), "socks5://alice:s3cr%40t@10.0.0.5:1080");
    assert_eq!(ProxyUrl::parse(&p.secret_url()).unwrap(), p);
}

#[test]
fn every_scheme_and_address_form() {
    let h = ProxyUrl::parse("socks5h://proxy.example:9050").unwrap();
    assert_eq!(h.scheme(), ProxyScheme::Socks5h);
    assert_eq!(h.credentials(), None);
    assert_eq!(h.masked(), "socks5h://proxy.example:9050");
    let http = ProxyUrl::parse("http://bob@proxy.example").unwrap();
    assert_eq!(http.port(), 80);
    assert_eq!(http.masked(), "http://bob@proxy.example:80");
    assert_eq!(http.credentials(), Some(("bob".into(), String::new())));
    let v6 = ProxyUrl::parse("http://[::1]:3128/").unwrap();
    assert_eq!(v6.host(), "[::1]");
    assert_eq!(v6.bare_host(), "::1");
}

#[test]
fn bad_urls_say_why_without_the_url() {
    for (bad, why) in [
        ("not a url", "is not a URL"),
        ("https://h:443", "must start with"),
        ("ftp://h:21", "must start with"),
        ("socks5://h", "needs a port"),
        ("socks5://h:0", "needs a port"),
        ("socks5://:pw@h:1080", "no user name"),
        ("socks5://u:p@h:1080/path", "only scheme"),
        ("http://h:8080/?q=1", "only scheme"),
    ] {
        let e = ProxyUrl::parse(bad).unwrap_err();
        assert!(e.contains(why), "{bad}: {e}");
    }
    let long_user = format!("socks5://{}:p@h:1080", "u".repeat(256));
    assert!(ProxyUrl::parse(&long_user).unwrap_err().contains("255"));
    let e = ProxyUrl::parse(&"x".repeat(PROXY_URL_MAX_CHARS + 1)).unwrap_err();
    assert!(e.contains("at most"));
}

#[test]
fn a_pool_is_a_comma_list() {
    let pool = parse_pool("socks5://a:1, ,http://u:pw@b:2,").unwrap();
    assert_eq!(pool.len(), 2);
    assert_eq!(pool[1].masked(), "http://u:***@b:2");
    let e = parse_pool("socks5://a:1,ftp://u:secret@b:2").unwrap_err();
    assert!(e.starts_with("entry 2 "), "{e}");
    assert!(!e.contains("secret"));
    assert!(parse_pool("").unwrap().is_empty());
}
