//! The camera's capture loop (libcamera builds only), run on the stream's source thread.
//!
//! One run: take the shared camera manager, acquire the selected camera, configure one video
//! stream (format, size, buffer count, orientation), allocate its buffers and map each of them
//! once ([`MappedBuffer`]), start with the configured controls and loop:
//!
//! - wait for completed requests; of all that completed, only the newest is offered to the
//!   stream's [`EncodePool`], the older ones are counted as dropped and requeued at once;
//! - the pool copies the frame into a free worker (or drops it when all are busy, or skips it
//!   in idle mode while still reporting signs of life), so every request is requeued as soon
//!   as its frame was offered: frames are dropped, never queued, and the camera keeps its
//!   buffers;
//! - a camera without `FrameDurationLimits` (libcamera's virtual camera completes requests as
//!   fast as they are queued) is paced here: completed requests are requeued one per frame
//!   interval;
//! - no completion for `frame_timeout` while requests are queued, a run of failed frames, or a
//!   disconnect ends the run with a [`CameraError`], and the supervisor restarts the source.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use libcamera::camera::ActiveCamera;
use libcamera::control::ControlList;
use libcamera::controls::SensorTimestamp;
use libcamera::framebuffer::{AsFrameBuffer, FrameMetadataStatus};
use libcamera::framebuffer_allocator::{FrameBuffer, FrameBufferAllocator};
use libcamera::request::{Request, RequestStatus, ReuseFlag};
use libcamera::stream::{Stream, StreamRole};
use tracing::{info, warn};

use super::mapping::{Layout, MappedBuffer};
use super::setup::{configure, configure_error, io_error, map_buffer, select};
use super::timing::{monotonic_now_ns, FrameClock, FrameMeta};
use super::{controls, manager, CameraError};
use crate::config::{CameraConfig, EncoderConfig};
use crate::pipeline::encode_pool::EncodePool;
use crate::source::{FrameSink, FrameSource, SourceError, StopFlag};

/// How often the loop wakes to check the stop flag while waiting for frames.
const POLL: Duration = Duration::from_millis(100);
/// Completions this many times in a row faster than half the frame interval mean the camera
/// ignores its frame-duration control (libcamera 0.4's virtual camera lists it but runs as fast
/// as requests come): from then on requests are paced here.
const FAST_COMPLETIONS_TO_PACE: u32 = 3;
/// This many failed or cancelled frames in a row end the run.
const MAX_BAD_FRAMES: u32 = 10;

/// A `source = "camera"` stream's source: one value per (re)start.
pub struct CameraSource {
    stream_id: String,
    config: CameraConfig,
    encoder: EncoderConfig,
}

impl CameraSource {
    pub fn new(stream_id: String, config: CameraConfig, encoder: EncoderConfig) -> Self {
        Self {
            stream_id,
            config,
            encoder,
        }
    }
}

