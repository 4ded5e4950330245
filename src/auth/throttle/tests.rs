//! Unit tests of `auth::throttle`.

use super::*;

fn key(s: &str) -> SourceKey {
    SourceKey::of(s.parse().unwrap())
}

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

#[test]
fn delay_starts_after_the_free_failures_and_doubles_to_the_cap() {
    let mut t = Throttle::new(ThrottleConfig::default());
    let a = key("192.168.1.9");
    let mut now = Instant::now();
    for _ in 0..4 {
        assert_eq!(t.record_failure(a, now), None);
        assert_eq!(t.check(a, now), Ok(()));
    }
    // 5th failure: 1 s, then 2, 4, … capped at 60.
    let expected = [1, 2, 4, 8, 16, 32, 60, 60];
    for want in expected {
        assert_eq!(t.record_failure(a, now), Some(secs(want)));
        assert_eq!(t.check(a, now), Err(secs(want)));
        assert_eq!(
            t.check(a, now + secs(want) - Duration::from_millis(1)),
            Err(Duration::from_millis(1))
        );
        now += secs(want);
        assert_eq!(t.check(a, now), Ok(()), "free again after {want} s");
    }
}

#[test]
fn other_addresses_see_no_delay() {
    let mut t = Throttle::new(ThrottleConfig::default());
    let (bad, good) = (key("10.0.0.66"), key("10.0.0.7"));
    let now = Instant::now();
    for _ in 0..10 {
        t.record_failure(bad, now);
    }
    assert!(t.check(bad, now).is_err());
    assert_eq!(t.check(good, now), Ok(()));
    assert_eq!(t.len(), 1);
}

#[test]
fn entries_expire_after_forget_after() {
    let config = ThrottleConfig::default();
    let mut t = Throttle::new(config);
    let a = key("10.0.0.66");
    let start = Instant::now();
    for _ in 0..12 {
        t.record_failure(a, start);
    }
    assert!(t.check(a, start + secs(59)).is_err());
    let later = start + config.forget_after;
    assert_eq!(t.check(a, later), Ok(()));
    assert!(t.is_empty(), "the expired entry is dropped on check");
    for _ in 0..12 {
        t.record_failure(a, start);
    }
    assert_eq!(
        t.record_failure(a, later),
        None,
        "a late failure starts a new count"
    );
}

#[test]
fn ipv6_is_grouped_by_64_and_mapped_ipv4_is_ipv4() {
    assert_eq!(key("2001:db8:1:2::1"), key("2001:db8:1:2:ffff:1:2:3"));
    assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
    assert_eq!(key("::ffff:10.0.0.1"), key("10.0.0.1"));
    assert_ne!(key("10.0.0.1"), key("10.0.0.2"));
    let mut t = Throttle::new(ThrottleConfig::default());
    let now = Instant::now();
    for i in 0..5u16 {
        let peer = format!("2001:db8:1:2::{i:x}");
        t.record_failure(key(&peer), now);
    }
    assert!(t.check(key("2001:db8:1:2::beef"), now).is_err());
}

#[test]
fn the_table_is_bounded_and_an_address_cycler_cannot_grow_it() {
    let config = ThrottleConfig {
        max_entries: 8,
        ..ThrottleConfig::default()
    };
    let mut t = Throttle::new(config);
    let now = Instant::now();
    let blocked = key("192.168.1.66");
    for _ in 0..6 {
        t.record_failure(blocked, now);
    }
    for i in 0..10_000u32 {
        t.record_failure(
            SourceKey::V4(0x0a00_0000 + i),
            now + Duration::from_micros(u64::from(i)),
        );
        assert!(t.len() <= 8);
    }
    assert!(
        t.check(blocked, now).is_err(),
        "blocked entries are evicted last"
    );
    assert_eq!(t.len(), 8);
}

#[test]
fn expired_entries_make_room_first() {
    let config = ThrottleConfig {
        max_entries: 2,
        ..ThrottleConfig::default()
    };
    let mut t = Throttle::new(config);
    let start = Instant::now();
    t.record_failure(key("10.0.0.1"), start);
    t.record_failure(key("10.0.0.2"), start + secs(1));
    let later = start + config.forget_after + secs(2);
    t.record_failure(key("10.0.0.3"), later);
    assert_eq!(t.len(), 1, "both expired entries were dropped");
}

#[test]
fn retry_after_rounds_up() {
    assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
    assert_eq!(retry_after_secs(Duration::ZERO), 1);
    assert_eq!(retry_after_secs(secs(2)), 2);
    assert_eq!(retry_after_secs(Duration::from_millis(2001)), 3);
}
