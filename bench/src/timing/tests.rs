//! Unit tests of `timing`.

use super::*;

#[test]
fn summary_percentiles() {
    let times: Vec<Duration> = (1..=100).rev().map(Duration::from_millis).collect();
    let s = Summary::of(times);
    assert_eq!(s.samples, 100);
    assert_eq!(s.p50, Duration::from_millis(51));
    assert_eq!(s.p99, Duration::from_millis(100));
    assert_eq!(s.mean, Duration::from_micros(50_500));
    assert_eq!(Summary::of(Vec::new()).samples, 0);
}

#[test]
fn interleaved_times_every_case() {
    let mut counts = [0u32; 2];
    let (a, b) = counts.split_at_mut(1);
    let mut cases = [
        Case {
            name: "a".into(),
            run: Box::new(|| {
                a[0] += 1;
                std::thread::sleep(Duration::from_millis(1))
            }),
        },
        Case {
            name: "b".into(),
            run: Box::new(|| b[0] += 1),
        },
    ];
    let s = interleaved(&mut cases, Duration::from_millis(100));
    assert!(s[0].p50 >= Duration::from_millis(1));
    // The slow case is timed for at least the budget, however loaded the machine is; the
    // cheap one fits many more calls into it (up to the sample cap).
    let a_total = s[0].mean * s[0].samples as u32;
    assert!(a_total >= Duration::from_millis(99), "{a_total:?}");
    assert!(s[1].samples > s[0].samples);
    drop(cases);
    assert!(counts[0] > 0 && counts[1] > 0);
}