impl FrameSource for CameraSource {
    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "camera {} {}x{} @ {} fps ({})",
            c.select,
            c.width,
            c.height,
            c.fps,
            c.format.name()
        )
    }

    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        let mut pool = EncodePool::new(&self.stream_id, self.encoder, sink.clone())?;
        let manager = manager::get()?;
        let cameras = manager.cameras();
        let camera = select(&cameras, &self.config.select)?;
        let id = camera.id().to_string();
        let mut active = camera.acquire().map_err(|source| CameraError::Acquire {
            id: id.clone(),
            source,
        })?;
        let disconnected = Arc::new(AtomicBool::new(false));
        let flag = disconnected.clone();
        active.on_disconnected(move || flag.store(true, Relaxed));

        let mut cfgs = active
            .generate_configuration(&[StreamRole::VideoRecording])
            .ok_or_else(|| configure_error(&id, "no video configuration"))?;
        let layout = configure(&id, &self.config, &mut cfgs)?;
        active
            .configure(&mut cfgs)
            .map_err(io_error(&id, "configure"))?;
        let stream = cfgs
            .get(0)
            .and_then(|c| c.stream())
            .ok_or_else(|| configure_error(&id, "configured without a stream"))?;

        let mut allocator = FrameBufferAllocator::new(&active);
        let buffers = allocator
            .alloc(&stream)
            .map_err(io_error(&id, "buffer allocation"))?;
        let mut maps = Vec::with_capacity(buffers.len());
        let mut pending = VecDeque::with_capacity(buffers.len());
        for (i, buffer) in buffers.into_iter().enumerate() {
            maps.push(map_buffer(&buffer).map_err(io_error(&id, "mapping a frame buffer"))?);
            let mut request = active
                .create_request(Some(i as u64))
                .ok_or_else(|| configure_error(&id, "cannot create a request"))?;
            request
                .add_buffer(&stream, buffer)
                .map_err(io_error(&id, "adding a buffer to a request"))?;
            pending.push_back(request);
        }
        let completed = active.subscribe_request_completed();
        let mut start_controls = ControlList::new();
        let applied = controls::apply(&id, &self.config, active.controls(), &mut start_controls);
        let pace = (!applied.frame_duration_limits).then(|| self.config.frame_interval());
        if let Some(interval) = pace {
            info!(camera = %id, interval_ms = interval.as_millis() as u64, "camera has no frame-duration control; pacing requests here");
        }
        active
            .start(Some(&start_controls))
            .map_err(io_error(&id, "start"))?;
        info!(camera = %id, format = layout.format.name(), width = layout.width, height = layout.height, stride = layout.stride, buffers = maps.len(), "camera streaming");

        let mut run = Run {
            id: &id,
            config: &self.config,
            pool: &mut pool,
            layout,
            maps: &maps,
            stream: &stream,
            pending,
            in_flight: 0,
            pace,
            clock: FrameClock::new(),
            bad_frames: 0,
            fast_completions: 0,
            last_completion: None,
        };
        let result = run.capture(&active, &completed, &disconnected, sink, stop);
        if let Err(err) = &result {
            // Stopping a hung camera can block until the driver returns: say why first.
            warn!(camera = %id, %err, "camera failed; stopping it");
        }
        if let Err(err) = active.stop() {
            warn!(camera = %id, %err, "stopping the camera failed");
        }
        result
    }
}

/// The state of one capture run.
struct Run<'a> {
    id: &'a str,
    config: &'a CameraConfig,
    pool: &'a mut EncodePool,
    layout: Layout,
    /// Mapped buffers, indexed by request cookie.
    maps: &'a [MappedBuffer],
    stream: &'a Stream,
    /// Requests ready to be queued (all at once, or one per interval when pacing).
    pending: VecDeque<Request>,
    in_flight: usize,
    pace: Option<Duration>,
    clock: FrameClock,
    bad_frames: u32,
    /// Completions in a row that came faster than half the frame interval.
    fast_completions: u32,
    last_completion: Option<Instant>,
}

impl Run<'_> {
    fn capture(
        &mut self,
        camera: &ActiveCamera<'_>,
        completed: &Receiver<Request>,
        disconnected: &AtomicBool,
        sink: &FrameSink,
        stop: &StopFlag,
    ) -> Result<(), SourceError> {
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
                        sink.frame_dropped();
                        self.requeue(older);
                    }
                    self.deliver(&newest, sink)?;
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
    fn deliver(&mut self, request: &Request, sink: &FrameSink) -> Result<(), SourceError> {
        if !self.check_status(request)? {
            sink.frame_dropped();
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
            sink.frame_dropped();
        }
        let Some(map) = self.maps.get(request.cookie() as usize) else {
            sink.frame_dropped();
            return Ok(());
        };
        // Copied into a free worker (or dropped when all are busy, or skipped while idle, both
        // counted by the pool); either way the request can be requeued right after this.
        self.pool.offer_with(stamp.captured_at, || {
            self.layout.raw_frame(map.planes(), map.plane_count())
        })?;
        Ok(())
    }
}
