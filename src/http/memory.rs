//! Giving memory back after a burst (glibc's allocator; elsewhere nothing is done).
//!
//! Left alone, glibc keeps what a burst of connections (a flood, a slowloris) or a few argon2
//! verifications (8 MiB each) freed: the RSS of a Pi Zero would stay tens of MiB higher after
//! every attack. Two measures, both process-wide:
//!
//! - [`tune`] fixes the mmap threshold at [`MMAP_THRESHOLD_BYTES`]: a block that large (an
//!   argon2 working area) is mapped on its own and unmapped when freed, instead of glibc's
//!   dynamic threshold moving such blocks into the heap after the first one. Smaller blocks
//!   (frames, buffers) are unaffected; fixing the threshold also keeps the trim threshold at
//!   its default, so free memory at the top of the heap goes back at once.
//! - [`Trimmer`] calls `malloc_trim(0)` (free pages inside the heaps go back too) once a burst
//!   is over: at least [`BURST_CONNECTIONS`] connections admitted since the last trim, at most
//!   [`CALM_CONNECTIONS`] in the last [`CALM`], and at most every [`MIN_INTERVAL`]. A server
//!   with a few viewers trims about once per [`BURST_CONNECTIONS`] connections; a trim of tens
//!   of MiB of heap takes well under a millisecond.

use std::time::{Duration, Instant};

/// Blocks at least this large are always mapped on their own (and unmapped when freed).
pub const MMAP_THRESHOLD_BYTES: usize = 4 << 20;
/// Connections since the last trim that make a burst.
pub const BURST_CONNECTIONS: u64 = 64;
/// The burst is over when at most [`CALM_CONNECTIONS`] came in this long.
pub const CALM: Duration = Duration::from_secs(1);
pub const CALM_CONNECTIONS: u64 = 4;
/// Trims at most this often.
pub const MIN_INTERVAL: Duration = Duration::from_secs(2);

/// Sets the allocator up for [`Trimmer`]; call once at start.
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator parameters.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES as libc::c_int);
    }
}

/// Decides when to trim, from the count of admitted connections.
#[derive(Debug)]
pub struct Trimmer {
    /// Admitted connections at the last trim, and at the last look.
    at_trim: u64,
    at_look: u64,
    last_trim: Instant,
    last_look: Instant,
}

impl Trimmer {
    pub fn new(admitted: u64, now: Instant) -> Self {
        Trimmer {
            at_trim: admitted,
            at_look: admitted,
            last_trim: now,
            last_look: now,
        }
    }

    /// Looks at the count (call about every second); trims when a burst is over.
    pub fn look(&mut self, admitted: u64, now: Instant) -> bool {
        let recent = admitted.saturating_sub(self.at_look);
        let calm =
            now.saturating_duration_since(self.last_look) >= CALM && recent <= CALM_CONNECTIONS;
        if now.saturating_duration_since(self.last_look) >= CALM {
            (self.at_look, self.last_look) = (admitted, now);
        }
        let burst = admitted.saturating_sub(self.at_trim) >= BURST_CONNECTIONS;
        if !(burst && calm && now.saturating_duration_since(self.last_trim) >= MIN_INTERVAL) {
            return false;
        }
        (self.at_trim, self.last_trim) = (admitted, now);
        trim();
        true
    }
}

fn trim() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free memory to the kernel.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests;
