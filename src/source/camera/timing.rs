//! Capture times and lost frames from camera metadata that may be missing or garbage.
//!
//! libcamera reports a sensor timestamp (CLOCK_MONOTONIC nanoseconds) and a frame sequence
//! number per buffer, but not every pipeline fills them in (libcamera 0.4's virtual camera may
//! leave them out) and a broken driver can report nonsense. [`FrameClock`] trusts a timestamp
//! only when it is recent and moves forward, and a sequence number only when it moves forward
//! by a plausible step; otherwise it falls back to our own clock and counts nothing as lost.

use std::time::{Duration, SystemTime};

/// A timestamp older than this (or from the future) is not believed.
const MAX_TIMESTAMP_AGE: Duration = Duration::from_secs(1);
/// A sequence jump larger than this is garbage, not lost frames.
const MAX_SEQUENCE_GAP: u32 = 1000;

/// What a completed buffer says about itself (None = not reported).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FrameMeta {
    pub sequence: Option<u32>,
    /// CLOCK_MONOTONIC, nanoseconds.
    pub timestamp_ns: Option<u64>,
}

/// The capture time to publish and the frames lost before this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub captured_at: SystemTime,
    /// Frames the camera skipped since the previous one (by its sequence numbers).
    pub lost: u32,
    /// The camera's timestamp was used (false: our own clock).
    pub camera_time: bool,
}

#[derive(Debug, Default)]
pub struct FrameClock {
    last_sequence: Option<u32>,
    last_timestamp_ns: Option<u64>,
}

impl FrameClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Stamps a frame completed now (`now_wall`, `now_mono_ns` read together).
    pub fn stamp(&mut self, meta: FrameMeta, now_wall: SystemTime, now_mono_ns: u64) -> Stamp {
        let mut stamp = Stamp {
            captured_at: now_wall,
            lost: 0,
            camera_time: false,
        };
        if let Some(ts) = meta.timestamp_ns {
            let forward = self.last_timestamp_ns.is_none_or(|last| ts > last);
            let age = now_mono_ns.checked_sub(ts).map(Duration::from_nanos);
            if let (true, true, Some(age)) = (ts > 0, forward, age) {
                if age <= MAX_TIMESTAMP_AGE {
                    stamp.captured_at = now_wall - age;
                    stamp.camera_time = true;
                    self.last_timestamp_ns = Some(ts);
                }
            }
        }
        if let Some(seq) = meta.sequence {
            if let Some(last) = self.last_sequence {
                let step = seq.wrapping_sub(last);
                if (1..=MAX_SEQUENCE_GAP).contains(&step) {
                    stamp.lost = step - 1;
                }
            }
            self.last_sequence = Some(seq);
        }
        stamp
    }
}

/// CLOCK_MONOTONIC now, in nanoseconds (the clock libcamera's timestamps use).
pub fn monotonic_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

#[cfg(test)]
mod tests {
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
}
