//! Unit tests of `auth::cache`.

use super::*;
use crate::auth::credentials::DigestKey;

#[test]
fn the_connection_cache_remembers_one_login_for_its_generation_and_ttl() {
    let key = DigestKey::random().unwrap();
    let (alice, bob) = (key.basic(b"alice", b"pw"), key.basic(b"bob", b"pw"));
    let t0 = Instant::now();
    let mut cache = AuthCache::default();
    assert_eq!(cache.get(1, &alice, t0), None);
    cache.put(1, alice, 3, t0);
    assert_eq!(cache.get(1, &alice, t0 + Duration::from_secs(5)), Some(3));
    assert_eq!(cache.get(1, &bob, t0), None, "other credentials");
    assert_eq!(cache.get(2, &alice, t0), None, "another authenticator");
    assert_eq!(cache.get(1, &alice, t0 + LOGIN_TTL), None, "expired");
    cache.put(1, bob, 4, t0);
    assert_eq!(cache.get(1, &alice, t0), None, "only the last login");
    assert_eq!(format!("{cache:?}"), "AuthCache { logged_in: true }");
}

#[test]
fn the_shared_cache_is_bounded_and_forgets_the_oldest() {
    let key = DigestKey::random().unwrap();
    let digest = |i: usize| key.basic(b"u", i.to_string().as_bytes());
    let t0 = Instant::now();
    let mut cache = VerifiedCache::new(4);
    for i in 0..10 {
        cache.put(digest(i), i, t0 + Duration::from_secs(i as u64));
        assert!(cache.len() <= 4);
    }
    let now = t0 + Duration::from_secs(10);
    assert_eq!(cache.get(&digest(5), now), None, "evicted");
    assert_eq!(
        cache.get(&digest(9), now),
        Some((9, t0 + Duration::from_secs(9)))
    );
    cache.put(digest(9), 9, now);
    assert_eq!(cache.len(), 4, "a repeated login replaces its entry");
    let late = t0 + LOGIN_TTL + Duration::from_secs(8);
    assert_eq!(cache.get(&digest(6), late), None, "expired");
    assert_eq!(cache.get(&digest(9), late), Some((9, now)));
    assert_eq!(cache.len(), 1, "expired entries are dropped on lookup");
}
