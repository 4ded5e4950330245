//! The capture loop of one run, on the helper's capture thread:
//!
//! - serve the server's requests between frames (`Capture::serve`): controls checked and
//!   queued for the next request, stills noted;
//! - queue the stream's requests, with the controls set since the last one merged into the
//!   first (libcamera applies a request's controls from that frame on), and, when a still is
//!   due, the still request (dual) or a switch of configuration (`switch`, [`super::switch`]);
//! - wait for completed requests; of the stream's that completed, only the newest is offered to
//!   the [`EncodePool`], the older ones are counted as dropped and requeued at once; a completed
//!   still goes to the still encoder, its request kept for the next still;
//! - the pool copies the frame into a free worker (or drops it when all are busy, or skips it
//!   while the server wants no frames, reporting it idle), so every request is requeued as soon
//!   as its frame was offered: frames are dropped, never queued, and the camera keeps its
//!   buffers;
//! - a camera without `FrameDurationLimits` (libcamera's virtual camera completes requests as
//!   fast as they are queued) is paced here: completed requests are requeued one per frame
//!   interval (the shorter `FrameDurationLimits` once it is set);
//! - no completion for `frame_timeout` while requests are queued, a run of failed frames, or a
//!   disconnect ends the run with a [`CameraError`].

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
use streamserver::source::camera::protocol::requests::{ControlValue, ControlValues};
use tracing::info;

use super::controls::{reported, to_control_list, Ids};
use super::setup::io_error;
use super::streams::{Output, Streams, STILL_COOKIE};
use crate::context::Capture;
use crate::controls::CameraControls;
use crate::error::{CameraError, CaptureError};
use crate::output::ProtocolOutput;
use crate::still::Stills;
use crate::timing::{monotonic_now_ns, FrameClock, FrameMeta};

/// How often the loop wakes to check the stop flag and requests while waiting for frames.
const POLL: Duration = Duration::from_millis(50);
/// Completions this many times in a row faster than half the frame interval mean the camera
/// ignores its frame-duration control (libcamera 0.4's virtual camera lists it but runs as fast
/// as requests come): from then on requests are paced here.
const FAST_COMPLETIONS_TO_PACE: u32 = 3;
/// This many failed or cancelled frames in a row end the run.
const MAX_BAD_FRAMES: u32 = 10;

/// How stills are taken in this run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Strategy {
    /// The still output is configured beside the stream's.
    Dual,
    /// The camera is reconfigured for each still, at this size.
    Switch { still: (u32, u32) },
}

