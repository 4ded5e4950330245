//! One helper's life, as the camera source's thread sees it: spawn, handshake, Start, then
//! frames into the stream's slot until stop, pause, an error or silence; then the helper's
//! process group is killed and reaped (always, by [`HelperProcess`]'s drop).
//!
//! Each helper gets a new region of shared memory for its frames ([`FrameRegion`]), offered in
//! its Start settings; the frames it sends there are published as leases of their slots, so the
//! region outlives the helper while the stream (or a client) still holds one of its frames.
//! When no region can be made (address space or memory short), the helper runs without one and
//! sends every frame through the pipe, with a warning in the log.
//!
//! The helper's stdout is read on a thread of its own (`camera-read-<stream>`), which hands
//! messages over a small bounded channel; this thread waits on that channel with a short tick, so
//! it also sees the stop flag, the pause file, changes of demand (sent as `Demand`) and the two
//! deadlines: no Hello + Started within `start_timeout`, no message within `frame_timeout` after
//! that (plus `still_timeout` while a still is asked for: a `switch` still stops the stream).
//! Either deadline means a wedged helper (a camera hung inside libcamera): it is killed, and the
//! supervisor starts a new one.

use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::ExitStatus;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::error::CameraError;
use super::link::serve::Serving;
use super::link::CameraLink;
use super::process::HelperProcess;
use super::protocol::{
    CommandWriter, HelperSettings, Limits, Message, MessageReader, ProtocolError,
};
use super::shm::{FrameRegion, ShmLayout};
use crate::pipeline::sink::{FrameOutput, FrameSink};
use crate::source::StopFlag;

/// How often the loop looks at the stop flag, the pause file and demand.
const TICK: Duration = Duration::from_millis(50);
/// How long a helper asked to stop may take to exit before it is killed.
const STOP_WAIT: Duration = Duration::from_secs(2);
/// Messages the reader may hold ahead of this thread (publishing is O(1), so this is plenty).
const CHANNEL_DEPTH: usize = 4;

/// The reader thread's hand-over of the helper's Hello, then of its messages.
type HelloRx = Receiver<Result<super::protocol::Hello, ProtocolError>>;
type MessageRx = Receiver<Result<Message, ProtocolError>>;

/// What one helper life needs to know.
pub struct Session<'a> {
    pub stream: &'a str,
    pub helper: &'a Path,
    pub args: Vec<String>,
    /// The Start settings (`shared_frames` is set for each helper).
    pub settings: &'a HelperSettings,
    pub limits: Limits,
    pub start_timeout: Duration,
    pub frame_timeout: Duration,
    /// `Some(window)`: idle mode, frames wanted only while demand was seen within `window`.
    pub idle_after: Option<Duration>,
    pub pause_file: Option<&'a Path>,
    /// Stills, controls and pause over the API (camera streams of the server).
    pub link: Option<&'a CameraLink>,
}

/// How a helper life ended without error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The stop flag was raised.
    Stopped,
    /// The pause file appeared: the camera was released.
    Paused,
}

