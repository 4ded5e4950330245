//! The capture loop of one run, on the helper's capture thread:
//!
//! - wait for completed requests; of all that completed, only the newest is offered to the
//!   [`EncodePool`], the older ones are counted as dropped and requeued at once;
//! - the pool copies the frame into a free worker (or drops it when all are busy, or skips it
//!   while the server wants no frames, reporting it idle), so every request is requeued as soon
//!   as its frame was offered: frames are dropped, never queued, and the camera keeps its
//!   buffers;
//! - a camera without `FrameDurationLimits` (libcamera's virtual camera completes requests as
//!   fast as they are queued) is paced here: completed requests are requeued one per frame
//!   interval;
//! - no completion for `frame_timeout` while requests are queued, a run of failed frames, or a
//!   disconnect ends the run with a [`CameraError`].

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant, SystemTime};

use libcamera::camera::ActiveCamera;
use libcamera::controls::SensorTimestamp;
use libcamera::framebuffer::{AsFrameBuffer, FrameMetadataStatus};
use libcamera::framebuffer_allocator::FrameBuffer;
use libcamera::request::{Request, RequestStatus, ReuseFlag};
use libcamera::stream::Stream;
use streamserver::config::CameraConfig;
use streamserver::pipeline::encode_pool::EncodePool;
use streamserver::pipeline::sink::FrameOutput;
use streamserver::source::StopFlag;
use tracing::info;

use super::setup::io_error;
use crate::error::{CameraError, CaptureError};
use crate::mapping::{Layout, MappedBuffer};
use crate::output::ProtocolOutput;
use crate::timing::{monotonic_now_ns, FrameClock, FrameMeta};

/// How often the loop wakes to check the stop flag while waiting for frames.
const POLL: Duration = Duration::from_millis(100);
/// Completions this many times in a row faster than half the frame interval mean the camera
/// ignores its frame-duration control (libcamera 0.4's virtual camera lists it but runs as fast
/// as requests come): from then on requests are paced here.
const FAST_COMPLETIONS_TO_PACE: u32 = 3;
/// This many failed or cancelled frames in a row end the run.
const MAX_BAD_FRAMES: u32 = 10;

/// The state of one capture run.
pub(super) struct Run<'a> {
    pub(super) id: &'a str,
    pub(super) config: &'a CameraConfig,
    pub(super) pool: &'a mut EncodePool,
    /// Where dropped frames are counted.
    pub(super) output: &'a ProtocolOutput,
    pub(super) layout: Layout,
    /// Mapped buffers, indexed by request cookie.
    pub(super) maps: &'a [MappedBuffer],
    pub(super) stream: &'a Stream,
    /// Requests ready to be queued (all at once, or one per interval when pacing).
    pub(super) pending: VecDeque<Request>,
    pub(super) in_flight: usize,
    pub(super) pace: Option<Duration>,
    pub(super) clock: FrameClock,
    pub(super) bad_frames: u32,
    /// Completions in a row that came faster than half the frame interval.
    pub(super) fast_completions: u32,
    pub(super) last_completion: Option<Instant>,
}

