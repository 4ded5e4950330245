//! A minimal inotify watch on one directory, for the folder source (Linux only, via `libc`).
//!
//! Only two events mean "a complete file is there": `IN_CLOSE_WRITE` (a writer closed it) and
//! `IN_MOVED_TO` (it was renamed into the directory). Creation and modification events are not
//! watched at all, so a half-written file is never announced. The descriptor is non-blocking;
//! [`DirWatch::wait`] polls with a timeout so the caller can check its stop flag, and
//! [`DirWatch::drain`] reads everything queued, bounded by [`MAX_READS_PER_DRAIN`].

use std::ffi::{CString, OsStr, OsString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::time::Duration;

/// Reads per [`DirWatch::drain`] call (each up to [`BUF_BYTES`]): bounds the time spent.
const MAX_READS_PER_DRAIN: usize = 64;
const BUF_BYTES: usize = 64 * 1024;
const HEADER_BYTES: usize = std::mem::size_of::<libc::inotify_event>();

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
    fd: OwnedFd,
    buf: Vec<u8>,
}

impl DirWatch {
    /// Watches `dir` (which must exist) for complete files.
    pub fn new(dir: &Path) -> io::Result<Self> {
        let raw = unsafe { libc::inotify_init1(libc::IN_NONBLOCK | libc::IN_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let path = CString::new(dir.as_os_str().as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
        let mask = libc::IN_CLOSE_WRITE
            | libc::IN_MOVED_TO
            | libc::IN_DELETE_SELF
            | libc::IN_MOVE_SELF
            | libc::IN_ONLYDIR;
        let wd = unsafe { libc::inotify_add_watch(fd.as_raw_fd(), path.as_ptr(), mask) };
        if wd < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Self {
            fd,
            buf: vec![0; BUF_BYTES],
        })
    }

    /// Waits up to `timeout` for events; true when some are ready to [`drain`](Self::drain).
    pub fn wait(&self, timeout: Duration) -> io::Result<bool> {
        let mut pfd = libc::pollfd {
            fd: self.fd.as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
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
            let n = unsafe {
                libc::read(
                    self.fd.as_raw_fd(),
                    self.buf.as_mut_ptr().cast(),
                    self.buf.len(),
                )
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                return match err.kind() {
                    io::ErrorKind::WouldBlock => Ok(()),
                    io::ErrorKind::Interrupted => continue,
                    _ => Err(err),
                };
            }
            parse_events(&self.buf[..n as usize], &mut on_event);
        }
        Ok(())
    }
}

/// Decodes a buffer of `inotify_event` records (header + NUL-padded name).
fn parse_events(mut buf: &[u8], on_event: &mut impl FnMut(WatchEvent)) {
    while buf.len() >= HEADER_BYTES {
        // SAFETY: at least HEADER_BYTES are there; read_unaligned copes with any alignment.
        let ev: libc::inotify_event = unsafe { std::ptr::read_unaligned(buf.as_ptr().cast()) };
        let end = (HEADER_BYTES + ev.len as usize).min(buf.len());
        let name = &buf[HEADER_BYTES..end];
        let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
        buf = &buf[end..];
        if ev.mask & libc::IN_Q_OVERFLOW != 0 {
            on_event(WatchEvent::Overflow);
        } else if ev.mask & (libc::IN_DELETE_SELF | libc::IN_MOVE_SELF | libc::IN_IGNORED) != 0 {
            on_event(WatchEvent::DirGone);
        } else if ev.mask & (libc::IN_CLOSE_WRITE | libc::IN_MOVED_TO) != 0
            && ev.mask & libc::IN_ISDIR == 0
            && !name.is_empty()
        {
            on_event(WatchEvent::Complete(OsStr::from_bytes(name).to_owned()));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn events(w: &mut DirWatch) -> Vec<WatchEvent> {
        let mut out = Vec::new();
        if w.wait(Duration::from_secs(2)).unwrap() {
            w.drain(|e| out.push(e)).unwrap();
        }
        out
    }

    #[test]
    fn reports_closed_and_renamed_files_but_not_open_ones() {
        let dir = std::env::temp_dir().join(format!("inotify-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut w = DirWatch::new(&dir).unwrap();
        assert!(!w.wait(Duration::from_millis(20)).unwrap());

        let mut f = std::fs::File::create(dir.join("a.jpg")).unwrap();
        f.write_all(b"half").unwrap();
        assert!(
            !w.wait(Duration::from_millis(50)).unwrap(),
            "nothing while the file is still open"
        );
        drop(f);
        assert_eq!(events(&mut w), vec![WatchEvent::Complete("a.jpg".into())]);

        std::fs::write(dir.join(".tmp"), b"x").unwrap();
        std::fs::rename(dir.join(".tmp"), dir.join("b.jpg")).unwrap();
        let got = events(&mut w);
        assert_eq!(
            got,
            vec![
                WatchEvent::Complete(".tmp".into()),
                WatchEvent::Complete("b.jpg".into())
            ]
        );

        std::fs::remove_dir_all(&dir).unwrap();
        assert!(events(&mut w).contains(&WatchEvent::DirGone));
    }
}
