//! [`SlotWriter`]: the helper's side of the shared memory — the region it inherited, checked
//! before it is used (a memfd sealed against shrinking, of the size and header the Start
//! settings describe); a FREE slot claimed ([`Reserved`]) for a JPEG encoded straight into it,
//! or a JPEG copied into one; either is then SENT, or FREE again if abandoned.

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

    /// Claims the lowest FREE slot (WRITING) for a JPEG to be written straight into its
    /// memory: [`Reserved::send`] makes it SENT, dropping it unsent makes it FREE again. None
    /// when no slot is FREE (the server holds them all).
    pub fn reserve(&self) -> Option<Reserved<'_>> {
        // Acquire: the server's reads of the slot's last frame happened before its Release
        // store of FREE, so they are done before anything is written into it.
        let slot = (0..self.map.layout.slots).find(|&s| {
            self.map
                .state(s)
                .compare_exchange(FREE, WRITING, Acquire, Relaxed)
                .is_ok()
        })?;
        Some(Reserved {
            writer: self,
            slot,
            sent: false,
        })
    }

    /// Copies `jpeg` into the lowest FREE slot and marks it SENT: send its FrameShm message
    /// next (or [`SlotWriter::unsend`] it). None when no slot is FREE (the server holds them
    /// all) or `jpeg` is empty or larger than a slot: send it inline.
    pub fn write(&self, jpeg: &[u8]) -> Option<Sent> {
        if jpeg.is_empty() || jpeg.len() > self.map.layout.slot_bytes {
            return None;
        }
        let mut slot = self.reserve()?;
        slot.buf()[..jpeg.len()].copy_from_slice(jpeg);
        slot.send(jpeg.len())
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

/// A slot this helper claimed (WRITING): its memory is the helper's alone until
/// [`Reserved::send`] hands it to the server, and it is FREE again if dropped unsent (an
/// encode that failed or did not fit, a frame dropped, a worker stopping).
pub struct Reserved<'a> {
    writer: &'a SlotWriter,
    slot: u32,
    sent: bool,
}

impl std::fmt::Debug for Reserved<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reserved")
            .field("slot", &self.slot)
            .finish()
    }
}

impl Reserved<'_> {
    pub fn slot(&self) -> u32 {
        self.slot
    }

    /// The slot's memory, the layout's `slot_bytes` long: the most a JPEG in it may take.
    pub fn buf(&mut self) -> &mut [u8] {
        let map = &self.writer.map;
        // SAFETY: the slot is WRITING, which only this helper's compare-and-swap from FREE
        // makes, so no other thread of the helper touches it; the server neither writes it nor
        // reads a slot that is not SENT; the slot lies inside the mapping, which outlives
        // `self` (it borrows the writer); `&mut self` makes the slice unique.
        unsafe { std::slice::from_raw_parts_mut(map.slot_ptr(self.slot), map.layout.slot_bytes) }
    }

    /// The JPEG is the first `len` bytes of [`Reserved::buf`]: marks the slot SENT; send its
    /// FrameShm message next (or [`SlotWriter::unsend`] it). None (the slot is FREE again) if
    /// `len` is 0 or larger than the slot.
    pub fn send(mut self, len: usize) -> Option<Sent> {
        if len == 0 || len > self.writer.map.layout.slot_bytes {
            return None;
        }
        let len = u32::try_from(len).ok()?;
        // Release: the JPEG's bytes are visible to the server once it sees SENT.
        self.writer.map.state(self.slot).store(SENT, Release);
        self.sent = true;
        Some(Sent {
            slot: self.slot,
            len,
        })
    }
}

impl Drop for Reserved<'_> {
    fn drop(&mut self) {
        if !self.sent {
            // Release: whatever was written is done before another worker claims the slot.
            self.writer.map.state(self.slot).store(FREE, Release);
        }
    }
}
