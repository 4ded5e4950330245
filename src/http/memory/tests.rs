//! Unit tests of `http::memory`: when a trim happens.

use super::*;

#[test]
fn trims_once_a_burst_is_over_and_not_while_it_lasts_or_when_quiet() {
    let t0 = Instant::now();
    let s = |secs: u64| t0 + Duration::from_secs(secs);
    let mut t = Trimmer::new(0, t0);
    // Quiet: a few connections now and then.
    for i in 1..=10 {
        assert!(!t.look(i * 3, s(i)), "quiet second {i}");
    }
    // A burst of 1,000 connections a second for three seconds: no trim while it lasts, nor
    // during a slow one (a slowloris reconnecting 50 times a second).
    assert!(!t.look(1030, s(11)));
    assert!(!t.look(2030, s(12)));
    assert!(!t.look(3030, s(13)));
    assert!(!t.look(3080, s(14)));
    // Over: the next calm second trims, once.
    assert!(t.look(3082, s(15)));
    assert!(!t.look(3083, s(16)));
    // A burst right after waits for it to pass and for MIN_INTERVAL.
    assert!(!t.look(3200, s(17)), "not calm");
    assert!(t.look(3201, s(18)));
}

#[test]
fn tune_and_trim_do_not_break_allocation() {
    tune();
    let big = vec![1u8; MMAP_THRESHOLD_BYTES * 2];
    assert_eq!(
        big.iter().map(|b| u64::from(*b)).sum::<u64>(),
        (MMAP_THRESHOLD_BYTES * 2) as u64
    );
    drop(big);
    trim();
    let again = vec![0u8; 1 << 20];
    assert_eq!(again.len(), 1 << 20);
}
