//! Frame sources: where a stream's pictures come from.
//!
//! A source is blocking code (libcamera, libjpeg-turbo, `std::fs`) that runs on its own named OS
//! thread, never inside an `async fn`. It hands frames to the async side only through a
//! [`FrameSink`], which publishes into the stream's latest-frame slot. The [`FrameSource`] trait
//! is the seam between a source and the [`crate::supervisor`], which (re)starts it.
//!
//! Kinds: `test` (the built-in moving test pattern, [`test_pattern`]); `camera` (libcamera,
//! [`camera`]; only in builds with libcamera support); `folder` (the newest JPEG written into a
//! directory, [`folder`]); `http` (a polled snapshot URL, [`http_source`]); `relay` (another
//! MJPEG stream, re-served, [`relay`]). Shared by the JPEG-receiving sources: [`jpeg_check`]
//! (the validator) and [`stale`] (what clients see when the input goes quiet).

pub mod camera;

pub mod folder;
pub mod folder_bench;
mod folder_files;
pub mod http_fetch;
pub mod http_source;
mod inotify;
pub mod jpeg_check;
pub mod relay;
pub mod stale;
pub mod test_pattern;

use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use serde::Deserialize;

use crate::config::StreamConfig;
use crate::encoder::EncodeError;
use crate::frame::{FrameKind, LatestFrame, NewFrame};
use crate::stats::StreamStats;

/// The source kinds a `[[stream]]` can name in `source = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    Test,
    Camera,
    Folder,
    Http,
    Relay,
}

impl SourceKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Test => "test",
            Self::Camera => "camera",
            Self::Folder => "folder",
            Self::Http => "http",
            Self::Relay => "relay",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("source `{kind}` is not available in this build: {reason}")]
    Unavailable { kind: &'static str, reason: String },
    #[error("encoding failed: {0}")]
    Encode(#[from] EncodeError),
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
    Http(#[from] http_source::HttpSourceError),
    #[error(transparent)]
    Relay(#[from] relay::RelayError),
}

impl SourceError {
    /// Whether restarting the source can help (a missing feature or a bad setting cannot).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Unavailable { .. } => false,
            Self::Camera(err) => err.is_retryable(),
            Self::Folder(e) => e.is_retryable(),
            Self::Http(e) => e.is_retryable(),
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

/// Where a source delivers frames: the stream's slot plus its counters.
#[derive(Clone)]
pub struct FrameSink {
    pub slot: LatestFrame,
    pub stats: Arc<StreamStats>,
}

impl FrameSink {
    pub fn new(slot: LatestFrame, stats: Arc<StreamStats>) -> Self {
        Self { slot, stats }
    }

    /// Publishes a live JPEG (captured at `captured_at`).
    pub fn publish_jpeg(&self, jpeg: Bytes, captured_at: SystemTime, width: u32, height: u32) {
        self.stats.frame_captured(width, height);
        self.slot.publish(NewFrame {
            jpeg,
            captured_at,
            width,
            height,
            kind: FrameKind::Live,
        });
    }

    /// Counts a frame the source produced but did not publish (encoder busy, invalid, idle).
    pub fn frame_dropped(&self) {
        self.stats.frame_dropped();
    }

    /// A sign of life without a frame (keeps the supervisor's stall detection quiet).
    pub fn alive(&self) {
        self.stats.alive();
    }

    /// Whether anyone wants frames now (a client watches or asked within `window`): idle mode.
    pub fn in_demand(&self, window: Duration) -> bool {
        self.slot.in_demand(window)
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

/// Config checks of a stream's source table that serde cannot do: `(key below the stream,
/// message)`, e.g. `("folder.path", "is required…")`. Called by the config's validate step.
pub fn check_config(stream: &StreamConfig) -> Result<(), (String, String)> {
    let (table, checked) = match stream.source {
        SourceKind::Folder => ("folder", stream.folder.as_ref().map(|c| c.validate())),
        SourceKind::Http => ("http", stream.http.as_ref().map(|c| c.validate())),
        SourceKind::Relay => ("relay", stream.relay.as_ref().map(|c| c.validate())),
        _ => return Ok(()),
    };
    match checked {
        None => Err((
            table.to_string(),
            format!("source = \"{table}\" needs a [stream.{table}] table"),
        )),
        Some(Err((key, message))) => Err((format!("{table}.{key}"), message)),
        // A request must end before the supervisor takes the silence for a stall.
        Some(Ok(())) => match &stream.http {
            Some(h) if h.timeout >= stream.supervisor.stall_timeout => Err((
                "http.timeout".into(),
                format!(
                    "{:?} must be below supervisor.stall_timeout ({:?})",
                    h.timeout, stream.supervisor.stall_timeout
                ),
            )),
            _ => Ok(()),
        },
    }
}

/// Checks at start-up that a stream's source can exist in this build, so a missing feature is a
/// one-line error before the server starts, not a restart loop.
pub fn check_available(stream: &StreamConfig) -> Result<(), SourceError> {
    match stream.source {
        SourceKind::Test => Ok(()),
        SourceKind::Camera => camera::check_available(),
        SourceKind::Folder => Ok(folder::check(stream.folder.as_ref())?),
        SourceKind::Http => Ok(http_source::check(stream.http.as_ref())?),
        SourceKind::Relay => Ok(relay::check(stream.relay.as_ref())?),
    }
}

/// Builds a fresh source for one (re)start of `stream`. `attempt` counts starts from 0.
pub fn build(stream: &StreamConfig, attempt: u32) -> Result<Box<dyn FrameSource>, SourceError> {
    check_available(stream)?;
    match stream.source {
        SourceKind::Test => Ok(Box::new(test_pattern::TestPattern::new(
            stream.id.to_string(),
            stream.test.clone(),
            stream.encoder.settings(),
            stream.encoder.pool(),
            attempt,
        )?)),
        #[cfg(has_libcamera)]
        SourceKind::Camera => Ok(Box::new(camera::CameraSource::new(
            stream.id.to_string(),
            stream.camera.clone(),
            stream.encoder.settings(),
            stream.encoder.pool(),
        ))),
        SourceKind::Folder => {
            let config = stream.folder.clone().ok_or(folder::FolderError::NoConfig)?;
            Ok(Box::new(folder::FolderSource::new(
                stream.id.to_string(),
                config,
            )?))
        }
        SourceKind::Http => {
            let config = stream
                .http
                .clone()
                .ok_or(http_source::HttpSourceError::NoConfig)?;
            Ok(Box::new(http_source::HttpSource::new(
                stream.id.to_string(),
                config,
                stream.encoder.settings(),
                attempt,
            )?))
        }
        SourceKind::Relay => {
            let config = stream.relay.clone().ok_or(relay::RelayError::NoConfig)?;
            Ok(Box::new(relay::RelaySource::new(
                stream.id.to_string(),
                config,
            )?))
        }
        // Without libcamera, `check_available` above has already refused the camera.
        #[cfg(not(has_libcamera))]
        SourceKind::Camera => Err(SourceError::Unavailable {
            kind: "camera",
            reason: "this build has no libcamera support".into(),
        }),
    }
}
