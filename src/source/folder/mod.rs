//! The `folder` source: the newest JPEG written into a directory goes on air.
//!
//! For vision systems and scripts that write frames as files. The directory is watched with
//! inotify for files closed after writing or renamed into it (never created or modified ones,
//! so a half-written file is never read). Each burst of events is coalesced to its newest file:
//! a producer faster than us makes us skip files, never lag. A file is read with a size cap and
//! checked ([`super::jpeg_check`]); a bad one is skipped with a warning naming it and the
//! previous frame stays on air. On start the newest existing file is served. Optionally, files
//! older than `max_frame_age` are deleted (never the one on air). `stale_after` / `on_stale`
//! decide what clients see when no new file comes ([`super::stale`]).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

mod files;
mod watch;

use bytes::Bytes;
use tracing::{debug, info, warn};

use super::jpeg_check::{JpegChecker, JpegLimits};
use super::stale::{PlaceholderError, PlaceholderImage, StaleGuard};
use super::{FrameSink, FrameSource, SourceError, StopFlag};
use crate::config::FolderConfig;
use files::{FrameNames, ReadError};
use watch::{DirWatch, WatchEvent};

/// Longest wait for inotify before the loop looks at its stop flag, staleness and cleanup.
const TICK: Duration = Duration::from_millis(100);
/// Newest files tried on start (or after a queue overflow) until one is a valid JPEG.
const START_CANDIDATES: usize = 8;

#[derive(Debug, thiserror::Error)]
pub enum FolderError {
    #[error("folder {path} exists and is not a directory")]
    NotADirectory { path: PathBuf },
    #[error("folder {path}: cannot create")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("folder {path}: cannot watch")]
    Watch {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("folder {path}: this process may not {need} it ({source}); under systemd the service may write only /var/lib/streamserver (and its logs): use a folder there, or allow this one with ReadWritePaths= in a drop-in (sudo systemctl edit streamserver)")]
    Access {
        path: PathBuf,
        need: &'static str,
        source: std::io::Error,
    },
    #[error("folder {path} was removed or moved")]
    DirectoryGone { path: PathBuf },
    #[error(transparent)]
    Placeholder(#[from] PlaceholderError),
}

impl FolderError {
    /// A file where the directory should be, or a broken setting, cannot heal by restarting.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::CreateDir { .. }
                | Self::Access { .. }
                | Self::Watch { .. }
                | Self::DirectoryGone { .. }
        )
    }
}

/// access(2): whether this process may use `path` as `mode` says (`R_OK`, `W_OK`, …). Unlike
/// the permission bits, it also knows about read-only mounts (a sandboxed service's view).
fn access(path: &Path, mode: libc::c_int) -> std::io::Result<()> {
    let c = std::ffi::CString::new(std::os::unix::ffi::OsStrExt::as_bytes(path.as_os_str()))
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "NUL in the path"))?;
    // SAFETY: a NUL-terminated path that lives for the call.
    if unsafe { libc::access(c.as_ptr(), mode) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Creates the directory if missing; fails if the path is something else.
pub fn prepare_dir(path: &Path) -> Result<(), FolderError> {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(FolderError::NotADirectory {
            path: path.to_owned(),
        }),
        Err(_) => std::fs::create_dir_all(path).map_err(|source| FolderError::CreateDir {
            path: path.to_owned(),
            source,
        }),
    }
}

/// Start-up check: directory usable (created if missing; readable, and writable when cleanup
/// deletes old files), placeholder image readable. Run by `check-config` under the service's
/// sandbox too, so a path the service may not use is reported before it starts.
pub fn preflight(config: &FolderConfig) -> Result<(), FolderError> {
    prepare_dir(&config.path)?;
    let (mode, need) = if config.max_frame_age.is_some() {
        (
            libc::R_OK | libc::W_OK | libc::X_OK,
            "read and write (max_frame_age deletes old files)",
        )
    } else {
        (libc::R_OK | libc::X_OK, "read")
    };
    access(&config.path, mode).map_err(|source| FolderError::Access {
        path: config.path.clone(),
        need,
        source,
    })?;
    if let Some(p) = &config.placeholder_image {
        PlaceholderImage::load(p)?;
    }
    Ok(())
}

pub struct FolderSource {
    stream_id: String,
    config: FolderConfig,
    names: FrameNames,
    checker: JpegChecker,
    stale: StaleGuard,
    /// Name of the file on air (spared by cleanup) and its modification time.
    on_air: Option<(OsString, SystemTime)>,
}

impl FolderSource {
    pub fn new(stream_id: String, config: FolderConfig) -> Result<Self, FolderError> {
        let image = config
            .placeholder_image
            .as_deref()
            .map(PlaceholderImage::load)
            .transpose()?;
        Ok(Self {
            names: FrameNames::new(&config.extensions),
            checker: JpegChecker::new(JpegLimits {
                max_bytes: config.max_file_bytes,
                full_decode: config.full_decode,
                max_pixels: config.max_pixels,
            }),
            stale: StaleGuard::new(
                stream_id.clone(),
                config.stale_after,
                config.on_stale,
                image,
            ),
            stream_id,
            config,
            on_air: None,
        })
    }

