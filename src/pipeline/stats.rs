//! Per-stream counters, written by the source, the encode pool and the HTTP bodies, read by
//! `/health`, `/api/state` and `/metrics`.
//!
//! Counters are relaxed atomics (monotonic totals, Prometheus style); rates are derived on read
//! from the totals, so the hot paths (publish, send) only do an atomic add.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Instant;

/// Totals since start plus a rate derived from them at most once a second.
#[derive(Debug)]
pub struct RateCounter {
    total: AtomicU64,
    /// (time of last sample, total then, rate in events/s between the last two samples)
    sample: Mutex<(Instant, u64, f64)>,
}

impl Default for RateCounter {
    fn default() -> Self {
        Self {
            total: AtomicU64::new(0),
            sample: Mutex::new((Instant::now(), 0, 0.0)),
        }
    }
}

impl RateCounter {
    pub fn add(&self, n: u64) {
        self.total.fetch_add(n, Relaxed);
    }

    pub fn total(&self) -> u64 {
        self.total.load(Relaxed)
    }

    /// Events per second over the last sampling period (≥ 1 s).
    pub fn rate(&self) -> f64 {
        let mut s = self.sample.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = s.0.elapsed().as_secs_f64();
        if elapsed >= 1.0 {
            let total = self.total();
            *s = (Instant::now(), total, (total - s.1) as f64 / elapsed);
        }
        s.2
    }
}

pub struct StreamStats {
    pub id: String,
    /// Source kind name (`test`, `camera`, …).
    pub kind: &'static str,
    pub frames_captured: RateCounter,
    /// Frames sent to clients, summed over all clients.
    pub frames_sent: RateCounter,
    pub bytes_sent: AtomicU64,
    /// Frames the source produced but did not publish (encoder busy, invalid input, idle).
    pub frames_dropped: AtomicU64,
    /// Newer frames a client skipped because it was slower than the source (summed).
    pub frames_skipped: AtomicU64,
    pub clients: AtomicUsize,
    /// Bumped by every sign of life from the source (a frame published, dropped or skipped
    /// while idle); the supervisor's stall detection watches it.
    pub progress: AtomicU64,
    pub width: AtomicU32,
    pub height: AtomicU32,
    /// Idle mode: the source is alive but encodes nothing because nobody wants frames.
    pub idle: AtomicBool,
    /// Paused on purpose (a camera's pause file): the source is released until resumed.
    pub paused: AtomicBool,
}

impl StreamStats {
    pub fn new(id: &str, kind: &'static str) -> Self {
        Self {
            id: id.to_string(),
            kind,
            frames_captured: RateCounter::default(),
            frames_sent: RateCounter::default(),
            bytes_sent: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            frames_skipped: AtomicU64::new(0),
            clients: AtomicUsize::new(0),
            progress: AtomicU64::new(0),
            width: AtomicU32::new(0),
            height: AtomicU32::new(0),
            idle: AtomicBool::new(false),
            paused: AtomicBool::new(false),
        }
    }

    pub fn frame_captured(&self, width: u32, height: u32) {
        self.frames_captured.add(1);
        self.progress.fetch_add(1, Relaxed);
        if width != 0 {
            self.width.store(width, Relaxed);
            self.height.store(height, Relaxed);
        }
    }

    pub fn frame_dropped(&self) {
        self.frames_dropped.fetch_add(1, Relaxed);
        self.progress.fetch_add(1, Relaxed);
    }

    /// A sign of life without a frame (e.g. a camera capturing while idle mode skips encoding).
    pub fn alive(&self) {
        self.progress.fetch_add(1, Relaxed);
    }

    pub fn frame_sent(&self, bytes: usize, skipped: u64) {
        self.frames_sent.add(1);
        self.bytes_sent.fetch_add(bytes as u64, Relaxed);
        self.frames_skipped.fetch_add(skipped, Relaxed);
    }
}

#[cfg(test)]
mod tests;
