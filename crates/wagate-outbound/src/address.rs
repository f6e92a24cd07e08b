//! Which IP addresses count as public: the forbidden IPv4 and IPv6 ranges,
//! and the IPv4 address an IPv6 one may wrap (so `::ffff:127.0.0.1` is as
//! internal as `127.0.0.1`). Pure functions; the policy builds on them.

use std::net::{IpAddr, Ipv4Addr};

use ipnet::IpNet;

/// The IPv4 address an IPv6 address stands for (mapped, compatible, NAT64
/// or 6to4), if any.
pub(crate) fn canonical(ip: IpAddr) -> Option<IpAddr> {
    let IpAddr::V6(v6) = ip else {
        return None;
    };
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(IpAddr::V4(v4));
    }
    let s = v6.segments();
    let tail = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    // ::a.b.c.d (IPv4-compatible) and 64:ff9b::a.b.c.d (NAT64).
    if s[..6] == [0; 6] && !(s[6] == 0 && s[7] <= 1) {
        return Some(IpAddr::V4(tail));
    }
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(IpAddr::V4(tail));
    }
    // 2002:a.b.c.d::/48 (6to4).
    if s[0] == 0x2002 {
        return Some(IpAddr::V4(Ipv4Addr::new(
            (s[1] >> 8) as u8,
            s[1] as u8,
            (s[2] >> 8) as u8,
            s[2] as u8,
        )));
    }
    None
}

const FORBIDDEN_V4: &[&str] = &[
    "0.0.0.0/8",       // "this network", unspecified
    "10.0.0.0/8",      // RFC 1918
    "100.64.0.0/10",   // CGNAT
    "127.0.0.0/8",     // loopback
    "169.254.0.0/16",  // link-local, cloud metadata
    "172.16.0.0/12",   // RFC 1918
    "192.0.0.0/24",    // IETF protocol assignments
    "192.0.2.0/24",    // documentation
    "192.88.99.0/24",  // 6to4 relay anycast
    "192.168.0.0/16",  // RFC 1918
    "198.18.0.0/15",   // benchmarking
    "198.51.100.0/24", // documentation
    "203.0.113.0/24",  // documentation
    "224.0.0.0/4",     // multicast
    "240.0.0.0/4",     // reserved, broadcast
];

const FORBIDDEN_V6: &[&str] = &[
    "::/128",        // unspecified
    "::1/128",       // loopback
    "100::/64",      // discard
    "2001:db8::/32", // documentation
    "fc00::/7",      // unique local
    "fe80::/10",     // link-local
    "fec0::/10",     // site-local (deprecated)
    "ff00::/8",      // multicast
];

/// Whether `ip` is an ordinary public address (none of the loopback,
/// private, link-local, CGNAT, unique-local, multicast, documentation or
/// unspecified ranges, also when wrapped in IPv6).
pub fn is_public(ip: IpAddr) -> bool {
    if let Some(v4) = canonical(ip) {
        return is_public(v4);
    }
    let ranges = match ip {
        IpAddr::V4(_) => FORBIDDEN_V4,
        IpAddr::V6(_) => FORBIDDEN_V6,
    };
    !ranges.iter().any(|r| {
        r.parse::<IpNet>()
            .map(|net| net.contains(&ip))
            .unwrap_or(true)
    })
}
