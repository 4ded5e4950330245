//! [`SlotWriter`]: the helper's side of the shared memory — the region it inherited, checked
//! before it is used (a memfd sealed against shrinking, of the size and header the Start
//! settings describe), and a JPEG copied into a FREE slot, which is then SENT.

use std::fs::File;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};

use super::{Mapping, ShmError, ShmLayout, FREE, MAGIC, SENT, WRITING};

/// A region as the helper maps it.
pub struct SlotWriter {
    pub(super) map: Mapping,
}

impl std::fmt::Debug for SlotWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SlotWriter")
            .field("layout", &self.map.layout)
            .finish()
    }
}

/// A slot holding a frame, SENT: what its FrameShm message names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sent {
    pub slot: u32,
    pub len: u32,
}

impl SlotWriter {
    /// The helper's way in: maps the region the server passed as fd `layout.fd` after the
    /// checks of [`SlotWriter::open`], then closes that descriptor (the mapping keeps the
    /// memory). A descriptor that fails them is left open: it may be another of this process's
    /// own (the protocol's stdout lands on fd 3 when the server passed nothing there).
    pub fn open_inherited(layout: &ShmLayout) -> Result<Self, ShmError> {
        let fd = layout.fd;
        // SAFETY: F_GETFD only reads the descriptor's flags; it fails for a closed one.
        if fd < 0 || unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
            return Err(ShmError::Layout(format!(
                "fd {fd} is not open (was this helper started by the server?)"
            )));
        }
        // SAFETY: `fd` is open, and only borrowed for the checks and the mmap; the helper
        // closes no descriptor meanwhile.
        let writer = Self::open(unsafe { BorrowedFd::borrow_raw(fd) }, layout)?;
        // SAFETY: the checks found the server's region (a sealed memfd of this layout), which
        // it passed for this purpose alone: nothing else in this process owns the descriptor.
        drop(unsafe { OwnedFd::from_raw_fd(fd) });
        Ok(writer)
    }

    /// Maps the region `fd` after checking that it is what `layout` says: a memfd sealed
    /// against shrinking and growing (so the server's mapping cannot lose its pages), of
    /// exactly the layout's size, whose header matches the layout.
    pub fn open(fd: BorrowedFd<'_>, layout: &ShmLayout) -> Result<Self, ShmError> {
        let total = layout.total_bytes()?;
        let bad = |reason: String| Err(ShmError::Layout(reason));
        let raw = fd.as_raw_fd();
        // SAFETY: F_GET_SEALS only reads the seals of our own descriptor.
        let seals = unsafe { libc::fcntl(raw, libc::F_GET_SEALS) };
        if seals < 0 {
            return bad(format!(
                "fd {} is not a memfd ({})",
                layout.fd,
                std::io::Error::last_os_error()
            ));
        }
        let needed = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW;
        if seals & needed != needed {
            return bad(format!(
                "fd {} is not sealed against shrinking and growing",
                layout.fd
            ));
        }
        let fstat = |source| ShmError::Os {
            step: "fstat",
            source,
        };
        let size = File::from(fd.try_clone_to_owned().map_err(fstat)?)
            .metadata()
            .map_err(fstat)?;
        if size.len() != total as u64 {
            return bad(format!(
                "fd {} is {} bytes, the layout ({} slots of {} bytes after a {}-byte header) \
                 says {total}",
                layout.fd,
                size.len(),
                layout.slots,
                layout.slot_bytes,
                layout.header_bytes
            ));
        }
        let map = Mapping::new(fd, total, *layout)?;
        let (magic, slots, slot_bytes, header_bytes) = map.header();
        if magic != MAGIC
            || slots != layout.slots
            || slot_bytes != layout.slot_bytes as u64
            || header_bytes != layout.header_bytes as u64
        {
            return bad(format!(
                "the region's header ({slots} slots of {slot_bytes} bytes after {header_bytes}) \
                 does not match the layout ({} of {} after {})",
                layout.slots, layout.slot_bytes, layout.header_bytes
            ));
        }
        Ok(Self { map })
    }

    pub fn layout(&self) -> ShmLayout {
        self.map.layout
    }

    /// Copies `jpeg` into the lowest FREE slot and marks it SENT: send its FrameShm message
    /// next (or [`SlotWriter::unsend`] it). None when no slot is FREE (the server holds them
    /// all) or `jpeg` is empty or larger than a slot: send it inline.
    pub fn write(&self, jpeg: &[u8]) -> Option<Sent> {
        let layout = self.map.layout;
        if jpeg.is_empty() || jpeg.len() > layout.slot_bytes {
            return None;
        }
        let len = u32::try_from(jpeg.len()).ok()?;
        // Acquire: the server's reads of the slot's last frame happened before its Release
        // store of FREE, so they are done before this copy.
        let slot = (0..layout.slots).find(|&s| {
            self.map
                .state(s)
                .compare_exchange(FREE, WRITING, Acquire, Relaxed)
                .is_ok()
        })?;
        // SAFETY: the slot is ours (WRITING) and `jpeg` fits it; `jpeg` is our own memory,
        // not the mapping.
        unsafe {
            std::ptr::copy_nonoverlapping(jpeg.as_ptr(), self.map.slot_ptr(slot), jpeg.len())
        };
        // Release: the copy is visible to the server once it sees SENT.
        self.map.state(slot).store(SENT, Release);
        Some(Sent { slot, len })
    }

    /// A slot whose FrameShm message was not sent after all: FREE again.
    pub fn unsend(&self, sent: Sent) {
        if sent.slot < self.map.layout.slots {
            let _ = self
                .map
                .state(sent.slot)
                .compare_exchange(SENT, FREE, Relaxed, Relaxed);
        }
    }
}