impl Run<'_> {
    pub(super) fn capture(
        &mut self,
        camera: &ActiveCamera<'_>,
        completed: &Receiver<Request>,
        disconnected: &AtomicBool,
        stop: &StopFlag,
    ) -> Result<(), CaptureError> {
        let mut next_queue = Instant::now();
        let mut last_progress = Instant::now();
        while !stop.is_raised() {
            if disconnected.load(Relaxed) {
                return Err(CameraError::Disconnected { id: self.id.into() }.into());
            }
            let now = Instant::now();
            while !self.pending.is_empty() {
                if let Some(interval) = self.pace {
                    if now < next_queue {
                        break;
                    }
                    next_queue = (next_queue + interval).max(now);
                }
                let request = self.pending.pop_front().expect("not empty");
                camera
                    .queue_request(request)
                    .map_err(|(_, e)| io_error(self.id, "queueing a request")(e))?;
                if self.in_flight == 0 {
                    last_progress = now;
                }
                self.in_flight += 1;
            }
            let mut wait = POLL;
            if self.pace.is_some() && !self.pending.is_empty() {
                wait = wait.min(next_queue.saturating_duration_since(now));
            }
            match completed.recv_timeout(wait) {
                Ok(first) => {
                    last_progress = Instant::now();
                    self.watch_rate(last_progress);
                    self.in_flight -= 1;
                    let mut newest = first;
                    while let Ok(next) = completed.try_recv() {
                        self.in_flight -= 1;
                        let older = std::mem::replace(&mut newest, next);
                        self.check_status(&older)?;
                        self.output.frame_dropped();
                        self.requeue(older);
                    }
                    self.deliver(&newest)?;
                    self.requeue(newest);
                }
                Err(RecvTimeoutError::Timeout) => {
                    let waited = last_progress.elapsed();
                    if self.in_flight > 0 && waited >= self.config.frame_timeout {
                        return Err(CameraError::Timeout {
                            id: self.id.into(),
                            waited,
                        }
                        .into());
                    }
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(CameraError::Disconnected { id: self.id.into() }.into());
                }
            }
        }
        Ok(())
    }

    /// Starts pacing requests here when the camera turns out to ignore its frame rate.
    fn watch_rate(&mut self, now: Instant) {
        if self.pace.is_some() {
            return;
        }
        let interval = self.config.frame_interval();
        let fast = self.last_completion.is_some_and(|t| now - t < interval / 2);
        self.last_completion = Some(now);
        self.fast_completions = if fast { self.fast_completions + 1 } else { 0 };
        if self.fast_completions >= FAST_COMPLETIONS_TO_PACE {
            info!(camera = %self.id, interval_ms = interval.as_millis() as u64, "camera delivers faster than its frame rate; pacing requests here");
            self.pace = Some(interval);
        }
    }

    fn requeue(&mut self, mut request: Request) {
        request.reuse(ReuseFlag::REUSE_BUFFERS);
        self.pending.push_back(request);
    }

    /// Counts failed frames; true when this one is good. Too many in a row is an error.
    fn check_status(&mut self, request: &Request) -> Result<bool, CameraError> {
        let buffer_ok = request
            .buffer::<FrameBuffer>(self.stream)
            .and_then(|b| b.metadata())
            .is_none_or(|m| matches!(m.status(), FrameMetadataStatus::Success));
        if request.status() == RequestStatus::Complete && buffer_ok {
            self.bad_frames = 0;
            return Ok(true);
        }
        self.bad_frames += 1;
        if self.bad_frames >= MAX_BAD_FRAMES {
            return Err(CameraError::FrameErrors {
                id: self.id.into(),
                count: self.bad_frames,
            });
        }
        Ok(false)
    }

    /// Offers the newest completed frame to the encoding pool, unless it failed.
    fn deliver(&mut self, request: &Request) -> Result<(), CaptureError> {
        if !self.check_status(request)? {
            self.output.frame_dropped();
            return Ok(());
        }
        let buffer = request.buffer::<FrameBuffer>(self.stream);
        let metadata = buffer.and_then(|b| b.metadata());
        let meta = FrameMeta {
            sequence: metadata.as_ref().map(|m| m.sequence()),
            timestamp_ns: request
                .metadata()
                .get::<SensorTimestamp>()
                .ok()
                .and_then(|t| u64::try_from(t.0).ok())
                .or_else(|| metadata.as_ref().map(|m| m.timestamp())),
        };
        let stamp = self
            .clock
            .stamp(meta, SystemTime::now(), monotonic_now_ns());
        for _ in 0..stamp.lost {
            self.output.frame_dropped();
        }
        let Some(map) = self.maps.get(request.cookie() as usize) else {
            self.output.frame_dropped();
            return Ok(());
        };
        // Copied into a free worker (or dropped when all are busy, or skipped while idle, both
        // reported by the pool); either way the request can be requeued right after this.
        self.pool.offer_with(stamp.captured_at, || {
            self.layout.raw_frame(map.planes(), map.plane_count())
        })?;
        Ok(())
    }
}
