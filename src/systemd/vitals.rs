//! The loops the systemd watchdog vouches for, and their heartbeats.
//!
//! `WATCHDOG=1` must mean "this process still does its job", not merely "its runtime exists". So
//! every long-lived loop — the HTTP accept loop and each stream's supervisor — beats a
//! [`Heartbeat`] at least every [`BEAT_EVERY`] while it runs, and the app pings systemd only while
//! every registered heartbeat is younger than [`MAX_SILENCE`] ([`Vitals::silent`]). A wedged loop
//! (stuck in an await that never ends, or starved of the runtime) stops beating, the pings stop,
//! and systemd restarts the service. A camera that is down is not a wedged loop: its supervisor
//! keeps beating while it shows the placeholder and retries.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often a healthy loop beats.
pub const BEAT_EVERY: Duration = Duration::from_secs(1);
/// A heartbeat older than this means its loop is wedged.
pub const MAX_SILENCE: Duration = Duration::from_secs(5);

/// One loop's heartbeat. Cheap to clone; clones beat the same heart.
#[derive(Clone, Debug)]
pub struct Heartbeat {
    /// Milliseconds after `origin` of the last beat.
    last_ms: Arc<AtomicU64>,
    origin: Instant,
}

impl Heartbeat {
    /// A heartbeat for a loop that does not report to any [`Vitals`] (tests, tools).
    pub fn detached() -> Self {
        Self {
            last_ms: Arc::new(AtomicU64::new(0)),
            origin: Instant::now(),
        }
    }

    /// The loop is alive and making progress now.
    pub fn beat(&self) {
        self.last_ms
            .store(self.origin.elapsed().as_millis() as u64, Relaxed);
    }

    fn age(&self, now: Instant) -> Duration {
        let last = self.origin + Duration::from_millis(self.last_ms.load(Relaxed));
        now.saturating_duration_since(last)
    }
}

/// Every heartbeat the watchdog checks, by name.
#[derive(Debug)]
pub struct Vitals {
    origin: Instant,
    hearts: Vec<(String, Heartbeat)>,
}

impl Default for Vitals {
    fn default() -> Self {
        Self::new()
    }
}

impl Vitals {
    pub fn new() -> Self {
        Self {
            origin: Instant::now(),
            hearts: Vec::new(),
        }
    }

    /// A new heartbeat named `name` (e.g. `http`, `supervisor main`), beating from now.
    pub fn register(&mut self, name: impl Into<String>) -> Heartbeat {
        let heart = Heartbeat {
            last_ms: Arc::new(AtomicU64::new(0)),
            origin: self.origin,
        };
        heart.beat();
        self.hearts.push((name.into(), heart.clone()));
        heart
    }

    /// The first loop whose heartbeat is older than `max` at `now`, with its age; `None` when
    /// every loop is alive.
    pub fn silent(&self, now: Instant, max: Duration) -> Option<(&str, Duration)> {
        self.hearts
            .iter()
            .map(|(name, h)| (name.as_str(), h.age(now)))
            .find(|(_, age)| *age > max)
    }
}

#[cfg(test)]
mod tests;
