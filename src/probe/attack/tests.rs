//! Unit tests of `probe::attack`: loopback only, status lines, the bad requests.

use super::requests::Malformed;
use super::*;

#[test]
fn only_loopback_targets_and_sources_are_accepted() {
    let lo: SocketAddr = "127.0.0.1:8080".parse().unwrap();
    let lan: SocketAddr = "192.168.1.5:8080".parse().unwrap();
    let sources = AttackTarget::loopback_sources(2, 3);
    assert_eq!(sources[2], IpAddr::from([127, 0, 0, 4]));
    assert!(AttackTarget::new(lo, sources.clone()).is_ok());
    assert!(matches!(
        AttackTarget::new(lan, sources),
        Err(AttackError::NotLoopback(_))
    ));
    let outside = vec!["10.0.0.1".parse().unwrap()];
    assert!(matches!(
        AttackTarget::new(lo, outside),
        Err(AttackError::NotLoopback(_))
    ));
    assert!(matches!(
        AttackTarget::new(lo, vec![]),
        Err(AttackError::NoSources)
    ));
}

#[test]
fn status_lines_are_read_and_anything_else_is_not() {
    assert_eq!(status_of(b"HTTP/1.1 429 Too Many Requests\r\n"), Some(429));
    assert_eq!(status_of(b"HTTP/1.0 200 OK\r\nX: y"), Some(200));
    assert_eq!(status_of(b"HTTP/1.1 200"), None, "no line end yet");
    assert_eq!(status_of(b"garbage\r\n"), None);
    assert_eq!(status_of(b""), None);
}

#[test]
fn bad_requests_are_reproducible_and_bad() {
    for kind in Malformed::ALL {
        let a = kind.bytes(7, 3);
        assert_eq!(a, kind.bytes(7, 3), "{kind:?} is deterministic");
        assert!(!a.is_empty());
    }
    assert_ne!(
        Malformed::RandomBytes.bytes(7, 3),
        Malformed::RandomBytes.bytes(7, 4)
    );
    assert!(Malformed::HugeHeader.bytes(0, 0).len() > 64 * 1024);
    assert!(Malformed::Http09.bytes(0, 0).starts_with(b"GET /\r\n"));
    let pipelined = Malformed::Pipelined.bytes(0, 0);
    assert_eq!(pipelined.windows(4).filter(|w| w == b"GET ").count(), 64);
}
