//! [`FrameRegion`]: the server's side of the shared memory — one region per helper spawn,
//! created, sized, sealed and mapped here, and its slots leased out as [`Bytes`] that give the
//! slot back to the helper when the last clone drops.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU32};
use std::sync::Arc;

use bytes::Bytes;

use super::{os, state_name, Mapping, ShmError, ShmLayout, FREE, LEASED, MAGIC, SENT};

/// A region as the server maps it (the slots read-only: the server never writes a frame).
pub struct FrameRegion {
    map: Mapping,
    /// The server's own record of its leases: a helper that names a slot twice, or forges a
    /// state, cannot make the server lease one slot twice.
    leased: Box<[AtomicBool]>,
}

impl std::fmt::Debug for FrameRegion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameRegion")
            .field("layout", &self.map.layout)
            .field("leased", &self.leased())
            .finish()
    }
}

/// A FrameShm message's slot or length the server refuses (the protocol error names the
/// field, [`LeaseError::field`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeaseError {
    #[error("slot {slot} is not one of the {slots} slots")]
    NoSuchSlot { slot: u32, slots: u32 },
    #[error("len {len} is outside 1..={capacity} (the slot's size)")]
    BadLen { len: usize, capacity: usize },
    #[error("slot {slot} is {state}, not SENT")]
    NotSent { slot: u32, state: String },
    #[error("slot {slot} is still leased by the server")]
    StillLeased { slot: u32 },
}

impl LeaseError {
    /// The message field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Self::BadLen { .. } => "FrameShm.len",
            _ => "FrameShm.slot",
        }
    }
}

impl FrameRegion {
    /// A new region of `layout` (every slot FREE), sealed against shrinking and growing, and
    /// its descriptor (close-on-exec) to pass to the helper with [`super::pass_to_child`].
    /// `name` (the stream id) names it in `/proc/<pid>/maps`.
    pub fn create(name: &str, layout: ShmLayout) -> Result<(Arc<Self>, OwnedFd), ShmError> {
        let total = layout.total_bytes()?;
        let name: String = format!("streamserver-frames-{name}")
            .chars()
            .filter(|&c| c != '\0')
            .take(200)
            .collect();
        let name = CString::new(name).expect("NULs were removed");
        // SAFETY: memfd_create reads the NUL-terminated name and returns a new descriptor.
        let fd = unsafe {
            libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING)
        };
        if fd < 0 {
            return Err(os("memfd_create"));
        }
        // SAFETY: `fd` is a fresh descriptor that nothing else owns.
        let file = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
        file.set_len(total as u64).map_err(|source| ShmError::Os {
            step: "ftruncate",
            source,
        })?;
        let map = Mapping::new(file.as_fd(), total, layout)?;
        let mut header = [0u8; 32];
        header[..8].copy_from_slice(&MAGIC);
        header[8..12].copy_from_slice(&layout.slots.to_le_bytes());
        header[16..24].copy_from_slice(&(layout.slot_bytes as u64).to_le_bytes());
        header[24..32].copy_from_slice(&(layout.header_bytes as u64).to_le_bytes());
        // SAFETY: the header lies inside the fresh mapping, which no one else maps yet; the
        // states after it are zero (FREE) as ftruncate left them.
        unsafe { std::ptr::copy_nonoverlapping(header.as_ptr(), map.base.as_ptr(), 32) };
        let seals = libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_SEAL;
        // SAFETY: F_ADD_SEALS on our own memfd.
        if unsafe { libc::fcntl(file.as_raw_fd(), libc::F_ADD_SEALS, seals) } < 0 {
            return Err(os("F_ADD_SEALS"));
        }
        // SAFETY: the slots' pages (the header is whole pages) of our own mapping, which no
        // reference points into yet.
        let rc = unsafe {
            libc::mprotect(
                map.base.as_ptr().add(layout.header_bytes).cast(),
                total - layout.header_bytes,
                libc::PROT_READ,
            )
        };
        if rc < 0 {
            return Err(os("mprotect"));
        }
        let leased = (0..layout.slots).map(|_| AtomicBool::new(false)).collect();
        Ok((Arc::new(Self { map, leased }), OwnedFd::from(file)))
    }

    pub fn layout(&self) -> ShmLayout {
        self.map.layout
    }

    /// The frame a FrameShm message names: slot `slot`, its first `len` bytes. The slot must
    /// exist, `len` fit it, the slot be SENT and not leased already; it is LEASED until the
    /// returned [`Bytes`] and every clone of it are dropped, then FREE again.
    pub fn lease(self: &Arc<Self>, slot: u32, len: usize) -> Result<Bytes, LeaseError> {
        let layout = self.map.layout;
        if slot >= layout.slots {
            return Err(LeaseError::NoSuchSlot {
                slot,
                slots: layout.slots,
            });
        }
        if !(1..=layout.slot_bytes).contains(&len) {
            return Err(LeaseError::BadLen {
                len,
                capacity: layout.slot_bytes,
            });
        }
        let mine = &self.leased[slot as usize];
        if mine
            .compare_exchange(false, true, Acquire, Relaxed)
            .is_err()
        {
            return Err(LeaseError::StillLeased { slot });
        }
        // Acquire: the helper's Release store of SENT came after its copy of the JPEG.
        if let Err(state) = self
            .state(slot)
            .compare_exchange(SENT, LEASED, Acquire, Relaxed)
        {
            mine.store(false, Release);
            return Err(LeaseError::NotSent {
                slot,
                state: state_name(state),
            });
        }
        Ok(Bytes::from_owner(Lease {
            region: self.clone(),
            slot,
            len,
        }))
    }

    /// Slots the server holds now.
    pub fn leased(&self) -> usize {
        self.leased.iter().filter(|l| l.load(Relaxed)).count()
    }

    /// Slot `slot`'s state as the shared memory says (None: no such slot).
    pub fn state_of(&self, slot: u32) -> Option<u32> {
        (slot < self.map.layout.slots).then(|| self.state(slot).load(Acquire))
    }

    /// Whether `bytes` lie in this region (a frame that came through shared memory).
    pub fn contains(&self, bytes: &[u8]) -> bool {
        let start = self.map.base.as_ptr() as usize;
        let p = bytes.as_ptr() as usize;
        p >= start && p < start + self.map.len
    }

    fn state(&self, slot: u32) -> &AtomicU32 {
        self.map.state(slot)
    }
}

/// One leased slot, owned by the [`Bytes`] made of it (and its clones).
struct Lease {
    region: Arc<FrameRegion>,
    slot: u32,
    len: usize,
}

impl AsRef<[u8]> for Lease {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the slot is LEASED: by the protocol the helper writes it again only after
        // it is FREE, which happens when this lease drops; `len` was checked against the slot's
        // size; the mapping lives as long as `region`. A helper that breaks the protocol can
        // change these bytes, never their length or location.
        unsafe { std::slice::from_raw_parts(self.region.map.slot_ptr(self.slot), self.len) }
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        // The server's record first: once the helper sees FREE it may send this slot again.
        self.region.leased[self.slot as usize].store(false, Release);
        // Release: every read of the frame happened before the helper may write it again.
        self.region.state(self.slot).store(FREE, Release);
    }
}
