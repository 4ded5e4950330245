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
mod tests;
