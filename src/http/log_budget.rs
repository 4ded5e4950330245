//! Bounded logging of what clients cause: refused logins, refused connections, evictions.
//!
//! Under abuse (10,000 wrong passwords, a connection flood) a line per event would make the
//! log the attacker's tool: disk, CPU and the journal's rate limit, which then hides the lines
//! that matter. A [`LogBudget`] allows a few lines per second; the rest are counted, and the
//! next allowed line carries the count (`suppressed = N`).

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Lines allowed per window.
#[derive(Debug)]
pub struct LogBudget {
    per_window: u32,
    window: Duration,
    state: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Option<Instant>,
    used: u32,
    suppressed: u64,
}

impl LogBudget {
    pub const fn new(per_window: u32, window: Duration) -> Self {
        LogBudget {
            per_window,
            window,
            state: Mutex::new(Window {
                start: None,
                used: 0,
                suppressed: 0,
            }),
        }
    }

    /// `Some(lines suppressed since the last allowed one)` when a line may be written now.
    pub fn allow(&self) -> Option<u64> {
        self.allow_at(Instant::now())
    }

    pub fn allow_at(&self, now: Instant) -> Option<u64> {
        let mut w = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if w.start
            .is_none_or(|s| now.saturating_duration_since(s) >= self.window)
        {
            w.start = Some(now);
            w.used = 0;
        }
        if w.used < self.per_window {
            w.used += 1;
            Some(std::mem::take(&mut w.suppressed))
        } else {
            w.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests;
