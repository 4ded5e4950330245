//! Unit tests of the stream counters.

use super::*;

#[test]
fn rate_is_derived_from_totals() {
    let c = RateCounter::default();
    c.add(5);
    assert_eq!(c.total(), 5);
    assert_eq!(c.rate(), 0.0, "no full second has passed yet");
    c.sample.lock().unwrap().0 -= std::time::Duration::from_secs(2);
    let r = c.rate();
    assert!((2.0..=2.6).contains(&r), "{r}");
}
