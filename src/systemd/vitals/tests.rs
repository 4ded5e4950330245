//! Unit tests of the heartbeats, on explicit instants.

use super::*;

#[test]
fn fresh_heartbeats_are_alive_and_a_silent_one_is_named() {
    let mut vitals = Vitals::new();
    let http = vitals.register("http");
    let sup = vitals.register("supervisor main");
    let now = Instant::now();
    assert_eq!(vitals.silent(now, MAX_SILENCE), None);
    // Six seconds later only the HTTP loop has beaten.
    let later = now + Duration::from_secs(6);
    http.last_ms.store(
        later.duration_since(vitals.origin).as_millis() as u64,
        Relaxed,
    );
    let (name, age) = vitals.silent(later, MAX_SILENCE).expect("one is silent");
    assert_eq!(name, "supervisor main");
    assert!(age > MAX_SILENCE, "{age:?}");
    sup.last_ms.store(
        later.duration_since(vitals.origin).as_millis() as u64,
        Relaxed,
    );
    assert_eq!(vitals.silent(later, MAX_SILENCE), None);
}

#[test]
fn a_clone_beats_the_same_heart() {
    let mut vitals = Vitals::new();
    let heart = vitals.register("x");
    let clone = heart.clone();
    let later = Instant::now() + Duration::from_secs(10);
    assert!(vitals.silent(later, MAX_SILENCE).is_some());
    clone.last_ms.store(
        later.duration_since(vitals.origin).as_millis() as u64,
        Relaxed,
    );
    assert!(vitals.silent(later, MAX_SILENCE).is_none());
}
