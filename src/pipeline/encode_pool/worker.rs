//! The worker side of the encoding pool: the shared state, the per-worker mailbox and the
//! worker loop (wait for a frame, encode it outside the lock — into memory the output lends
//! when it has some, else into the worker's own buffer — and publish it in capture order).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::SystemTime;

use bytes::Bytes;

use super::EncodePoolError;
use crate::pipeline::encoder::{EncodeError, Encoder, FrameMut, PixelFormat, RawFrame};
use crate::pipeline::sink::{Destination, EncodedFrame, FrameMeta, FrameOutput};
use crate::pipeline::transform::Transformer;
use crate::util::panic_message;

/// A raw frame copied out of a source buffer. Planes keep the source's strides, so each plane
/// is one `memcpy`; the vectors keep their capacity from frame to frame. (Also the camera
/// helper's copy of a still, which it encodes on a thread of its own.)
pub struct OwnedFrame {
    pub(super) format: PixelFormat,
    pub(super) width: usize,
    pub(super) height: usize,
    pub(super) planes: [Vec<u8>; 3],
    pub(super) strides: [usize; 3],
}

impl Default for OwnedFrame {
    fn default() -> Self {
        Self {
            format: PixelFormat::Yuv420,
            width: 0,
            height: 0,
            planes: Default::default(),
            strides: [0; 3],
        }
    }
}

impl OwnedFrame {
    /// Copies a frame that passed [`RawFrame::check`] (so every slice below is in bounds).
    pub fn copy_from(&mut self, frame: &RawFrame) {
        let (mins, rows) = (
            frame.format.min_strides(frame.width),
            frame.format.plane_rows(frame.height),
        );
        (self.format, self.width, self.height) = (frame.format, frame.width, frame.height);
        for i in 0..3 {
            self.planes[i].clear();
            self.strides[i] = 0;
            if i < frame.format.planes() {
                let p = frame.planes[i];
                let need = p.stride * (rows[i] - 1) + mins[i];
                self.planes[i].extend_from_slice(&p.data[..need]);
                self.strides[i] = p.stride;
            }
        }
    }

    /// The frame's planes, writable (for a [`Transformer`]).
    pub fn frame_mut(&mut self) -> FrameMut<'_> {
        let [p0, p1, p2] = &mut self.planes;
        FrameMut {
            format: self.format,
            width: self.width,
            height: self.height,
            planes: [&mut p0[..], &mut p1[..], &mut p2[..]],
            strides: self.strides,
        }
    }

    #[cfg(test)]
    pub(super) fn raw(&self) -> RawFrame<'_> {
        use crate::pipeline::encoder::Plane;
        let plane = |i: usize| Plane {
            data: &self.planes[i],
            stride: self.strides[i],
        };
        RawFrame {
            format: self.format,
            width: self.width,
            height: self.height,
            planes: [plane(0), plane(1), plane(2)],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stage {
    /// Waiting for work; its buffer is in the slot.
    Free,
    /// The capture thread took the buffer to copy a frame into it.
    Filling,
    /// A frame waits in the buffer for the worker.
    Pending,
    /// The worker took the buffer and encodes it.
    Encoding,
}

/// When and in which order an accepted frame was captured.
#[derive(Debug, Clone, Copy)]
pub(super) struct Job {
    pub(super) capture_seq: u64,
    /// The offer's number ([`FrameMeta::frame_seq`]).
    pub(super) frame_seq: u64,
    pub(super) captured_at: SystemTime,
}

pub(super) struct SlotState {
    pub(super) stage: Stage,
    pub(super) buf: OwnedFrame,
    pub(super) job: Option<Job>,
}

/// One worker's mailbox: its buffer and what it is doing, guarded together.
pub(super) struct Slot {
    pub(super) state: Mutex<SlotState>,
    pub(super) wake: Condvar,
}

pub(super) struct Shared {
    pub(super) output: Box<dyn FrameOutput>,
    pub(super) slots: Vec<Slot>,
    pub(super) stop: AtomicBool,
    /// Capture number of the newest published frame, held across the publish.
    pub(super) newest_published: Mutex<u64>,
    /// A worker's failure, handed to the source by the next offer.
    pub(super) failure: Mutex<Option<EncodePoolError>>,
    /// Workers still running; dropping the pool waits (bounded) for 0.
    pub(super) running: Mutex<usize>,
    pub(super) exited: Condvar,
}

pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Decrements the running count when a worker exits, however it exits.
struct Exited<'a>(&'a Shared);

