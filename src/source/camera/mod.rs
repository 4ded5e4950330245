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
//! - [`protocol`]: the server ↔ helper protocol (shared with the helper).
//!
//! A pause file (`pause_file`) releases the camera: while it exists no helper runs, the stream
//! shows a "paused" picture (or its last frame) and `/api/state` says `paused`; when it goes,
//! a helper starts again.

pub mod auto;
pub mod error;
pub mod process;
pub mod protocol;
pub mod session;

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use tracing::{info, warn};

use super::{FrameSource, SourceError, StopFlag};
use crate::config::{CameraConfig, EncoderConfig, OverlayConfig, WhilePaused};
use crate::pipeline::sink::FrameSink;
use crate::pipeline::slot::{FrameKind, NewFrame};
pub use error::CameraError;
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
}

impl CameraSource {
    pub fn new(
        stream_id: String,
        config: CameraConfig,
        encoder: EncoderConfig,
        overlay: OverlayConfig,
    ) -> Self {
        let helper = process::helper_path(config.helper.as_deref());
        Self {
            stream_id,
            config,
            encoder,
            overlay,
            helper,
        }
    }

    fn session<'a>(&'a self, settings: &'a HelperSettings) -> Session<'a, HelperSettings> {
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
        }
    }

    /// Waits while the pause file exists: the camera is free; the stream shows the paused
    /// picture or its last frame. Returns true when stopped meanwhile.
    fn paused(&self, sink: &FrameSink, stop: &StopFlag) -> bool {
        let Some(file) = self.config.pause_file.as_deref() else {
            return false;
        };
        if !file.exists() {
            return false;
        }
        info!(stream = %self.stream_id, file = %file.display(), "paused: the camera is released");
        sink.stats.paused.store(true, Relaxed);
        if self.config.while_paused == WhilePaused::Placeholder || sink.slot.latest().is_none() {
            self.show_paused(sink, file);
        }
        let stopped = loop {
            sink.alive();
            if !file.exists() {
                break false;
            }
            if stop.sleep(PAUSE_POLL) {
                break true;
            }
        };
        sink.stats.paused.store(false, Relaxed);
        if !stopped {
            info!(stream = %self.stream_id, "pause file removed: capture resumes");
        }
        stopped
    }

    fn show_paused(&self, sink: &FrameSink, file: &std::path::Path) {
        let (w, h) = (
            sink.stats.width.load(Relaxed),
            sink.stats.height.load(Relaxed),
        );
        let why = format!("remove {} to resume", file.display());
        let at = SystemTime::now();
        match crate::pipeline::placeholder::render_notice(
            &self.stream_id,
            "is paused",
            &why,
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
            controls: self.config.startup_controls(),
            max_frame_bytes: self.config.max_frame_bytes,
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
