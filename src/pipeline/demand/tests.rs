//! Unit tests of demand tracking.

use super::*;

#[test]
fn no_demand_until_noted_then_within_the_window_only() {
    let d = Demand::new();
    assert!(!d.recent(Duration::from_secs(5)));
    d.note();
    assert!(d.recent(Duration::from_secs(5)));
    // Pretend the demand was noted 10 s ago.
    d.last_ms.store(1, Relaxed);
    let d = Demand {
        last_ms: AtomicU64::new(1),
        created: Instant::now() - Duration::from_secs(10),
    };
    assert!(!d.recent(Duration::from_secs(5)));
    assert!(d.recent(Duration::from_secs(11)));
}
