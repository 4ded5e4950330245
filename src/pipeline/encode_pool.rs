//! The encoding worker pool: raw frames from a capture thread → JPEGs on N named worker threads.
//!
//! Owns the hand-off between a source that captures raw frames (the camera, the test pattern)
//! and the JPEG encoders, and the two policies that live there:
//!
//! - **Newest frame only, never a queue.** [`EncodePool::offer`] copies the frame into a *free*
//!   worker's buffer and returns at once; when every worker is busy the frame is dropped
//!   ([`Offer::Busy`], counted by `frame_dropped`). Nothing waits anywhere: when encoding is
//!   slower than capture, older frames are lost, and the published pictures stay recent.
//! - **Idle mode.** When no client watches and no snapshot asked for `idle_after`, an offer is
//!   answered with [`Offer::Idle`]: nothing is copied or encoded, only a sign of life is recorded
//!   ([`FrameOutput::idle_frame`]) so the supervisor's stall detection stays quiet. The first offer after a
//!   client subscribes (or a snapshot notes demand) is encoded again, so the client waits at most
//!   one frame interval plus the encode time. A fresh pool encodes for `idle_after` before it
//!   may go idle, so every (re)start publishes a first frame.
//!
//! **Why copy instead of zero-copy.** The capture thread must requeue its request at once. A zero-copy pool would have to keep the camera buffer (and its request) until a worker
//! finished, which takes buffers away from the camera exactly when encoding is slow. So the
//! frame is copied — one `memcpy` per plane, strides kept — into the free worker's own buffer,
//! allocated the first time that worker is used and reused after. An NV12 1080p frame is ~3 MB,
//! well under a millisecond to copy against tens of milliseconds to encode. A busy pool copies
//! nothing.
//!
//! **Order.** Each accepted frame gets a capture sequence number. A worker publishes under a lock
//! that remembers the newest capture number published; a frame older than that (a slow worker
//! overtaken by a faster one) is dropped instead of published, so pictures never go back in time
//! (the slot's own `seq` is monotonic anyway). Workers are picked lowest index first, so a pool
//! that keeps up (small frames) only ever uses worker 0 and the others cost nothing.
//!
//! **Where JPEGs go.** The pool publishes through a [`FrameOutput`]: a stream's `FrameSink` in
//! the server, the protocol writer in the camera helper. Every offer takes the next frame number
//! ([`frame_seq`](super::sink::FrameMeta::frame_seq)), so the helper's sequence counts frames
//! captured, sent or not. An output may lend a worker memory to encode into
//! ([`FrameOutput::lend`]: the helper's free shared-memory slot), reserved before the encode;
//! when it has none, or the JPEG does not fit, the worker encodes into its own buffer (a JPEG
//! too large for the lent memory is encoded twice) and publishes that.
//!
//! **Turn and overlay.** A pool made [`with_transform`](EncodePool::with_transform) turns each
//! frame and draws the stream's overlay into it before encoding, in the worker, on its copy
//! ([`super::transform`]); the capture thread does no more work for it.
//!
//! Workers are OS threads named `encode-<stream>-<n>`, each with its own [`Encoder`]. A worker's
//! encode error or panic is returned by the next `offer`, so the source fails and the supervisor
//! restarts it. Dropping the pool stops the workers and joins them within [`JOIN_WAIT`].
//!
//! This file is the capture side (config, [`EncodePool::offer`], idle mode, shutdown);
//! `worker.rs` the shared state and the worker loop.

mod worker;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use tracing::{info, warn};

use super::encoder::{EncodeError, Encoder, RawFrame};
use super::sink::FrameOutput;
use super::transform::{Transform, Transformer};
use crate::config::{EncoderConfig, MAX_ENCODE_WORKERS};
pub use worker::OwnedFrame;
use worker::{lock, run_worker, Job, Shared, Slot, SlotState, Stage};

/// Upper bound for `workers = 0` (auto: cores − 1).
pub const AUTO_MAX_WORKERS: usize = 3;
/// How long dropping the pool waits for its workers (one encode) before abandoning them.
pub const JOIN_WAIT: Duration = Duration::from_secs(2);

