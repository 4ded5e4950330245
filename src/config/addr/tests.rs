//! Unit tests of `config::addr`.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn ranges_match_the_addresses_inside_them() {
    // (range, peer, inside?)
    let table = [
        ("192.168.1.0/24", "192.168.1.77", true),
        ("192.168.1.0/24", "192.168.2.1", false),
        ("192.168.1.0/24", "::ffff:192.168.1.77", true), // dual-stack listener
        ("10.0.0.7", "10.0.0.7", true),
        ("10.0.0.7", "10.0.0.8", false),
        ("0.0.0.0/0", "203.0.113.9", true),
        ("0.0.0.0/0", "::1", false),
        ("::1", "::1", true),
        ("::1", "127.0.0.1", false),
        ("fd00::/8", "fd12:3456::1", true),
        ("fd00::/8", "fe80::1", false),
        (
            "2001:db8:1:2::/64",
            "2001:db8:1:2:aaaa:bbbb:cccc:dddd",
            true,
        ),
        ("2001:db8:1:2::/64", "2001:db8:1:3::1", false),
        ("::/0", "2001:db8::1", true),
    ];
    for (range, peer, inside) in table {
        let r = AddrRange::parse(range).unwrap();
        assert_eq!(r.contains(ip(peer)), inside, "{range} ∋ {peer}");
    }
}

#[test]
fn bad_ranges_are_refused_with_a_hint() {
    let table = [
        (
            "192.168.1.5/24",
            "host bits set; the network is 192.168.1.0/24",
        ),
        ("192.168.1.0/33", "0..=32"),
        ("::1/129", "0..=128"),
        ("10.0.0.0/x", "0..=32"),
        ("localhost", "not an IP address"),
        ("", "not an IP address"),
        ("::ffff:10.0.0.1", "as IPv4"),
    ];
    for (text, hint) in table {
        let err = AddrRange::parse(text).unwrap_err();
        assert!(err.contains(hint), "{text}: {err}");
    }
}

#[test]
fn ranges_display_as_network_and_prefix() {
    assert_eq!(
        AddrRange::parse("192.168.1.0/24").unwrap().to_string(),
        "192.168.1.0/24"
    );
    assert_eq!(AddrRange::parse("::1").unwrap().to_string(), "::1/128");
}
