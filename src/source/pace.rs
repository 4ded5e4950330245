//! [`Pacer`]: the frame clock of a source that makes its own frames (the test pattern, the
//! camera helper's synthetic camera): one frame per interval, scheduled against a start time so
//! the work per frame does not slow the rate down, and after falling behind (a busy machine)
//! starting afresh instead of bursting to catch up.

use std::time::{Duration, Instant};

use super::StopFlag;

pub struct Pacer {
    interval: Duration,
    start: Instant,
    scheduled: u32,
}

impl Pacer {
    /// A clock of one frame per `interval`, starting now.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            start: Instant::now(),
            scheduled: 0,
        }
    }

    /// Waits until the next frame is due; returns true when `stop` was raised meanwhile.
    pub fn wait(&mut self, stop: &StopFlag) -> bool {
        self.scheduled += 1;
        let next = self.start + self.interval * self.scheduled;
        let now = Instant::now();
        if now > next + self.interval {
            (self.start, self.scheduled) = (now, 0);
            false
        } else {
            next > now && stop.sleep(next - now)
        }
    }
}

#[cfg(test)]
mod tests;