/// The number of workers a `workers` setting means on a machine with `cores` cores.
pub fn resolve_workers(configured: usize, cores: usize) -> usize {
    if configured == 0 {
        cores.saturating_sub(1).clamp(1, AUTO_MAX_WORKERS)
    } else {
        configured.min(MAX_ENCODE_WORKERS)
    }
}

/// Why the pool cannot go on (the source then fails and its supervisor restarts it).
#[derive(Debug, thiserror::Error)]
pub enum EncodePoolError {
    #[error("encoding failed: {0}")]
    Encode(#[from] EncodeError),
    #[error("cannot start thread `{name}`")]
    Thread {
        name: String,
        source: std::io::Error,
    },
    #[error("encode worker panicked: {0}")]
    Panicked(String),
}

/// What happened to an offered frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// Copied into a free worker's buffer; `capture_seq` numbers accepted frames from 1.
    Accepted { capture_seq: u64 },
    /// Every worker was busy: dropped, not queued (counted as dropped).
    Busy,
    /// Idle mode: nobody wants frames, so nothing was encoded (counted as a sign of life).
    Idle,
}

/// N encoding threads fed by one capture thread. See the module doc.
pub struct EncodePool {
    shared: Arc<Shared>,
    handles: Vec<JoinHandle<()>>,
    stream: String,
    config: EncoderConfig,
    started: Instant,
    /// Capture number of the last accepted frame.
    last_capture_seq: u64,
    /// Offers so far (the frame number of the last one).
    offered: u64,
    idle: bool,
}

impl EncodePool {
    /// Starts the workers (`config.workers` resolved against this machine's cores), publishing
    /// into `output` (a `FrameSink`, or the camera helper's protocol writer).
    pub fn new(
        stream: &str,
        config: EncoderConfig,
        output: impl FrameOutput + 'static,
    ) -> Result<Self, EncodePoolError> {
        Self::with_transform(stream, config, &Transform::default(), output)
    }