impl Session<'_> {
    /// Runs one helper until it ends; the helper is dead and reaped when this returns.
    pub fn run(&self, sink: &FrameSink, stop: &StopFlag) -> Result<Ended, CameraError> {
        let (settings, frames) = self.offer_frames();
        let (region, fd) = frames.unzip();
        let mut helper = HelperProcess::spawn(self.helper, &self.args, self.stream, fd.as_ref())?;
        drop(fd); // the helper has its own copy now
        let stdout = helper.stdout.take().expect("stdout is piped");
        let mut commands = CommandWriter::new(helper.stdin.take().expect("stdin is piped"));
        let (tx, rx) = mpsc::sync_channel(CHANNEL_DEPTH);
        let (hello_tx, hello_rx) = mpsc::sync_channel(1);
        let limits = self.limits;
        let reader = std::thread::Builder::new()
            .name(format!("camera-read-{}", self.stream))
            .spawn(move || {
                let mut reader = match MessageReader::handshake(stdout, limits) {
                    Ok((mut reader, hello)) => {
                        if let Some(region) = region {
                            reader.share_frames(region);
                        }
                        let _ = hello_tx.send(Ok(hello));
                        reader
                    }
                    Err(err) => {
                        let _ = hello_tx.send(Err(err));
                        return;
                    }
                };
                loop {
                    let msg = reader.read_message();
                    let end = msg.is_err();
                    if tx.send(msg).is_err() || end {
                        return;
                    }
                }
            })
            .map_err(CameraError::Thread)?;
        let result = self.converse(
            &mut helper,
            &mut commands,
            &settings,
            (&hello_rx, &rx),
            sink,
            stop,
        );
        sink.set_idle(false); // no helper, no idle camera
        if let Ok(Ended::Stopped | Ended::Paused) = result {
            let _ = commands.stop();
            drop(commands);
            if helper.wait_exit(STOP_WAIT).is_none() {
                warn!(
                    stream = self.stream,
                    "the camera helper did not stop in time; killing it"
                );
            }
        }
        helper.kill();
        drop(rx);
        let _ = reader.join();
        result
    }

    /// A new region of shared memory for the next helper, and the Start settings that offer it
    /// (without one when it cannot be made: the helper then sends frames inline).
    fn offer_frames(&self) -> (HelperSettings, Option<(Arc<FrameRegion>, OwnedFd)>) {
        let mut settings = self.settings.clone();
        let layout = ShmLayout::for_frames(self.limits.max_frame_bytes);
        let frames = match FrameRegion::create(self.stream, layout) {
            Ok(frames) => Some(frames),
            Err(err) => {
                warn!(stream = self.stream, %err, "frames from the camera helper go through its pipe");
                None
            }
        };
        settings.shared_frames = frames.as_ref().map(|(region, _)| region.layout());
        (settings, frames)
    }

    fn converse(
        &self,
        helper: &mut HelperProcess,
        commands: &mut CommandWriter<std::process::ChildStdin>,
        settings: &HelperSettings,
        (hello, messages): (&HelloRx, &MessageRx),
        sink: &FrameSink,
        stop: &StopFlag,
    ) -> Result<Ended, CameraError> {
        let started_at = Instant::now();
        // The handshake and Start, bounded by start_timeout.
        let hello = loop {
            if let Some(ended) = self.interrupted(stop) {
                return Ok(ended);
            }
            match hello.recv_timeout(TICK) {
                Ok(Ok(h)) => break h,
                Ok(Err(err)) => return Err(self.ended(helper, err)),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.ended(helper, ProtocolError::NoHello))
                }
                Err(RecvTimeoutError::Timeout) => {
                    if started_at.elapsed() >= self.start_timeout {
                        return Err(CameraError::StartTimeout {
                            waited: self.start_timeout,
                        });
                    }
                }
            }
        };
        info!(stream = self.stream, pid = helper.pid(), helper = %hello.helper_version,
            libcamera_built = %hello.libcamera_built, libcamera_loaded = %hello.libcamera_loaded,
            "camera helper ready");
        commands.start(settings).map_err(CameraError::Command)?;
        let mut running = false;
        let mut serving = self.link.map(Serving::new);
        let mut wanted = true;
        // Frames stay wanted until this helper's first one is on the slot: after a restart the
        // slot holds the placeholder, and an idle camera must not keep it on air (unhealthy).
        let mut live = false;
        let mut last_message = Instant::now();
        loop {
            if let Some(ended) = self.interrupted(stop) {
                return Ok(ended);
            }
            let want = !live || self.idle_after.is_none_or(|w| sink.in_demand(w));
            if want != wanted {
                commands.demand(want).map_err(CameraError::Command)?;
                wanted = want;
                // Idle mode: the camera runs, frames are not encoded, the last one stays on
                // the slot; /health counts that as healthy (the helper's Alives show progress).
                sink.set_idle(!want);
            }
            if let (true, Some(serving)) = (running, serving.as_mut()) {
                serving.poll(commands).map_err(CameraError::Command)?;
            }
            match messages.recv_timeout(TICK) {
                Ok(Ok(msg)) => {
                    last_message = Instant::now();
                    match msg {
                        Message::Started(s) => {
                            running = true;
                            if let Some(serving) = &serving {
                                serving.started();
                            }
                            info!(stream = self.stream, camera = %s.camera_id, model = %s.model,
                                width = s.width, height = s.height, format = %s.format, fps = s.fps,
                                "camera streaming");
                        }
                        Message::Frame(f) => {
                            let (i, jpeg) = (f.info, f.jpeg);
                            sink.publish_jpeg(jpeg, i.captured_at(), i.width, i.height);
                            live = true;
                        }
                        Message::Alive { .. } => sink.alive(),
                        Message::Failed(f) => {
                            return Err(CameraError::HelperFailed {
                                kind: f.kind,
                                message: f.message,
                            })
                        }
                        answer @ (Message::StillResult { .. }
                        | Message::ControlsReply { .. }
                        | Message::RequestError { .. }) => {
                            if let Some(serving) = serving.as_mut() {
                                serving.answer(answer);
                            }
                        }
                    }
                }
                Ok(Err(err)) => return Err(self.ended(helper, err)),
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(self.ended(helper, ProtocolError::NoHello))
                }
                Err(RecvTimeoutError::Timeout) => {
                    let silent = last_message.elapsed();
                    if !running && started_at.elapsed() >= self.start_timeout {
                        return Err(CameraError::StartTimeout {
                            waited: self.start_timeout,
                        });
                    }
                    let allowance = serving
                        .as_ref()
                        .map_or(Duration::ZERO, |s| s.silence_allowance());
                    if running && silent >= self.frame_timeout + allowance {
                        return Err(CameraError::FrameTimeout {
                            waited: self.frame_timeout,
                        });
                    }
                }
            }
        }
    }

    /// Stop or pause, if asked for.
    fn interrupted(&self, stop: &StopFlag) -> Option<Ended> {
        if stop.is_raised() {
            Some(Ended::Stopped)
        } else if self.pause_file.is_some_and(Path::exists)
            || self.link.is_some_and(CameraLink::is_paused)
        {
            Some(Ended::Paused)
        } else {
            None
        }
    }

    /// The error for a conversation the helper ended: waits briefly for its exit status, so a
    /// loader error or a crash is reported as such.
    fn ended(&self, helper: &mut HelperProcess, err: ProtocolError) -> CameraError {
        // A helper that closed its stdout is likely exiting: its status tells a crash or a
        // loader error. One that wrote garbage or another version is killed without waiting.
        let exiting = matches!(
            err,
            ProtocolError::NoHello | ProtocolError::Closed { .. } | ProtocolError::Truncated { .. }
        );
        let wait = if exiting {
            Duration::from_millis(500)
        } else {
            Duration::ZERO
        };
        let status = helper.wait_exit(wait);
        // The log thread may still be reading the helper's last words.
        std::thread::sleep(Duration::from_millis(20));
        CameraError::ended(err, status.map(describe), helper.stderr_tail())
    }
}

/// `exit code 127` or `killed by signal 11`.
fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(sig)) => format!("killed by signal {sig}"),
        _ => status.to_string(),
    }
}
