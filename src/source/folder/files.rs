//! File-level work of the folder source: which names count as frames, reading one frame file
//! with a size cap, finding the newest frames in the directory, and deleting old ones.
//!
//! Everything here is bounded: a read never takes more than the cap plus one byte, a scan looks
//! at most [`MAX_SCAN_ENTRIES`] directory entries, a cleanup pass deletes at most
//! [`MAX_DELETES_PER_PASS`] files.

use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Directory entries looked at by one scan or cleanup pass.
pub const MAX_SCAN_ENTRIES: usize = 100_000;
/// Files deleted by one cleanup pass (the rest waits for the next pass).
pub const MAX_DELETES_PER_PASS: usize = 10_000;

/// Which file names are frames: the configured extensions, case-insensitive.
#[derive(Debug, Clone)]
pub struct FrameNames {
    /// Lower-case, without the leading dot.
    extensions: Vec<String>,
}

impl FrameNames {
    pub fn new(extensions: &[String]) -> Self {
        Self {
            extensions: extensions
                .iter()
                .map(|e| e.trim_start_matches('.').to_ascii_lowercase())
                .collect(),
        }
    }

    pub fn matches(&self, name: &OsStr) -> bool {
        let name = name.as_encoded_bytes();
        self.extensions.iter().any(|ext| {
            name.len() > ext.len() + 1
                && name[name.len() - ext.len() - 1] == b'.'
                && name[name.len() - ext.len()..].eq_ignore_ascii_case(ext.as_bytes())
        })
    }
}

/// Why one frame file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Gone before we got to it (renamed on or deleted): normal with fast producers.
    #[error("vanished")]
    Vanished,
    #[error("not a regular file")]
    NotAFile,
    #[error("too large: {len} bytes (limit {max})")]
    TooLarge { len: u64, max: usize },
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A frame file's bytes and modification time (its capture time).
pub struct FrameFile {
    pub data: Vec<u8>,
    pub modified: SystemTime,
}

/// Reads a whole frame file, refusing anything over `max_bytes` without reading it all.
///
/// One `read` normally takes it all: it asks for one byte more than the size the file had when
/// opened, and a regular file's read comes back short only at its end. A file that grew in the
/// meantime is read on, up to the cap.
pub fn read_frame(path: &Path, max_bytes: usize) -> Result<FrameFile, ReadError> {
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => ReadError::Vanished,
        _ => ReadError::Io(e),
    })?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    if meta.len() > max_bytes as u64 {
        return Err(ReadError::TooLarge {
            len: meta.len(),
            max: max_bytes,
        });
    }
    let (size, cap) = (meta.len() as usize, max_bytes.saturating_add(1));
    let mut data = Vec::with_capacity(size.saturating_add(1).min(cap));
    loop {
        if data.len() == data.capacity() {
            if data.len() >= cap {
                break;
            }
            data.reserve_exact(data.len().max(4096).min(cap - data.len()));
        }
        match read_into_spare(&file, &mut data) {
            Ok(0) => break,
            Ok(_) if data.len() == size => break, // asked for more, got the whole file
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    let filled = data.len();
    data.truncate(filled);
    if data.len() > max_bytes {
        return Err(ReadError::TooLarge {
            len: data.len() as u64,
            max: max_bytes,
        });
    }
    Ok(FrameFile {
        data,
        modified: meta.modified().unwrap_or_else(|_| SystemTime::now()),
    })
}

/// One `read(2)` into `data`'s spare capacity (not zeroed first: it is 36 KB per frame at 30 fps);
/// the bytes read are appended.
fn read_into_spare(file: &File, data: &mut Vec<u8>) -> io::Result<usize> {
    let spare = data.spare_capacity_mut();
    // SAFETY: read(2) writes at most `spare.len()` bytes into memory we own; it never reads it.
    let n = unsafe { libc::read(file.as_raw_fd(), spare.as_mut_ptr().cast(), spare.len()) };
    let n = usize::try_from(n).map_err(|_| io::Error::last_os_error())?;
    // SAFETY: the kernel initialised the first `n` spare bytes.
    unsafe { data.set_len(data.len() + n) };
    Ok(n)
}

/// The frame files of `dir`, newest first (at most `limit`), following symlinks.
pub fn newest_frames(dir: &Path, names: &FrameNames, limit: usize) -> io::Result<Vec<PathBuf>> {
    let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
    for entry in std::fs::read_dir(dir)?.take(MAX_SCAN_ENTRIES) {
        let Ok(entry) = entry else { continue };
        if !names.matches(&entry.file_name()) {
            continue;
        }
        let path = entry.path();
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_file() {
            found.push((meta.modified().unwrap_or(SystemTime::UNIX_EPOCH), path));
        }
    }
    found.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| b.1.cmp(&a.1)));
    found.truncate(limit);
    Ok(found.into_iter().map(|(_, p)| p).collect())
}

/// What one cleanup pass did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CleanupPass {
    pub deleted: usize,
    /// False when `interrupt` cut the pass short (or the per-pass bound was reached).
    pub done: bool,
}

/// Deletes frame files directly in `dir` last modified before `cutoff`, except `keep` (the
/// file on air). Symlinks and subdirectories are never touched. After each deletion
/// `interrupt` is asked whether to stop early (a new frame waits).
pub fn delete_older_than(
    dir: &Path,
    names: &FrameNames,
    cutoff: SystemTime,
    keep: Option<&OsStr>,
    mut interrupt: impl FnMut() -> bool,
) -> io::Result<CleanupPass> {
    let mut deleted = 0;
    for entry in std::fs::read_dir(dir)?.take(MAX_SCAN_ENTRIES) {
        if deleted >= MAX_DELETES_PER_PASS {
            return Ok(CleanupPass {
                deleted,
                done: false,
            });
        }
        let Ok(entry) = entry else { continue };
        let name = entry.file_name();
        if Some(name.as_os_str()) == keep || !names.matches(&name) {
            continue;
        }
        // `DirEntry::file_type` does not follow symlinks.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|m| m < cutoff);
        if old {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => deleted += 1,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            if interrupt() {
                return Ok(CleanupPass {
                    deleted,
                    done: false,
                });
            }
        }
    }
    Ok(CleanupPass {
        deleted,
        done: true,
    })
}

#[cfg(test)]
mod tests;
