//! Shared memory for frames: the memfd through which the camera helper hands its JPEGs to the
//! server, so that the server never copies a frame (it publishes a [`Bytes`] that points into
//! the mapping) and a frame crosses no pipe (only a 37-byte FrameShm message does).
//!
//! The contract — the region's layout, the slot states and who may change them, what each side
//! checks — is part of the protocol and documented there ([`super::protocol`], "Shared memory
//! for frames"). This module is its one implementation, used by both binaries:
//!
//! - [`ShmLayout`]: the region's geometry, chosen by the server and sent in the Start settings.
//! - [`FrameRegion`] (server): creates, sizes, seals and maps the memfd, and turns a FrameShm
//!   message into a [`Bytes`] that leases its slot until its last clone drops.
//! - [`SlotWriter`] (helper): checks and maps the memfd it inherited, and copies a JPEG into a
//!   free slot.
//! - [`pass_to_child`]: hands the memfd to the helper as fd [`FRAMES_FD`], where
//!   [`SlotWriter::open_inherited`] takes it.
//!
//! Memory: a slot is `max_frame_bytes` rounded up to whole pages, so the region is large
//! (8 × 16 MiB by default) but only address space: a page is backed by memory when it is first
//! written, so what a region holds follows the sizes of the frames actually sent (the helper
//! fills free slots lowest first, so a stream whose clients keep up touches two or three slots).
//! A page once written stays backed until the region goes: every helper gets a new region, and
//! the old one is unmapped when the last frame leased from it is dropped.

mod region;
mod writer;

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::ptr::NonNull;
use std::sync::atomic::AtomicU32;

use serde::{Deserialize, Serialize};

pub use region::{FrameRegion, LeaseError};
pub use writer::{Sent, SlotWriter};

#[cfg(doc)]
use bytes::Bytes;

/// Slots of a region: frames the server can hold at once (the latest-frame slot, clients still
/// sending older ones) before the helper falls back to sending frames inline.
pub const FRAME_SLOTS: u32 = 8;
/// Most slots a layout may have (their states must fit the header's first page).
pub const MAX_SLOTS: u32 = 64;
/// The helper's file descriptor of the region.
pub const FRAMES_FD: i32 = 3;
/// The first bytes of a region.
pub const MAGIC: [u8; 8] = *b"SSFRAMES";
/// Offset of the slot states (one little-endian `u32` each) in the header.
pub const STATES_OFFSET: usize = 64;

/// Slot state: the helper may claim it.
pub const FREE: u32 = 0;
/// Slot state: the helper is copying a JPEG into it.
pub const WRITING: u32 = 1;
/// Slot state: a FrameShm message names it; only the server may change it.
pub const SENT: u32 = 2;
/// Slot state: the server holds it until its last reference drops.
pub const LEASED: u32 = 3;

/// A state's name, for errors.
pub fn state_name(state: u32) -> String {
    match state {
        FREE => "FREE".into(),
        WRITING => "WRITING".into(),
        SENT => "SENT".into(),
        LEASED => "LEASED".into(),
        other => format!("in unknown state {other}"),
    }
}

/// A region's geometry: sent to the helper in the Start settings, written into the region's
/// header, and checked by the helper against both the header and the file's size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShmLayout {
    /// The region's file descriptor in the helper.
    pub fd: i32,
    /// Number of slots, 1..=[`MAX_SLOTS`].
    pub slots: u32,
    /// Bytes of each slot (a multiple of the page size): the largest JPEG it holds.
    pub slot_bytes: usize,
    /// Bytes before the first slot: the header (magic, geometry, slot states), one page.
    pub header_bytes: usize,
}

impl ShmLayout {
    /// [`FRAME_SLOTS`] slots of `max_frame_bytes` rounded up to whole pages, one page of header.
    pub fn for_frames(max_frame_bytes: usize) -> Self {
        let page = page_size();
        Self {
            fd: FRAMES_FD,
            slots: FRAME_SLOTS,
            slot_bytes: max_frame_bytes.max(1).div_ceil(page).saturating_mul(page),
            header_bytes: page,
        }
    }

    /// The region's size in bytes, if the layout is sound: 1..=[`MAX_SLOTS`] slots of at least
    /// one byte, a header that holds the states and keeps them aligned, no overflow.
    pub fn total_bytes(&self) -> Result<usize, ShmError> {
        let bad = |reason: String| Err(ShmError::Layout(reason));
        if !(1..=MAX_SLOTS).contains(&self.slots) {
            return bad(format!("{} slots, not 1..={MAX_SLOTS}", self.slots));
        }
        if self.slot_bytes == 0 {
            return bad("slots of 0 bytes".into());
        }
        let states_end = STATES_OFFSET + 4 * self.slots as usize;
        if self.header_bytes < states_end || !self.header_bytes.is_multiple_of(8) {
            return bad(format!(
                "a header of {} bytes (at least {states_end}, a multiple of 8)",
                self.header_bytes
            ));
        }
        self.slot_bytes
            .checked_mul(self.slots as usize)
            .and_then(|s| s.checked_add(self.header_bytes))
            .filter(|&t| isize::try_from(t).is_ok())
            .map_or_else(|| bad("a region larger than memory".into()), Ok)
    }

