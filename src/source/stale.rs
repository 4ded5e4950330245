//! What a folder or URL source shows when its input goes quiet (`stale_after` / `on_stale`).
//!
//! Such a source is healthy while nothing new arrives (it keeps calling `alive()`, so the
//! supervisor does not restart it), so it tracks freshness itself: after `stale_after` without
//! a new frame it either keeps the last frame on air, publishes a placeholder (a configured JPEG
//! or the built-in one saying why), or ends every client stream with a
//! [`FrameKind::EndOfStream`] marker. It fires once per quiet spell; the next good frame
//! re-arms it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use tracing::{info, warn};

use super::jpeg_check::{self, JpegLimits};
use super::FrameSink;
use crate::config::OnStale;
use crate::pipeline::slot::{FrameKind, NewFrame};

/// Largest accepted `placeholder_image` file.
const MAX_PLACEHOLDER_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum PlaceholderError {
    #[error("placeholder_image {path}: cannot read")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("placeholder_image {path}: {source}")]
    Invalid {
        path: PathBuf,
        source: jpeg_check::JpegError,
    },
}

/// A configured placeholder picture, checked once at start.
#[derive(Debug, Clone)]
pub struct PlaceholderImage {
    pub jpeg: Bytes,
    pub width: u32,
    pub height: u32,
}

impl PlaceholderImage {
    /// Reads and validates a JPEG to show while stale.
    pub fn load(path: &Path) -> Result<Self, PlaceholderError> {
        let data = std::fs::read(path).map_err(|source| PlaceholderError::Read {
            path: path.to_owned(),
            source,
        })?;
        let limits = JpegLimits {
            max_bytes: MAX_PLACEHOLDER_BYTES,
            full_decode: true,
            max_pixels: jpeg_check::DEFAULT_MAX_PIXELS,
        };
        let info =
            jpeg_check::check(&data, limits).map_err(|source| PlaceholderError::Invalid {
                path: path.to_owned(),
                source,
            })?;
        Ok(Self {
            jpeg: Bytes::from(data),
            width: info.width,
            height: info.height,
        })
    }
}

/// Tracks the freshness of one source's input and applies `on_stale` once per quiet spell.
pub struct StaleGuard {
    stream_id: String,
    after: Duration,
    on_stale: OnStale,
    image: Option<PlaceholderImage>,
    /// Start of the current quiet spell (last fresh frame, or when waiting began).
    since: Instant,
    fired: bool,
}

impl StaleGuard {
    pub fn new(
        stream_id: String,
        after: Duration,
        on_stale: OnStale,
        image: Option<PlaceholderImage>,
    ) -> Self {
        Self {
            stream_id,
            after,
            on_stale,
            image,
            since: Instant::now(),
            fired: false,
        }
    }

    /// A fresh frame was published at `now`: the quiet spell is over.
    pub fn fresh(&mut self, now: Instant) {
        if self.fired {
            info!(stream = %self.stream_id, "fresh frames again");
        }
        self.since = now;
        self.fired = false;
    }

    /// Restarts the clock without counting as fresh (e.g. fetching resumed after idle mode).
    pub fn restart_clock(&mut self, now: Instant) {
        if !self.fired {
            self.since = now;
        }
    }

    /// Whether the stale behaviour has been applied in the current quiet spell.
    pub fn is_stale(&self) -> bool {
        self.fired
    }

    /// Applies `on_stale` if the input has been quiet for `stale_after`; `why` says what is
    /// missing (shown on the built-in placeholder). Returns true when it fired now.
    pub fn check(&mut self, sink: &FrameSink, now: Instant, why: &str) -> bool {
        if self.fired || now.saturating_duration_since(self.since) < self.after {
            return false;
        }
        self.fired = true;
        let quiet_s = now.saturating_duration_since(self.since).as_secs();
        warn!(stream = %self.stream_id, quiet_s, on_stale = ?self.on_stale, why, "source is stale");
        let kind = match self.on_stale {
            OnStale::LastFrame => return true,
            OnStale::Placeholder => FrameKind::Placeholder,
            OnStale::Disconnect => FrameKind::EndOfStream,
        };
        let frame = match &self.image {
            Some(img) => Some((img.jpeg.clone(), img.width, img.height)),
            None => {
                let (w, h) = sink
                    .slot
                    .latest()
                    .map(|f| (f.width, f.height))
                    .unwrap_or((0, 0));
                let (w, h) = if w == 0 || h == 0 { (640, 480) } else { (w, h) };
                match crate::pipeline::placeholder::render(
                    &self.stream_id,
                    why,
                    SystemTime::now(),
                    w,
                    h,
                ) {
                    Ok(jpeg) => Some((jpeg, w, h)),
                    Err(err) => {
                        warn!(%err, "cannot render the placeholder frame");
                        None
                    }
                }
            }
        };
        // `disconnect` must end the streams even without a picture for snapshots.
        let (jpeg, width, height) = match (frame, kind) {
            (Some(f), _) => f,
            (None, FrameKind::EndOfStream) => (Bytes::new(), 0, 0),
            (None, _) => return true,
        };
        sink.slot.publish(NewFrame {
            jpeg,
            captured_at: SystemTime::now(),
            width,
            height,
            kind,
        });
        true
    }
}

#[cfg(test)]
mod tests;
