//! The `switch` still: stop the camera, configure it for the still alone, start it with the
//! controls in effect, capture one good frame, stop it, configure the stream's output again and
//! restart it. Meanwhile the stream delivers nothing (the server keeps the last frame on air and
//! waits for the still instead of taking the silence for a hang). The gap is logged.
//!
//! A still that cannot be taken (the camera refuses the still configuration, no good frame) is
//! answered with RequestError and the stream goes on; a stream that cannot be restarted ends
//! the run like any camera failure.

use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use libcamera::camera::ActiveCamera;
use libcamera::control::ControlList;
use libcamera::request::{Request, ReuseFlag};
use tracing::{info, warn};

use super::capture::Run;
use super::controls::{listing, to_control_list};
use super::setup::io_error;
use super::streams::{Plan, Streams, STILL_COOKIE};
use crate::error::{CameraError, CaptureError};

/// How long a stopped camera may take to hand back its requests.
const DRAIN_WAIT: Duration = Duration::from_secs(2);
/// Frames tried for one good still.
const STILL_ATTEMPTS: u32 = 3;

impl Run<'_> {
    /// Takes a still by switching configurations; errors only when the stream cannot resume.
    pub(super) fn switch_still(
        &mut self,
        camera: &mut ActiveCamera<'_>,
        completed: &Receiver<Request>,
        still: (u32, u32),
    ) -> Result<(), CaptureError> {
        let stopped = Instant::now();
        self.stop_and_drain(camera, completed)?;
        // The stream's configuration goes before the camera is configured again.
        self.streams = Streams::default();
        if let Err(e) = self.take_still(camera, completed, still) {
            warn!(camera = %self.id, error = %e, "the switch still failed");
            self.stills.fail(&format!("the still failed: {e}"));
            // The still configuration may still be running.
            let _ = camera.stop();
            self.streams = Streams::default();
        }
        self.streams = Streams::configure(camera, self.id, self.config, Plan::Video)?;
        self.start(camera)?;
        info!(camera = %self.id, gap_ms = stopped.elapsed().as_millis() as u64, "switch still: the stream is back");
        Ok(())
    }

    /// Configures the still output alone, starts, captures one good frame, stops.
    fn take_still(
        &mut self,
        camera: &mut ActiveCamera<'_>,
        completed: &Receiver<Request>,
        still: (u32, u32),
    ) -> Result<(), CaptureError> {
        let mut streams = Streams::configure(camera, self.id, self.config, Plan::Still { still })?;
        self.start(camera)?;
        let wait = self.config.frame_timeout.max(Duration::from_secs(1));
        for _ in 0..STILL_ATTEMPTS {
            let request = streams
                .still_request
                .take()
                .expect("the still request is back");
            camera
                .queue_request(request)
                .map_err(|(_, e)| io_error(self.id, "queueing the still request")(e))?;
            let mut request = loop {
                match completed.recv_timeout(wait) {
                    Ok(r) if r.cookie() == STILL_COOKIE => break r,
                    Ok(_) => {} // a stream request cancelled late: it belonged to the old configuration
                    Err(RecvTimeoutError::Timeout) => {
                        return Err(CameraError::Timeout {
                            id: self.id.into(),
                            waited: wait,
                        }
                        .into())
                    }
                    Err(RecvTimeoutError::Disconnected) => {
                        return Err(CameraError::Disconnected { id: self.id.into() }.into())
                    }
                }
            };
            let good = self.check_status(&request, streams.still_stream())?;
            if good {
                self.deliver_still(&request, streams.still.as_ref());
            }
            request.reuse(ReuseFlag::REUSE_BUFFERS);
            streams.still_request = Some(request);
            if good {
                break;
            }
        }
        if self.stills.waiting() {
            self.stills.fail("the camera delivered no good still frame");
        }
        camera.stop().map_err(io_error(self.id, "stop"))?;
        Ok(())
    }

    /// Starts the camera with the controls in effect, and refreshes the listing (a camera's
    /// ranges can depend on its configuration, e.g. ScalerCrop's).
    fn start(&mut self, camera: &mut ActiveCamera<'_>) -> Result<(), CameraError> {
        let (infos, ids) = listing(camera.controls());
        self.controls.set_infos(infos);
        self.ids = ids;
        let mut list = ControlList::new();
        to_control_list(&self.ids, self.controls.applied(), &mut list);
        self.pending_controls = Default::default();
        camera
            .start(Some(&list))
            .map_err(io_error(self.id, "start"))?;
        (self.in_flight, self.still_in_flight) = (0, false);
        Ok(())
    }

    /// Stops the camera and takes back every request it held (libcamera cancels them).
    fn stop_and_drain(
        &mut self,
        camera: &mut ActiveCamera<'_>,
        completed: &Receiver<Request>,
    ) -> Result<(), CameraError> {
        camera.stop().map_err(io_error(self.id, "stop"))?;
        let deadline = Instant::now() + DRAIN_WAIT;
        while self.in_flight > 0 || self.still_in_flight {
            let left = deadline.saturating_duration_since(Instant::now());
            match completed.recv_timeout(left) {
                Ok(r) if r.cookie() == STILL_COOKIE => {
                    self.still_in_flight = false;
                    self.streams.still_request = Some(r);
                }
                Ok(r) => {
                    self.in_flight -= 1;
                    self.streams.video_requests.push_back(r);
                }
                Err(RecvTimeoutError::Timeout) => {
                    return Err(CameraError::Timeout {
                        id: self.id.into(),
                        waited: DRAIN_WAIT,
                    })
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(CameraError::Disconnected { id: self.id.into() })
                }
            }
        }
        Ok(())
    }
}