    /// [`EncodePool::new`] with each frame turned and written on by `transform` before it is
    /// encoded (in the worker, on its own copy).
    pub fn with_transform(
        stream: &str,
        config: EncoderConfig,
        transform: &Transform,
        output: impl FrameOutput + 'static,
    ) -> Result<Self, EncodePoolError> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = resolve_workers(config.workers, cores);
        let encoders = (0..workers)
            .map(|_| Encoder::new(&config))
            .collect::<Result<Vec<_>, _>>()?;
        let shared = Arc::new(Shared {
            output: Box::new(output),
            slots: (0..workers)
                .map(|_| Slot {
                    state: Mutex::new(SlotState {
                        stage: Stage::Free,
                        buf: OwnedFrame::default(),
                        job: None,
                    }),
                    wake: Condvar::new(),
                })
                .collect(),
            stop: AtomicBool::new(false),
            newest_published: Mutex::new(0),
            failure: Mutex::new(None),
            running: Mutex::new(0),
            exited: Condvar::new(),
        });
        let mut pool = Self {
            shared,
            handles: Vec::with_capacity(workers),
            stream: stream.to_string(),
            config: EncoderConfig { workers, ..config },
            started: Instant::now(),
            last_capture_seq: 0,
            offered: 0,
            idle: false,
        };
        for (index, encoder) in encoders.into_iter().enumerate() {
            let name = format!("encode-{stream}-{index}");
            let shared = pool.shared.clone();
            let transformer = Transformer::new(transform);
            *lock(&shared.running) += 1;
            let spawned = std::thread::Builder::new()
                .name(name.clone())
                .spawn(move || run_worker(&shared, index, encoder, transformer));
            match spawned {
                Ok(handle) => pool.handles.push(handle),
                Err(source) => {
                    *lock(&pool.shared.running) -= 1;
                    return Err(EncodePoolError::Thread { name, source }); // drop joins the others
                }
            }
        }
        Ok(pool)
    }

    /// The settings in effect, with `workers` resolved.
    pub fn config(&self) -> EncoderConfig {
        self.config
    }

    /// Workers holding a frame (being copied, waiting or being encoded).
    pub fn busy_workers(&self) -> usize {
        self.shared
            .slots
            .iter()
            .filter(|slot| lock(&slot.state).stage != Stage::Free)
            .count()
    }

    /// Whether the last offer found nobody wanting frames.
    pub fn is_idle(&self) -> bool {
        self.idle
    }

    /// Offers a captured frame; returns at once (after a copy if a worker was free). The caller
    /// may reuse or requeue the frame's buffer as soon as this returns. Errors: the frame is
    /// malformed, or a worker failed (the source should stop; the pool is then dropped).
    pub fn offer(
        &mut self,
        frame: &RawFrame,
        captured_at: SystemTime,
    ) -> Result<Offer, EncodePoolError> {
        self.offer_with(captured_at, || *frame)
    }

    /// Like [`offer`](Self::offer), but produces the frame only when a worker will take it, so a
    /// source that draws its pictures (the test pattern) draws nothing while idle or busy.
    pub fn offer_with<'a>(
        &mut self,
        captured_at: SystemTime,
        frame: impl FnOnce() -> RawFrame<'a>,
    ) -> Result<Offer, EncodePoolError> {
        if let Some(err) = lock(&self.shared.failure).take() {
            return Err(err);
        }
        self.offered += 1;
        if self.check_idle() {
            self.shared.output.idle_frame(self.offered);
            return Ok(Offer::Idle);
        }
        let Some((index, mut buf)) = self.claim_free_worker() else {
            self.shared.output.frame_dropped();
            return Ok(Offer::Busy);
        };
        let frame = frame();
        let checked = frame.check();
        if checked.is_ok() {
            buf.copy_from(&frame);
        }
        let slot = &self.shared.slots[index];
        let mut st = lock(&slot.state);
        st.buf = buf;
        if let Err(err) = checked {
            st.stage = Stage::Free;
            return Err(err.into());
        }
        self.last_capture_seq += 1;
        st.job = Some(Job {
            capture_seq: self.last_capture_seq,
            frame_seq: self.offered,
            captured_at,
        });
        st.stage = Stage::Pending;
        slot.wake.notify_one();
        Ok(Offer::Accepted {
            capture_seq: self.last_capture_seq,
        })
    }

    /// Updates and returns the idle state, logging transitions.
    fn check_idle(&mut self) -> bool {
        let window = self.config.idle_after;
        let idle = self.config.idle
            && self.started.elapsed() >= window
            && !self.shared.output.in_demand(window);
        if idle != self.idle {
            self.idle = idle;
            self.shared.output.set_idle(idle);
            if idle {
                info!(stream = %self.stream, idle_after_s = window.as_secs_f64(), "nobody wants frames; encoding paused");
            } else {
                info!(stream = %self.stream, "frames wanted again; encoding resumed");
            }
        }
        idle
    }

    /// Marks the lowest-index free worker as being filled and takes its buffer out.
    fn claim_free_worker(&self) -> Option<(usize, OwnedFrame)> {
        self.shared.slots.iter().enumerate().find_map(|(i, slot)| {
            let mut st = lock(&slot.state);
            (st.stage == Stage::Free).then(|| {
                st.stage = Stage::Filling;
                (i, std::mem::take(&mut st.buf))
            })
        })
    }
}

impl Drop for EncodePool {
    /// Stops the workers and joins them; one stuck longer than [`JOIN_WAIT`] is abandoned.
    fn drop(&mut self) {
        self.shared.output.set_idle(false);
        self.shared.stop.store(true, Ordering::Relaxed);
        for slot in &self.shared.slots {
            // Under the lock, so a worker between its stop check and its wait cannot miss this.
            let _st = lock(&slot.state);
            slot.wake.notify_all();
        }
        let running = lock(&self.shared.running);
        let (running, _) = self
            .shared
            .exited
            .wait_timeout_while(running, JOIN_WAIT, |n| *n > 0)
            .unwrap_or_else(|e| e.into_inner());
        let stuck = *running;
        drop(running);
        for handle in self.handles.drain(..) {
            // With none stuck, every worker has left its loop and is exiting: join it, so
            // nothing it holds outlives the pool. A stuck one is left alone.
            if stuck == 0 || handle.is_finished() {
                let _ = handle.join();
            }
        }
        if stuck > 0 {
            warn!(stream = %self.stream, stuck, "encode workers did not stop in time; abandoning them");
        }
    }
}

#[cfg(test)]
mod tests;
