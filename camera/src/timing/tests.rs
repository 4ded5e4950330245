//! Unit tests of `timing`.

use super::*;

const SEC: u64 = 1_000_000_000;

fn wall() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000)
}

#[test]
fn a_recent_timestamp_dates_the_frame_back_by_its_age() {
    let mut c = FrameClock::new();
    let meta = FrameMeta {
        sequence: Some(7),
        timestamp_ns: Some(100 * SEC - 20_000_000),
    };
    let s = c.stamp(meta, wall(), 100 * SEC);
    assert!(s.camera_time);
    assert_eq!(s.captured_at, wall() - Duration::from_millis(20));
    assert_eq!(s.lost, 0);
}

#[test]
fn missing_metadata_falls_back_to_our_clock() {
    let mut c = FrameClock::new();
    for _ in 0..3 {
        let s = c.stamp(FrameMeta::default(), wall(), 100 * SEC);
        assert_eq!((s.captured_at, s.lost, s.camera_time), (wall(), 0, false));
    }
}

#[test]
fn garbage_timestamps_are_not_believed() {
    let mut c = FrameClock::new();
    for ts in [0, 200 * SEC, 10 * SEC, u64::MAX] {
        let meta = FrameMeta {
            sequence: None,
            timestamp_ns: Some(ts),
        };
        let s = c.stamp(meta, wall(), 100 * SEC);
        assert!(!s.camera_time, "timestamp {ts} was believed");
        assert_eq!(s.captured_at, wall());
    }
    // A timestamp that goes backwards is not believed either.
    let ok = FrameMeta {
        sequence: None,
        timestamp_ns: Some(100 * SEC - 1000),
    };
    assert!(c.stamp(ok, wall(), 100 * SEC).camera_time);
    let back = FrameMeta {
        sequence: None,
        timestamp_ns: Some(100 * SEC - 2000),
    };
    assert!(!c.stamp(back, wall(), 100 * SEC).camera_time);
}

#[test]
fn sequence_gaps_count_lost_frames_but_garbage_jumps_do_not() {
    let mut c = FrameClock::new();
    let at = |c: &mut FrameClock, seq| {
        let meta = FrameMeta {
            sequence: Some(seq),
            timestamp_ns: None,
        };
        c.stamp(meta, wall(), SEC).lost
    };
    assert_eq!(at(&mut c, 10), 0);
    assert_eq!(at(&mut c, 11), 0);
    assert_eq!(at(&mut c, 14), 2);
    assert_eq!(at(&mut c, 14), 0, "a repeated number loses nothing");
    assert_eq!(at(&mut c, 3), 0, "going back (a restart) loses nothing");
    assert_eq!(at(&mut c, 3_000_000), 0, "a wild jump is garbage");
    assert_eq!(at(&mut c, 3_000_001), 0);
    assert_eq!(at(&mut c, u32::MAX), 0);
    assert_eq!(at(&mut c, 1), 1, "wrap-around is a step of 2");
}

#[test]
fn the_monotonic_clock_moves_forward() {
    let a = monotonic_now_ns();
    std::thread::sleep(Duration::from_millis(2));
    assert!(monotonic_now_ns() >= a + 1_000_000);
}
