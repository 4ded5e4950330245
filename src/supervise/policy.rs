//! The restart policy: capped exponential backoff and a restart budget per window.
//!
//! Pure: every call gets `now` from the caller, so the tests drive it with explicit instants.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use crate::config::SupervisorConfig;

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    RestartAfter(Duration),
    GiveUp,
}

/// Backoff and restart budget. Pure: every call gets `now` from the caller.
#[derive(Debug)]
pub struct RestartPolicy {
    config: SupervisorConfig,
    next_backoff: Duration,
    /// Times of the restarts inside the current window, oldest first.
    restarts: VecDeque<Instant>,
}

impl RestartPolicy {
    pub fn new(config: SupervisorConfig) -> Self {
        Self {
            next_backoff: config.backoff_initial,
            config,
            restarts: VecDeque::new(),
        }
    }

    /// Records a failure at `now` of a run that lasted `ran_for`.
    pub fn on_failure(&mut self, now: Instant, ran_for: Duration) -> Decision {
        if ran_for >= self.config.healthy_after {
            self.next_backoff = self.config.backoff_initial;
        }
        while let Some(&t) = self.restarts.front() {
            if now.duration_since(t) >= self.config.restart_window {
                self.restarts.pop_front();
            } else {
                break;
            }
        }
        if self.restarts.len() >= self.config.restart_budget as usize {
            return Decision::GiveUp;
        }
        self.restarts.push_back(now);
        let wait = self.next_backoff;
        self.next_backoff = (self.next_backoff * 2).min(self.config.backoff_max);
        Decision::RestartAfter(wait)
    }

    /// Restarts counted in the current window.
    pub fn restarts_in_window(&self) -> usize {
        self.restarts.len()
    }
}