    /// Offset of slot `slot`'s first byte (the caller checked `slot < slots`).
    fn slot_offset(&self, slot: u32) -> usize {
        self.header_bytes + slot as usize * self.slot_bytes
    }
}

/// The system's page size.
pub fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page)
        .ok()
        .filter(|&p| p > 0)
        .unwrap_or(4096)
}

/// Why a region cannot be made or used.
#[derive(Debug, thiserror::Error)]
pub enum ShmError {
    #[error("shared memory for frames: {step}: {source}")]
    Os {
        step: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("shared memory for frames: {0}")]
    Layout(String),
}

fn os(step: &'static str) -> ShmError {
    ShmError::Os {
        step,
        source: io::Error::last_os_error(),
    }
}

/// Makes `command` hand `fd` to its child as [`FRAMES_FD`] (the memfd stays close-on-exec in
/// this process, so no other child inherits it). `fd` must stay open until `command` is
/// spawned.
pub fn pass_to_child(command: &mut Command, fd: &OwnedFd) {
    let raw = fd.as_raw_fd();
    let pass = move || {
        // dup2 clears close-on-exec on its copy, but does nothing when the numbers are equal.
        // SAFETY: both run in the child between fork and exec; they are async-signal-safe and
        // change only the child's descriptor table.
        let rc = unsafe {
            if raw == FRAMES_FD {
                libc::fcntl(raw, libc::F_SETFD, 0)
            } else {
                libc::dup2(raw, FRAMES_FD)
            }
        };
        if rc < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    };
    // SAFETY: the closure allocates nothing and calls only async-signal-safe functions.
    unsafe { command.pre_exec(pass) };
}

/// A shared mapping of a whole region, unmapped on drop.
struct Mapping {
    base: NonNull<u8>,
    len: usize,
    layout: ShmLayout,
}

// SAFETY: the mapping is plain shared memory; this module reads and writes it only through
// atomics (the states) and under the states' protocol (the slots), from any thread.
unsafe impl Send for Mapping {}
// SAFETY: as for Send: no method hands out a reference that another thread could invalidate.
unsafe impl Sync for Mapping {}

impl Mapping {
    /// Maps `len` bytes of `fd` shared, readable and writable.
    fn new(fd: BorrowedFd<'_>, len: usize, layout: ShmLayout) -> Result<Self, ShmError> {
        // SAFETY: a fresh shared mapping chosen by the kernel; it aliases no Rust object.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                fd.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(os("mmap"));
        }
        let base = NonNull::new(ptr.cast()).ok_or_else(|| os("mmap"))?;
        Ok(Self { base, len, layout })
    }

    /// Slot `slot`'s state word (the caller checked `slot < slots`).
    fn state(&self, slot: u32) -> &AtomicU32 {
        debug_assert!(slot < self.layout.slots);
        let offset = STATES_OFFSET + 4 * slot as usize;
        // SAFETY: the offset is inside the header (total_bytes checked it), 4-aligned (the
        // mapping is page-aligned), and the word is only ever accessed atomically, by both
        // processes, for as long as `self` maps it.
        unsafe { AtomicU32::from_ptr(self.base.as_ptr().add(offset).cast()) }
    }

    /// Slot `slot`'s first byte (the caller checked `slot < slots`).
    fn slot_ptr(&self, slot: u32) -> *mut u8 {
        debug_assert!(slot < self.layout.slots);
        // SAFETY: the slot lies inside the mapping (total_bytes covers every slot).
        unsafe { self.base.as_ptr().add(self.layout.slot_offset(slot)) }
    }

    /// The header's magic and geometry, as the server wrote them.
    fn header(&self) -> ([u8; 8], u32, u64, u64) {
        let mut h = [0u8; 32];
        // SAFETY: the header is at least STATES_OFFSET (64) bytes; the server wrote these 32
        // before the helper started and nobody writes them again.
        unsafe { std::ptr::copy_nonoverlapping(self.base.as_ptr(), h.as_mut_ptr(), h.len()) };
        let u64_at = |i: usize| u64::from_le_bytes(h[i..i + 8].try_into().expect("8 bytes"));
        let magic = h[..8].try_into().expect("8 bytes");
        let slots = u32::from_le_bytes(h[8..12].try_into().expect("4 bytes"));
        (magic, slots, u64_at(16), u64_at(24))
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `base`/`len` are our mapping, and nothing borrows it any more (leases hold
        // an Arc of their region, so the last one is gone).
        unsafe { libc::munmap(self.base.as_ptr().cast(), self.len) };
    }
}

#[cfg(test)]
mod tests;
