//! Unit tests of `auth::addr`.

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn no_allow_list_means_every_address() {
    let lan = [AddrRange::parse("192.168.1.0/24").unwrap()];
    assert!(allowed(None, ip("203.0.113.1")));
    assert!(allowed(Some(&lan), ip("192.168.1.2")));
    assert!(!allowed(Some(&lan), ip("203.0.113.1")));
}
