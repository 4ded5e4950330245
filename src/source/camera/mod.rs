//! The camera source (`source = "camera"`): a supervisor of the camera helper process.
//!
//! libcamera runs in `streamserver-camera`, a separate program and the only one that links it:
//! libcamera can hang in a way only a process's death undoes, and it changes its soname at every
//! minor release (a binary linked against the old one no longer starts after `apt upgrade`). So
//! this source spawns the helper for its stream and reads the JPEGs it sends over a pipe
//! ([`protocol`]). Whatever goes wrong — the helper exits, crashes, speaks another protocol
//! version, cannot load its libraries, or sends nothing for `frame_timeout` — the helper's whole
//! process group is killed with SIGKILL and reaped, and the error goes to the supervisor, which
//! shows the placeholder (or the last frame) with the reason and starts a new helper after its
//! backoff. Clients stay connected throughout; the server and its other streams never notice.
//!
//! - [`session`]: one helper's life (handshake, Start, frames, demand, deadlines).
//! - [`process`]: spawning in a process group, stderr into our log, kill and reap.
//! - [`error`]: [`CameraError`] with hints (rebuild the helper, camera busy, …).
//! - [`auto`]: `source = "auto"`: the camera if the helper finds one, else the test pattern.
//! - [`link`]: stills, controls and pause over the API, to and from the helper of the moment.
//! - [`protocol`]: the server ↔ helper protocol (shared with the helper).
//! - [`shm`]: the shared memory through which the helper hands frames over (shared too).
//!
//! A pause file (`pause_file`) or a pause over the API ([`CameraLink::pause`]) releases the
//! camera: while either holds no helper runs, the stream shows a "paused" picture (or its last
//! frame) and `/api/state` says `paused`; when both are gone, a helper starts again.

pub mod auto;
pub mod error;
pub mod link;
pub mod process;
pub mod protocol;
pub mod session;
pub mod shm;

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use super::{FrameSource, SourceError, StopFlag};
use crate::config::{CameraConfig, EncoderConfig, OverlayConfig, WhilePaused};
use crate::pipeline::sink::FrameSink;
use crate::pipeline::slot::{FrameKind, NewFrame};
pub use error::CameraError;
pub use link::CameraLink;
use protocol::HelperSettings;
use session::{Ended, Session};

/// How often a paused stream looks at its pause file (and says it is alive).
const PAUSE_POLL: Duration = Duration::from_millis(100);

/// A `source = "camera"` stream's source: one value per (re)start of the helper.
pub struct CameraSource {
    stream_id: String,
    config: CameraConfig,
    encoder: EncoderConfig,
    overlay: OverlayConfig,
    helper: PathBuf,
    link: Option<Arc<CameraLink>>,
}

impl CameraSource {
    pub fn new(
        stream_id: String,
        config: CameraConfig,
        encoder: EncoderConfig,
        overlay: OverlayConfig,
        link: Option<Arc<CameraLink>>,
    ) -> Self {
        let helper = process::helper_path(config.helper.as_deref());
        Self {
            stream_id,
            config,
            encoder,
            overlay,
            helper,
            link,
        }
    }

    fn session<'a>(&'a self, settings: &'a HelperSettings) -> Session<'a> {
        Session {
            stream: &self.stream_id,
            helper: &self.helper,
            args: vec![
                "run".into(),
                "--parent-pid".into(),
                std::process::id().to_string(),
            ],
            settings,
            limits: protocol::Limits {
                max_frame_bytes: self.config.max_frame_bytes,
                ..protocol::Limits::default()
            },
            start_timeout: self.config.start_timeout,
            frame_timeout: self.config.frame_timeout,
            idle_after: self.encoder.idle.then_some(self.encoder.idle_after),
            pause_file: self.config.pause_file.as_deref(),
            link: self.link.as_deref(),
        }
    }

    /// Why the stream is paused now, if it is: the pause file's name, or the API.
    fn pause_reason(&self) -> Option<String> {
        match self.config.pause_file.as_deref() {
            Some(file) if file.exists() => Some(format!("remove {} to resume", file.display())),
            _ if self.link.as_ref().is_some_and(|l| l.is_paused()) => Some(format!(
                "POST /api/streams/{}/resume to resume",
                self.stream_id
            )),
            _ => None,
        }
    }

    /// Waits while the stream is paused (pause file or API): the camera is free; the stream
    /// shows the paused picture or its last frame. Returns true when stopped meanwhile.
    fn paused(&self, sink: &FrameSink, stop: &StopFlag) -> bool {
        let Some(why) = self.pause_reason() else {
            return false;
        };
        info!(stream = %self.stream_id, why = %why, "paused: the camera is released");
        sink.stats.paused.store(true, Relaxed);
        if self.config.while_paused == WhilePaused::Placeholder || sink.slot.latest().is_none() {
            self.show_paused(sink, &why);
        }
        let stopped = loop {
            sink.alive();
            if self.pause_reason().is_none() {
                break false;
            }
            if stop.sleep(PAUSE_POLL) {
                break true;
            }
        };
        sink.stats.paused.store(false, Relaxed);
        if !stopped {
            info!(stream = %self.stream_id, "pause ended: capture resumes");
        }
        stopped
    }

    fn show_paused(&self, sink: &FrameSink, why: &str) {
        let (w, h) = (
            sink.stats.width.load(Relaxed),
            sink.stats.height.load(Relaxed),
        );
        let at = SystemTime::now();
        match crate::pipeline::placeholder::render_notice(
            &self.stream_id,
            "is paused",
            why,
            at,
            w,
            h,
        ) {
            Ok(jpeg) => {
                sink.slot.publish(NewFrame {
                    jpeg,
                    captured_at: at,
                    width: w,
                    height: h,
                    kind: FrameKind::Placeholder,
                });
            }
            Err(err) => warn!(%err, "cannot render the paused picture"),
        }
    }
}

impl FrameSource for CameraSource {
    fn describe(&self) -> String {
        let c = &self.config;
        format!(
            "camera {} {}x{} @ {} fps ({}) via {}",
            c.select,
            c.width,
            c.height,
            c.fps,
            c.format.name(),
            self.helper.display()
        )
    }

    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        let settings = HelperSettings {
            stream: self.stream_id.clone(),
            camera: self.config.clone(),
            encoder: self.encoder,
            overlay: self.overlay.clone(),
            controls: match &self.link {
                // Values set over the API survive a new helper.
                Some(link) => self.config.startup_controls().merged(&link.applied()),
                None => self.config.startup_controls(),
            },
            max_frame_bytes: self.config.max_frame_bytes,
            shared_frames: None, // each helper's own, set by its session
        };
        loop {
            if self.paused(sink, stop) {
                return Ok(());
            }
            match self.session(&settings).run(sink, stop)? {
                Ended::Stopped => return Ok(()),
                Ended::Paused => continue,
            }
        }
    }
}

/// Start-up check of a camera stream: nothing to check in the server — a missing or broken
/// helper is an error on the stream (with its reason on the placeholder), never a dead server.
pub fn preflight() -> Result<(), SourceError> {
    Ok(())
}

/// `streamserver list-cameras`: what `streamserver-camera list` prints.
pub fn list_cameras(helper: Option<&std::path::Path>) -> Result<String, CameraError> {
    auto::run_list(&process::helper_path(helper), auto::LIST_TIMEOUT)
}
