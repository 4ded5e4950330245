//! The inotify watch on the folder source's directory (the `inotify` crate).
//!
//! Only two events mean "a complete file is there": `IN_CLOSE_WRITE` (a writer closed it) and
//! `IN_MOVED_TO` (it was renamed into the directory). Creation and modification events are not
//! watched at all, so a half-written file is never announced. The descriptor is non-blocking;
//! [`DirWatch::wait`] polls it with a timeout so the caller can check its stop flag, and
//! [`DirWatch::drain`] reads everything queued, bounded by [`MAX_READS_PER_DRAIN`].

use std::ffi::OsString;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::time::Duration;

use inotify::{EventMask, Inotify, WatchMask};

/// Reads per [`DirWatch::drain`] call (each up to [`BUF_BYTES`]): bounds the time spent.
const MAX_READS_PER_DRAIN: usize = 64;
const BUF_BYTES: usize = 64 * 1024;

/// One thing the watch saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// A file in the directory is complete (closed after writing, or renamed into place).
    Complete(OsString),
    /// The kernel queue overflowed: events were lost, rescan the directory.
    Overflow,
    /// The directory itself was deleted, moved or unmounted; the watch is dead.
    DirGone,
}

pub struct DirWatch {
    inotify: Inotify,
    buf: Vec<u8>,
}

impl DirWatch {
    /// Watches `dir` (which must exist) for complete files.
    pub fn new(dir: &Path) -> io::Result<Self> {
        let inotify = Inotify::init()?;
        inotify.watches().add(
            dir,
            WatchMask::CLOSE_WRITE
                | WatchMask::MOVED_TO
                | WatchMask::DELETE_SELF
                | WatchMask::MOVE_SELF
                | WatchMask::ONLYDIR,
        )?;
        Ok(Self {
            inotify,
            buf: vec![0; BUF_BYTES],
        })
    }

    /// Waits up to `timeout` for events; true when some are ready to [`drain`](Self::drain).
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.inotify.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = libc::c_int::try_from(timeout.as_millis()).unwrap_or(libc::c_int::MAX);
        // SAFETY: one valid pollfd for the duration of the call.
        let n = unsafe { libc::poll(&mut pfd, 1, ms) };
        if n < 0 {
            let err = io::Error::last_os_error();
            return if err.kind() == io::ErrorKind::Interrupted {
                Ok(false)
            } else {
                Err(err)
            };
        }
        Ok(n > 0)
    }

    /// Hands every queued event to `on_event`, oldest first, until the queue is empty (or the
    /// read bound is reached; the rest stays queued for the next call).
    pub fn drain(&mut self, mut on_event: impl FnMut(WatchEvent)) -> io::Result<()> {
        for _ in 0..MAX_READS_PER_DRAIN {
            let events = match self.inotify.read_events(&mut self.buf) {
                Ok(events) => events,
                Err(err) if err.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(err) if err.kind() == io::ErrorKind::Interrupted => continue,
                Err(err) => return Err(err),
            };
            for ev in events {
                if ev.mask.contains(EventMask::Q_OVERFLOW) {
                    on_event(WatchEvent::Overflow);
                } else if ev
                    .mask
                    .intersects(EventMask::DELETE_SELF | EventMask::MOVE_SELF | EventMask::IGNORED)
                {
                    on_event(WatchEvent::DirGone);
                } else if ev
                    .mask
                    .intersects(EventMask::CLOSE_WRITE | EventMask::MOVED_TO)
                    && !ev.mask.contains(EventMask::ISDIR)
                {
                    if let Some(name) = ev.name.filter(|n| !n.is_empty()) {
                        on_event(WatchEvent::Complete(name.to_owned()));
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
