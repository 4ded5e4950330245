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
    // A burst of 1,000 connections a second for three seconds: no trim while it lasts.
    assert!(!t.look(1030, s(11)));
    assert!(!t.look(2030, s(12)));
    assert!(!t.look(3030, s(13)));
    // Over: the next calm second trims, once.
    assert!(t.look(3035, s(14)));
    assert!(!t.look(3036, s(15)));
    // Another burst within MIN_INTERVAL waits for it to pass.
    assert!(!t.look(3200, s(16)));
    assert!(
        !t.look(3201, s(17)),
        "less than MIN_INTERVAL since the last trim"
    );
    assert!(t.look(3202, s(19)));
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
