//! What a [`FrameOutput`] other than a `FrameSink` sees (the camera helper's protocol writer):
//! every offer numbered, published frames and idle frames in increasing numbers, gaps where a
//! frame was dropped, and the idle transitions.

use std::sync::{Arc, Mutex};
use std::thread::sleep;
use std::time::Duration;

use super::{always_on, noise, stamp, wait_all_free};
use crate::config::EncoderConfig;
use crate::pipeline::encode_pool::{EncodePool, Offer};
use crate::pipeline::sink::{EncodedFrame, FrameOutput};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Published { frame_seq: u64, size: (u32, u32) },
    Dropped,
    Idle(u64),
    SetIdle(bool),
}

/// Records every call, and answers `in_demand` from a switch.
#[derive(Clone, Default)]
struct Recorder {
    seen: Arc<Mutex<Vec<Seen>>>,
    wanted: Arc<Mutex<bool>>,
}

impl Recorder {
    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl FrameOutput for Recorder {
    fn publish(&self, frame: EncodedFrame) {
        assert_eq!(&frame.jpeg[..2], &[0xFF, 0xD8]);
        self.seen.lock().unwrap().push(Seen::Published {
            frame_seq: frame.meta.frame_seq,
            size: (frame.meta.width, frame.meta.height),
        });
    }

    fn frame_dropped(&self) {
        self.seen.lock().unwrap().push(Seen::Dropped);
    }

    fn idle_frame(&self, frame_seq: u64) {
        self.seen.lock().unwrap().push(Seen::Idle(frame_seq));
    }

    fn in_demand(&self, _window: Duration) -> bool {
        *self.wanted.lock().unwrap()
    }

    fn set_idle(&self, idle: bool) {
        self.seen.lock().unwrap().push(Seen::SetIdle(idle));
    }
}

#[test]
fn every_offer_takes_the_next_frame_number_whatever_becomes_of_it() {
    let out = Recorder::default();
    let mut pool = EncodePool::new("numbers", always_on(1), out.clone()).unwrap();
    let (big, small) = (noise(1920, 1080, 1), noise(48, 32, 2));
    assert!(matches!(
        pool.offer(&big.raw(), stamp(1)).unwrap(),
        Offer::Accepted { capture_seq: 1 }
    ));
    // The one worker is busy with the big frame: offer 2 is dropped, its number skipped.
    assert_eq!(pool.offer(&small.raw(), stamp(2)).unwrap(), Offer::Busy);
    wait_all_free(&pool);
    assert!(matches!(
        pool.offer(&small.raw(), stamp(3)).unwrap(),
        Offer::Accepted { capture_seq: 2 }
    ));
    wait_all_free(&pool);
    drop(pool);
    assert_eq!(
        out.seen(),
        [
            Seen::Dropped,
            Seen::Published {
                frame_seq: 1,
                size: (1920, 1080)
            },
            Seen::Published {
                frame_seq: 3,
                size: (48, 32)
            },
            Seen::SetIdle(false), // dropping the pool clears the idle flag
        ]
    );
}

#[test]
fn with_no_idle_window_the_pool_follows_demand_at_once_and_numbers_idle_frames() {
    // The camera helper's setting: the server decides demand, so the pool idles at once.
    let out = Recorder::default();
    *out.wanted.lock().unwrap() = true;
    let config = EncoderConfig {
        idle: true,
        idle_after: Duration::ZERO,
        ..always_on(1)
    };
    let mut pool = EncodePool::new("demand", config, out.clone()).unwrap();
    let frame = noise(32, 32, 3);
    let mut offer = |n| {
        let res = pool.offer(&frame.raw(), stamp(n)).unwrap();
        sleep(Duration::from_millis(20)); // lets the worker finish
        res
    };
    assert!(matches!(offer(1), Offer::Accepted { .. }));
    *out.wanted.lock().unwrap() = false;
    assert_eq!(offer(2), Offer::Idle);
    assert_eq!(offer(3), Offer::Idle);
    *out.wanted.lock().unwrap() = true;
    assert!(matches!(offer(4), Offer::Accepted { .. }));
    let published = |frame_seq| Seen::Published {
        frame_seq,
        size: (32, 32),
    };
    assert_eq!(
        out.seen(),
        [
            published(1),
            Seen::SetIdle(true),
            Seen::Idle(2),
            Seen::Idle(3),
            Seen::SetIdle(false),
            published(4),
        ]
    );
}

#[test]
fn a_pool_with_a_quarter_turn_publishes_frames_with_width_and_height_swapped() {
    use crate::pipeline::rotate::QuarterTurn;
    use crate::pipeline::transform::Transform;
    let out = Recorder::default();
    let transform = Transform {
        turn: Some(QuarterTurn::Clockwise),
        ..Transform::default()
    };
    let mut pool =
        EncodePool::with_transform("turned", always_on(1), &transform, out.clone()).unwrap();
    let frame = noise(64, 32, 4);
    assert!(matches!(
        pool.offer(&frame.raw(), stamp(1)).unwrap(),
        Offer::Accepted { .. }
    ));
    wait_all_free(&pool);
    drop(pool);
    assert_eq!(
        out.seen()[0],
        Seen::Published {
            frame_seq: 1,
            size: (32, 64)
        }
    );
}
