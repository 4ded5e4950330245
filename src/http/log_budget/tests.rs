//! Unit tests of `http::log_budget`.

use super::*;

#[test]
fn a_few_lines_per_window_then_a_count() {
    let budget = LogBudget::new(2, Duration::from_secs(1));
    let t0 = Instant::now();
    assert_eq!(budget.allow_at(t0), Some(0));
    assert_eq!(budget.allow_at(t0), Some(0));
    for _ in 0..5 {
        assert_eq!(budget.allow_at(t0 + Duration::from_millis(500)), None);
    }
    let next = t0 + Duration::from_millis(1000);
    assert_eq!(
        budget.allow_at(next),
        Some(5),
        "the next line says how many were left out"
    );
    assert_eq!(budget.allow_at(next), Some(0));
    assert_eq!(budget.allow_at(next), None);
}
