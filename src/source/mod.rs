//! Frame sources: where a stream's pictures come from.
//!
//! A source is blocking code (libcamera, libjpeg-turbo, `std::fs`) that runs on its own named OS
//! thread, never inside an `async fn`. It hands frames to the async side only through a
//! [`FrameSink`], which publishes into the stream's latest-frame slot. The [`FrameSource`] trait
//! is the seam between a source and the [`crate::supervisor`], which (re)starts it.
//!
//! Kinds: `test` (the built-in moving test pattern, [`test_pattern`]); `camera` (libcamera in
//! the `streamserver-camera` helper process, [`camera`]); `folder` (the newest JPEG written into a
//! directory, [`folder`]); `http` (a polled snapshot URL, [`snapshot_poll`]); `relay` (another
//! MJPEG stream, re-served, [`relay`]). Shared by the JPEG-receiving sources: [`jpeg_check`]
//! (the validator) and [`stale`] (what clients see when the input goes quiet); by the sources that
//! make their own frames: [`pace`] (their frame clock). Each source
//! takes its own config type (`crate::config::SourceConfig`'s variant) and nothing else.

pub mod camera;
pub mod folder;
pub mod jpeg_check;
pub mod pace;
pub mod relay;
pub mod snapshot_poll;
pub mod stale;
pub mod test_pattern;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crate::config::{SourceConfig, StreamConfig};
use crate::pipeline::encode_pool::EncodePoolError;
use crate::pipeline::encoder::EncodeError;
use crate::pipeline::sink::FrameSink;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source `{kind}` is not available in this build: {reason}")]
    Unavailable { kind: &'static str, reason: String },
    #[error("encoding failed: {0}")]
    Encode(#[from] EncodeError),
    #[error(transparent)]
    EncodePool(#[from] EncodePoolError),
    #[error("injected fault: {0}")]
    Injected(&'static str),
    #[error("cannot start thread `{name}`")]
    Thread {
        name: String,
        source: std::io::Error,
    },
    #[error("stalled: no frame for {0:?}")]
    Stalled(Duration),
    #[error("source thread panicked: {0}")]
    Panicked(String),
    #[error(transparent)]
    Camera(#[from] camera::CameraError),
    #[error(transparent)]
    Folder(#[from] folder::FolderError),
    #[error(transparent)]
    SnapshotPoll(#[from] snapshot_poll::SnapshotPollError),
    #[error(transparent)]
    Relay(#[from] relay::RelayError),
}

impl SourceError {
    /// Whether restarting the source can help (a missing feature or a bad setting cannot).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable { .. } => false,
            Self::Camera(e) => e.is_retryable(),
            Self::Folder(e) => e.is_retryable(),
            Self::SnapshotPoll(e) => e.is_retryable(),
            Self::Relay(e) => e.is_retryable(),
            _ => true,
        }
    }
}

/// A stop request shared by the supervisor and a source thread; sources check it at every loop
/// head and use [`StopFlag::sleep`] instead of `thread::sleep` so they stop at once.
#[derive(Clone, Default)]
pub struct StopFlag(Arc<(Mutex<bool>, Condvar)>);

impl StopFlag {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn raise(&self) {
        let (lock, cvar) = &*self.0;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }

    pub fn is_raised(&self) -> bool {
        *self.0 .0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sleeps up to `dur`; returns true when the stop flag was raised (then stop at once).
    pub fn sleep(&self, dur: Duration) -> bool {
        let (lock, cvar) = &*self.0;
        let guard = lock.lock().unwrap_or_else(|e| e.into_inner());
        let (guard, _) = cvar
            .wait_timeout_while(guard, dur, |stopped| !*stopped)
            .unwrap_or_else(|e| e.into_inner());
        *guard
    }
}

/// A stream's frame producer. Runs on its own OS thread, started (and restarted) by the
/// supervisor through a fresh value from [`build`].
pub trait FrameSource: Send {
    /// What this source reads from (device, path, URL) for logs and errors.
    fn describe(&self) -> String;

    /// Produces frames into `sink` until `stop` is raised (returns `Ok`) or the source fails.
    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError>;
}

/// Checks at start-up that a stream's source can run here (the build has it, its folder or
/// placeholder image is usable, its URL parses), so a problem is a one-line error before the
/// server starts, not a restart loop.
pub fn preflight(stream: &StreamConfig) -> Result<(), SourceError> {
    match &stream.source {
        SourceConfig::Auto { .. } | SourceConfig::Test(_) => Ok(()),
        SourceConfig::Camera(_) => camera::preflight(),
        SourceConfig::Folder(c) => Ok(folder::preflight(c)?),
        SourceConfig::SnapshotPoll(c) => Ok(snapshot_poll::preflight(c)?),
        SourceConfig::Relay(c) => Ok(relay::preflight(c)?),
    }
}

/// Decides what a `source = "auto"` stream runs (the camera if the helper finds one, else the
/// test pattern) and logs why; other streams are returned unchanged. Blocking (it runs the
/// camera helper's `list`): call it from a blocking context.
pub fn resolve_auto(stream: StreamConfig) -> StreamConfig {
    camera::auto::resolve(stream)
}

/// Builds a fresh source for one (re)start of `stream`. `attempt` counts starts from 0; `link`
/// is a camera stream's link to the API (stills, controls, pause), kept across restarts.
pub fn build(
    stream: &StreamConfig,
    attempt: u32,
    link: Option<&std::sync::Arc<camera::CameraLink>>,
) -> Result<Box<dyn FrameSource>, SourceError> {
    preflight(stream)?;
    let id = stream.id.to_string();
    Ok(match &stream.source {
        // The app resolves `auto` at start; resolving here too keeps `build` total.
        SourceConfig::Auto { .. } => return build(&resolve_auto(stream.clone()), attempt, link),
        SourceConfig::Test(c) => Box::new(test_pattern::TestPattern::new(
            id,
            c.clone(),
            stream.encoder,
            stream.overlay.clone(),
            attempt,
        )?),
        SourceConfig::Camera(c) => Box::new(camera::CameraSource::new(
            id,
            c.clone(),
            stream.encoder,
            stream.overlay.clone(),
            link.cloned(),
        )),
        SourceConfig::Folder(c) => Box::new(folder::FolderSource::new(id, c.clone())?),
        SourceConfig::SnapshotPoll(c) => Box::new(snapshot_poll::SnapshotPollSource::new(
            id,
            c.clone(),
            stream.encoder,
            attempt,
        )?),
        SourceConfig::Relay(c) => Box::new(relay::RelaySource::new(id, c.clone())?),
    })
}