/// The state of one capture run.
pub(super) struct Run<'a> {
    pub(super) id: &'a str,
    pub(super) config: &'a CameraConfig,
    pub(super) pool: &'a mut EncodePool,
    /// Where dropped frames are counted.
    pub(super) output: &'a ProtocolOutput,
    pub(super) streams: Streams,
    pub(super) strategy: Strategy,
    pub(super) controls: CameraControls,
    pub(super) ids: Ids,
    pub(super) stills: Stills,
    /// Controls set since the last request was queued: merged into the next one.
    pub(super) pending_controls: ControlValues,
    /// What the camera reported for its newest frame.
    pub(super) reported: ControlValues,
    pub(super) in_flight: usize,
    pub(super) still_in_flight: bool,
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
        cx: &mut Capture,
        camera: &mut ActiveCamera<'_>,
        completed: &Receiver<Request>,
        disconnected: &AtomicBool,
    ) -> Result<(), CaptureError> {
        let mut next_queue = Instant::now();
        let mut last_progress = Instant::now();
        while !cx.stop.is_raised() {
            if disconnected.load(Relaxed) {
                return Err(CameraError::Disconnected { id: self.id.into() }.into());
            }
            let pending = &mut self.pending_controls;
            cx.serve(&mut self.controls, &mut self.stills, &self.reported, |v| {
                *pending = pending.merged(v);
            });
            self.follow_frame_duration();
            if self.stills.due() && !self.still_in_flight {
                match self.strategy {
                    Strategy::Dual => self.queue_still(camera)?,
                    Strategy::Switch { still } => {
                        self.switch_still(camera, completed, still)?;
                        (next_queue, last_progress) = (Instant::now(), Instant::now());
                    }
                }
            }
            let now = Instant::now();
            while !self.streams.video_requests.is_empty() {
                if let Some(interval) = self.pace {
                    if now < next_queue {
                        break;
                    }
                    next_queue = (next_queue + interval).max(now);
                }
                let mut request = self.streams.video_requests.pop_front().expect("not empty");
                if !self.pending_controls.is_empty() {
                    let values = std::mem::take(&mut self.pending_controls);
                    to_control_list(&self.ids, &values, request.controls_mut());
                }
                camera
                    .queue_request(request)
                    .map_err(|(_, e)| io_error(self.id, "queueing a request")(e))?;
                if self.in_flight == 0 {
                    last_progress = now;
                }
                self.in_flight += 1;
            }
            let mut wait = POLL;
            if self.pace.is_some() && !self.streams.video_requests.is_empty() {
                wait = wait.min(next_queue.saturating_duration_since(now));
            }
            match completed.recv_timeout(wait) {
                Ok(first) => {
                    last_progress = Instant::now();
                    let mut newest = None;
                    for request in std::iter::once(first).chain(completed.try_iter()) {
                        if request.cookie() == STILL_COOKIE {
                            self.still_completed(request)?;
                            continue;
                        }
                        self.watch_rate(last_progress);
                        self.in_flight -= 1;
                        if let Some(older) = newest.replace(request) {
                            self.check_status(&older, self.streams.video_stream())?;
                            self.output.frame_dropped();
                            self.requeue(older);
                        }
                    }
                    if let Some(newest) = newest {
                        self.deliver(&newest)?;
                        self.requeue(newest);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let waited = last_progress.elapsed();
                    let busy = self.in_flight > 0 || self.still_in_flight;
                    if busy && waited >= self.config.frame_timeout {
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

    /// A pacing stand-in for the camera's own frame-duration control follows the shorter of
    /// the `FrameDurationLimits` just set.
    fn follow_frame_duration(&mut self) {
        if self.pace.is_none() {
            return;
        }
        if let Some(ControlValue::List(l)) = self.pending_controls.0.get("FrameDurationLimits") {
            if let Some(ControlValue::Int(us)) = l.first() {
                let interval = Duration::from_micros(us.unsigned_abs());
                info!(camera = %self.id, interval_ms = interval.as_millis() as u64, "pacing requests at the new frame duration");
                self.pace = Some(interval);
            }
        }
    }

    /// Queues the still request (dual): the next frame of the still output.
    fn queue_still(&mut self, camera: &ActiveCamera<'_>) -> Result<(), CaptureError> {
        let Some(request) = self.streams.still_request.take() else {
            return Ok(());
        };
        camera
            .queue_request(request)
            .map_err(|(_, e)| io_error(self.id, "queueing the still request")(e))?;
        self.still_in_flight = true;
        Ok(())
    }

    /// The still request completed: its frame goes to the still encoder, the request is kept.
    fn still_completed(&mut self, mut request: Request) -> Result<(), CaptureError> {
        self.still_in_flight = false;
        let good = self.check_status(&request, self.streams.still_stream())?;
        if good {
            let still = self.streams.still.take();
            self.deliver_still(&request, still.as_ref());
            self.streams.still = still;
        } else {
            self.stills.fail("the camera failed to capture the still");
        }
        request.reuse(ReuseFlag::REUSE_BUFFERS);
        self.streams.still_request = Some(request);
        Ok(())
    }

    /// Hands a completed still (the buffer of `output` in `request`) to the still encoder.
    pub(super) fn deliver_still(&mut self, request: &Request, output: Option<&Output>) {
        let Some(map) = output.and_then(|o| o.maps.first().map(|m| (o, m))) else {
            return self.stills.fail("no still output");
        };
        let (output, map) = map;
        let captured_at = self.capture_time(request, output, false);
        let frame = output.layout.raw_frame(map.planes(), map.plane_count());
        self.stills.deliver(&frame, captured_at);
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
        self.streams.video_requests.push_back(request);
    }

    /// Counts failed frames; true when this one is good. Too many in a row is an error.
    pub(super) fn check_status(
        &mut self,
        request: &Request,
        stream: Option<Stream>,
    ) -> Result<bool, CameraError> {
        let buffer_ok = stream
            .and_then(|s| request.buffer::<FrameBuffer>(&s))
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

    /// The wall-clock capture time of `request`'s buffer of `output` (from the sensor
    /// timestamp); `count_lost`: frames the sequence skipped are counted as dropped.
    fn capture_time(&mut self, request: &Request, output: &Output, count_lost: bool) -> SystemTime {
        let metadata = request
            .buffer::<FrameBuffer>(&output.stream)
            .and_then(|b| b.metadata());
        let meta = FrameMeta {
            sequence: metadata.as_ref().map(|m| m.sequence()),
            timestamp_ns: request
                .metadata()
                .get::<SensorTimestamp>()
                .ok()
                .and_then(|t| u64::try_from(t.0).ok())
                .or_else(|| metadata.as_ref().map(|m| m.timestamp())),
        };
        if !count_lost {
            // A still's own output: its sequence is not the stream's.
            return FrameClock::new()
                .stamp(meta, SystemTime::now(), monotonic_now_ns())
                .captured_at;
        }
        let stamp = self
            .clock
            .stamp(meta, SystemTime::now(), monotonic_now_ns());
        for _ in 0..stamp.lost {
            self.output.frame_dropped();
        }
        stamp.captured_at
    }

    /// Offers the newest completed frame to the encoding pool, unless it failed.
    fn deliver(&mut self, request: &Request) -> Result<(), CaptureError> {
        if !self.check_status(request, self.streams.video_stream())? {
            self.output.frame_dropped();
            return Ok(());
        }
        self.reported = reported(&self.ids, request.metadata());
        let Some(output) = self.streams.video.take() else {
            return Ok(());
        };
        let captured_at = self.capture_time(request, &output, true);
        let result = match output.maps.get(request.cookie() as usize) {
            // Copied into a free worker (or dropped when all are busy, or skipped while idle,
            // both reported by the pool); either way the request can be requeued after this.
            Some(map) => self
                .pool
                .offer_with(captured_at, || {
                    output.layout.raw_frame(map.planes(), map.plane_count())
                })
                .map(drop)
                .map_err(CaptureError::from),
            None => {
                self.output.frame_dropped();
                Ok(())
            }
        };
        self.streams.video = Some(output);
        result
    }
}
