//! Demand tracking for idle mode: when did someone last ask this stream for a frame?
//!
//! A stream client or a snapshot request notes demand ([`Demand::note`]); a source that can
//! pause (idle mode of the encode pool, the snapshot poller's slow rate) asks whether a frame
//! was wanted within a window ([`Demand::recent`]). Watching clients count as demand too: the
//! source side combines this with the slot's watcher count (`FrameSink::in_demand`).

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The last explicit demand of one stream. Shared by the HTTP side and the source (in an `Arc`).
#[derive(Debug)]
pub struct Demand {
    /// Milliseconds since `created` of the last demand, plus one (0 = never).
    last_ms: AtomicU64,
    created: Instant,
}

impl Default for Demand {
    fn default() -> Self {
        Self::new()
    }
}

impl Demand {
    pub fn new() -> Self {
        Self {
            last_ms: AtomicU64::new(0),
            created: Instant::now(),
        }
    }

    /// Records that someone asked for a frame now.
    pub fn note(&self) {
        // +1 so that a demand in the very first millisecond is not read as "never".
        let ms = self.created.elapsed().as_millis() as u64 + 1;
        self.last_ms.fetch_max(ms, Relaxed);
    }

    /// True when a frame was asked for within `window`.
    pub fn recent(&self, window: Duration) -> bool {
        let last = self.last_ms.load(Relaxed);
        let now = self.created.elapsed().as_millis() as u64;
        last != 0 && now.saturating_sub(last) <= window.as_millis() as u64
    }
}

#[cfg(test)]
mod tests;
