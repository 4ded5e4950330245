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

#[test]
fn producer_stamp_is_read_from_the_bench_comment_only() {
    let text = b"bench:7:1700000000250000000";
    let mut jpeg = vec![0xFF, 0xD8, 0xFF, 0xFE, 0, (text.len() + 2) as u8];
    jpeg.extend_from_slice(text);
    jpeg.extend_from_slice(&[0xFF, 0xD9]);
    let (n, stamp) = producer_stamp(&jpeg).unwrap();
    assert_eq!(n, 7);
    assert!((stamp - 1_700_000_000.25).abs() < 1e-6, "{stamp}");
    // Another comment, a number without a time, no comment, a cut comment: no stamp.
    let mut other = jpeg.clone();
    other[6..12].copy_from_slice(b"bench!");
    assert_eq!(producer_stamp(&other), None);
    let mut no_time = vec![0xFF, 0xD8, 0xFF, 0xFE, 0, 9];
    no_time.extend_from_slice(b"bench:7\xFF\xD9");
    assert_eq!(producer_stamp(&no_time), None);
    assert_eq!(producer_stamp(&[0xFF, 0xD8, 0xFF, 0xD9]), None);
    assert_eq!(producer_stamp(&jpeg[..8]), None);
}