impl Drop for Exited<'_> {
    fn drop(&mut self) {
        *lock(&self.0.running) -= 1;
        self.0.exited.notify_all();
    }
}

pub(super) fn run_worker(
    shared: &Shared,
    index: usize,
    mut encoder: Encoder,
    mut transformer: Transformer,
) {
    let _exited = Exited(shared);
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        worker_loop(shared, index, &mut encoder, &mut transformer)
    }));
    if let Err(panic) = outcome {
        let msg = panic_message(&*panic);
        lock(&shared.failure).get_or_insert(EncodePoolError::Panicked(format!(
            "encode worker {index}: {msg}"
        )));
    }
}

/// Waits for a pending frame, turns it and draws the overlay (if the stream has them), encodes it
/// outside the lock, publishes it unless a newer frame was published meanwhile; until the pool
/// stops.
fn worker_loop(
    shared: &Shared,
    index: usize,
    encoder: &mut Encoder,
    transformer: &mut Transformer,
) {
    let slot = &shared.slots[index];
    loop {
        let (buf, job) = {
            let mut st = lock(&slot.state);
            loop {
                if shared.stop.load(Ordering::Relaxed) {
                    return;
                }
                if st.stage == Stage::Pending {
                    break;
                }
                st = slot.wake.wait(st).unwrap_or_else(|e| e.into_inner());
            }
            st.stage = Stage::Encoding;
            let job = st.job.take().expect("a pending slot has a job");
            (std::mem::take(&mut st.buf), job)
        };
        let mut buf = buf;
        let frame = transformer.apply(buf.frame_mut(), job.captured_at);
        let meta = FrameMeta {
            captured_at: job.captured_at,
            width: frame.width as u32,
            height: frame.height as u32,
            frame_seq: job.frame_seq,
        };
        match encode(shared.output.as_ref(), encoder, &frame) {
            Ok(jpeg) => {
                let mut newest = lock(&shared.newest_published);
                if job.capture_seq > *newest {
                    *newest = job.capture_seq;
                    match jpeg {
                        Jpeg::Lent(dest, len) => dest.publish(len, meta),
                        Jpeg::Own(jpeg) => shared.output.publish(EncodedFrame { jpeg, meta }),
                    }
                } else {
                    drop(jpeg); // a lent destination goes back to the output
                    shared.output.frame_dropped(); // overtaken by a newer frame
                }
            }
            Err(err) => {
                lock(&shared.failure).get_or_insert(err.into());
            }
        }
        let mut st = lock(&slot.state);
        st.buf = buf;
        st.stage = Stage::Free;
    }
}

/// A JPEG a worker made: in memory its output lent (the first `len` bytes), or its own.
enum Jpeg<'a> {
    Lent(Box<dyn Destination + 'a>, usize),
    Own(Bytes),
}

/// Encodes into memory the output lends when it has some free (reserved before the encode, so
/// the JPEG is written where it is published from); when it has none, or the JPEG does not fit
/// (or that encode fails), gives it back and encodes into the worker's own buffer, whose
/// error, if any, is the one reported.
fn encode<'a>(
    output: &'a dyn FrameOutput,
    encoder: &mut Encoder,
    frame: &RawFrame,
) -> Result<Jpeg<'a>, EncodeError> {
    if let Some(mut dest) = output.lend() {
        if let Ok(len) = encoder.encode_into(frame, dest.buf()) {
            return Ok(Jpeg::Lent(dest, len));
        }
    }
    encoder.encode(frame).map(Jpeg::Own)
}