    /// Reads, checks and publishes one file; false (with a warning) when it was skipped.
    fn try_publish(&mut self, path: &Path, sink: &FrameSink) -> bool {
        let file = match files::read_frame(path, self.config.max_file_bytes) {
            Ok(f) => f,
            Err(ReadError::Vanished) => {
                debug!(file = %path.display(), "frame file vanished before it was read");
                return false;
            }
            Err(err) => {
                warn!(stream = %self.stream_id, file = %path.display(), %err, "skipping frame file");
                sink.frame_dropped();
                return false;
            }
        };
        match self.checker.check(&file.data) {
            Ok(info) => {
                // A clock set back or a file from the future must not give a time ahead of now.
                let captured_at = file.modified.min(SystemTime::now());
                sink.publish_jpeg(Bytes::from(file.data), captured_at, info.width, info.height);
                self.stale.fresh(Instant::now());
                self.on_air = path.file_name().map(|n| (n.to_owned(), file.modified));
                true
            }
            Err(err) => {
                warn!(stream = %self.stream_id, file = %path.display(), %err, "skipping invalid frame file");
                sink.frame_dropped();
                false
            }
        }
    }

    /// Puts the newest valid existing file on air, unless it is already there.
    fn publish_newest(&mut self, sink: &FrameSink) {
        let dir = self.config.path.clone();
        let candidates = match files::newest_frames(&dir, &self.names, START_CANDIDATES) {
            Ok(c) => c,
            Err(err) => {
                warn!(stream = %self.stream_id, folder = %dir.display(), %err, "cannot list the folder");
                return;
            }
        };
        for path in candidates {
            let same = self.on_air.as_ref().is_some_and(|(name, mtime)| {
                Some(name.as_os_str()) == path.file_name()
                    && std::fs::metadata(&path).and_then(|m| m.modified()).ok() == Some(*mtime)
            });
            if same || self.try_publish(&path, sink) {
                return;
            }
        }
    }

    /// One cleanup pass; it stops early as soon as a new file is announced (frames first).
    /// Returns false when it was cut short (the caller resumes it on its next loop).
    fn cleanup(&self, watch: &DirWatch) -> bool {
        let Some(age) = self.config.max_frame_age else {
            return true;
        };
        let Some(cutoff) = SystemTime::now().checked_sub(age) else {
            return true;
        };
        let keep = self.on_air.as_ref().map(|(n, _)| n.as_os_str());
        let new_file = || watch.wait(Duration::ZERO).unwrap_or(false);
        let dir = &self.config.path;
        match files::delete_older_than(dir, &self.names, cutoff, keep, new_file) {
            Ok(pass) => {
                if pass.deleted > 0 {
                    debug!(stream = %self.stream_id, deleted = pass.deleted, done = pass.done, "deleted old frame files");
                }
                pass.done
            }
            Err(err) => {
                warn!(stream = %self.stream_id, folder = %dir.display(), %err, "cleanup failed");
                true
            }
        }
    }
}

impl FrameSource for FolderSource {
    fn describe(&self) -> String {
        format!("folder {}", self.config.path.display())
    }

    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        let dir = self.config.path.clone();
        prepare_dir(&dir)?;
        // Watch before listing, so a file arriving in between is not missed.
        let mut watch = DirWatch::new(&dir).map_err(|source| FolderError::Watch {
            path: dir.clone(),
            source,
        })?;
        self.stale.restart_clock(Instant::now());
        self.publish_newest(sink);
        info!(stream = %self.stream_id, folder = %dir.display(), on_air = self.on_air.is_some(), "watching folder");
        let why = format!(
            "no new file in {} for {}s",
            dir.display(),
            self.config.stale_after.as_secs()
        );
        let cleanup_every = self
            .config
            .max_frame_age
            .map(|a| (a / 2).clamp(TICK, Duration::from_secs(1)));
        let mut next_cleanup = Instant::now();
        // The path of the newest file, rebuilt in place for each one (no allocation per frame).
        let mut newest_path = dir.join("_");
        loop {
            if stop.is_raised() {
                return Ok(());
            }
            // Waiting for files is healthy: only a dead watch is a failure.
            sink.alive();
            let ready = watch.wait(TICK).map_err(|source| FolderError::Watch {
                path: dir.clone(),
                source,
            })?;
            if ready {
                let (mut newest, mut overflow, mut gone, mut skipped) = (None, false, false, 0u64);
                watch
                    .drain(|ev| match ev {
                        WatchEvent::Complete(name) if self.names.matches(&name) => {
                            skipped += u64::from(newest.replace(name).is_some());
                        }
                        WatchEvent::Complete(_) => {}
                        WatchEvent::Overflow => overflow = true,
                        WatchEvent::DirGone => gone = true,
                    })
                    .map_err(|source| FolderError::Watch {
                        path: dir.clone(),
                        source,
                    })?;
                if gone {
                    return Err(FolderError::DirectoryGone { path: dir }.into());
                }
                for _ in 0..skipped {
                    sink.frame_dropped();
                }
                if overflow {
                    warn!(stream = %self.stream_id, "inotify queue overflowed; rescanning the folder");
                    self.publish_newest(sink);
                } else if let Some(name) = newest {
                    newest_path.set_file_name(name);
                    self.try_publish(&newest_path, sink);
                }
            }
            let now = Instant::now();
            self.stale.check(sink, now, &why);
            if let Some(every) = cleanup_every.filter(|_| now >= next_cleanup) {
                let done = self.cleanup(&watch);
                next_cleanup = if done { now + every } else { now };
            }
        }
    }
}

#[cfg(test)]
mod tests;
