//! An output that lends the workers memory to encode into ([`FrameOutput::lend`], what the
//! camera helper does with its shared-memory slots): the JPEG is written there and published
//! from there; memory too small, or an overtaken frame, sends the buffer back unpublished and
//! the frame takes the usual path.

use std::sync::{Arc, Mutex};

use bytes::Bytes;

use super::{always_on, noise, stamp, wait_all_free};
use crate::pipeline::encode_pool::{EncodePool, Offer};
use crate::pipeline::encoder::Encoder;
use crate::pipeline::sink::{Destination, EncodedFrame, FrameMeta, FrameOutput};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    /// A JPEG published from the lent buffer.
    FromLent {
        frame_seq: u64,
        jpeg: Vec<u8>,
    },
    /// A JPEG published from the worker's own buffer.
    Own {
        frame_seq: u64,
        jpeg: Vec<u8>,
    },
    /// A lent buffer dropped unpublished.
    Returned,
    Dropped,
}

/// Lends buffers of `lend_bytes` (none when 0) and records what comes back.
#[derive(Clone, Default)]
struct Lender {
    lend_bytes: usize,
    seen: Arc<Mutex<Vec<Seen>>>,
}

struct Lent {
    buf: Vec<u8>,
    published: bool,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Destination for Lent {
    fn buf(&mut self) -> &mut [u8] {
        &mut self.buf
    }

    fn publish(mut self: Box<Self>, len: usize, meta: FrameMeta) {
        self.published = true;
        self.seen.lock().unwrap().push(Seen::FromLent {
            frame_seq: meta.frame_seq,
            jpeg: self.buf[..len].to_vec(),
        });
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        if !self.published {
            self.seen.lock().unwrap().push(Seen::Returned);
        }
    }
}

impl FrameOutput for Lender {
    fn publish(&self, frame: EncodedFrame) {
        self.seen.lock().unwrap().push(Seen::Own {
            frame_seq: frame.meta.frame_seq,
            jpeg: frame.jpeg.to_vec(),
        });
    }

    fn lend(&self) -> Option<Box<dyn Destination + '_>> {
        (self.lend_bytes > 0).then(|| {
            Box::new(Lent {
                buf: vec![0; self.lend_bytes],
                published: false,
                seen: self.seen.clone(),
            }) as Box<dyn Destination>
        })
    }

    fn frame_dropped(&self) {
        self.seen.lock().unwrap().push(Seen::Dropped);
    }

    fn idle_frame(&self, _frame_seq: u64) {}

    fn in_demand(&self, _window: std::time::Duration) -> bool {
        true
    }

    fn set_idle(&self, _idle: bool) {}
}

/// What an output that lends `lend_bytes(JPEG length)` bytes saw of `frame` offered to a
/// one-worker pool, and the JPEG an encoder of the same settings makes of it.
fn encode_one(frame: &super::OwnedFrame, lend_bytes: fn(usize) -> usize) -> (Vec<Seen>, Bytes) {
    let expected = Encoder::new(&always_on(1))
        .unwrap()
        .encode(&frame.raw())
        .unwrap();
    let lender = Lender {
        lend_bytes: lend_bytes(expected.len()),
        ..Lender::default()
    };
    let mut pool = EncodePool::new("lend", always_on(1), lender.clone()).unwrap();
    assert!(matches!(
        pool.offer(&frame.raw(), stamp(1)).unwrap(),
        Offer::Accepted { .. }
    ));
    wait_all_free(&pool);
    drop(pool);
    let seen = lender.seen.lock().unwrap().clone();
    (seen, expected)
}

#[test]
fn a_worker_encodes_into_the_lent_buffer_and_publishes_from_it() {
    let frame = noise(320, 240, 7);
    let (seen, expected) = encode_one(&frame, |len| len * 2);
    assert_eq!(
        seen,
        [Seen::FromLent {
            frame_seq: 1,
            jpeg: expected.to_vec(), // the same JPEG the worker's own buffer would hold
        }]
    );
}

#[test]
fn a_jpeg_larger_than_the_lent_buffer_is_encoded_again_into_the_workers_own() {
    let frame = noise(320, 240, 8);
    let (seen, expected) = encode_one(&frame, |len| len - 1);
    assert_eq!(
        seen,
        [
            Seen::Returned, // before the frame is published
            Seen::Own {
                frame_seq: 1,
                jpeg: expected.to_vec(),
            }
        ]
    );
}

#[test]
fn with_nothing_lent_the_worker_publishes_its_own_buffer() {
    let frame = noise(64, 48, 9);
    let (seen, _) = encode_one(&frame, |_| 0);
    assert!(
        matches!(&seen[..], [Seen::Own { frame_seq: 1, jpeg }] if jpeg.starts_with(&[0xFF, 0xD8])),
        "{seen:?}"
    );
}

#[test]
fn an_overtaken_frame_sends_its_lent_buffer_back_unpublished() {
    let lender = Lender {
        lend_bytes: 16 << 20,
        ..Lender::default()
    };
    let mut pool = EncodePool::new("lend-order", always_on(3), lender.clone()).unwrap();
    let (big, small) = (noise(1920, 1080, 10), noise(32, 32, 11));
    let rounds = 8;
    for round in 0..rounds {
        // The big (slow) frame is captured first, the small (fast) one right after.
        for (frame, n) in [(&big, 2 * round + 1), (&small, 2 * round + 2)] {
            assert!(matches!(
                pool.offer(&frame.raw(), stamp(n)).unwrap(),
                Offer::Accepted { .. }
            ));
        }
        wait_all_free(&pool);
    }
    drop(pool);
    let seen = lender.seen.lock().unwrap().clone();
    let count = |f: fn(&Seen) -> bool| seen.iter().filter(|s| f(s)).count() as u64;
    let (lent, returned, dropped) = (
        count(|s| matches!(s, Seen::FromLent { .. })),
        count(|s| matches!(s, Seen::Returned)),
        count(|s| matches!(s, Seen::Dropped)),
    );
    assert_eq!(count(|s| matches!(s, Seen::Own { .. })), 0, "{seen:?}");
    assert_eq!(
        lent + dropped,
        2 * rounds,
        "every frame published or dropped"
    );
    assert_eq!(
        returned, dropped,
        "each overtaken frame gave its buffer back"
    );
    assert!(dropped >= 1, "the slow frame was overtaken at least once");
}
