//! Unit tests of the frame clock.

use std::time::{Duration, Instant};

use super::*;

#[test]
fn frames_come_at_the_interval_without_drift_and_stop_ends_the_wait() {
    let interval = Duration::from_millis(20);
    let stop = StopFlag::new();
    let mut pacer = Pacer::new(interval);
    let t = Instant::now();
    for n in 0..10u32 {
        // Work that takes part of the interval does not slow the rate down.
        std::thread::sleep(Duration::from_millis(5));
        assert!(!pacer.wait(&stop), "frame {n}");
    }
    let took = t.elapsed();
    assert!(took >= interval * 10, "{took:?}");
    assert!(
        took < interval * 10 + Duration::from_millis(150),
        "{took:?}"
    );
    stop.raise();
    let t = Instant::now();
    assert!(pacer.wait(&stop), "a raised stop ends the wait");
    assert!(t.elapsed() < interval);
}

#[test]
fn after_falling_behind_the_clock_starts_afresh_instead_of_bursting() {
    let interval = Duration::from_millis(10);
    let stop = StopFlag::new();
    let mut pacer = Pacer::new(interval);
    std::thread::sleep(interval * 10); // a long stall
    assert!(!pacer.wait(&stop)); // behind: no wait, start afresh
    let t = Instant::now();
    assert!(!pacer.wait(&stop));
    assert!(
        t.elapsed() >= interval - Duration::from_millis(1),
        "{:?}",
        t.elapsed()
    );
}
