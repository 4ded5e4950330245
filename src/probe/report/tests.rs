//! Unit tests of `report`.

use super::*;

#[test]
fn histogram_quantiles_are_within_one_percent() {
    let mut h = LatencyHistogram::new();
    for ms in 1..=1000u64 {
        h.record(Duration::from_millis(ms));
    }
    let s = h.summary();
    assert_eq!(s.samples, 1000);
    let p50 = s.p50.unwrap();
    assert!((p50 - 500.0).abs() <= 5.0, "{p50}");
    let p99 = s.p99.unwrap();
    assert!((p99 - 990.0).abs() <= 10.0, "{p99}");
    assert_eq!(s.max, Some(1000.0));
    for us in [0, 1, 255, 256, 257, 1 << 20, (1 << 40) - 1, 1 << 40] {
        let i = LatencyHistogram::index(us);
        let v = LatencyHistogram::value(i);
        assert!(
            v.abs_diff(us) as f64 <= us as f64 / 128.0 + 1.0,
            "{us} → {v}"
        );
    }
    assert_eq!(LatencyHistogram::new().summary().p50, None);
}
