//! The one shutdown signal of the process.
//!
//! SIGTERM or SIGINT (via `signal-hook`, on its own thread) or [`Shutdown::trigger`] (tests, the
//! supervisor giving up) move the process to [`Phase::Graceful`]: loops stop at their next head,
//! streams end, connections drain until a hard deadline. A second signal moves it to
//! [`Phase::Immediate`]: the app stops waiting and exits at once. SIGHUP never stops the
//! process: it only makes the HTTP server reload its `[server.tls]` certificate (`http::tls`),
//! and is logged.

use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use tokio::sync::watch;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    Running,
    Graceful,
    Immediate,
}

/// Cheap to clone; all clones share the phase.
#[derive(Clone)]
pub struct Shutdown {
    tx: Arc<watch::Sender<Phase>>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        Self {
            tx: Arc::new(watch::channel(Phase::Running).0),
        }
    }

    /// Moves to the next phase (Running → Graceful → Immediate).
    pub fn trigger(&self) {
        self.tx.send_modify(|p| {
            *p = match *p {
                Phase::Running => Phase::Graceful,
                _ => Phase::Immediate,
            }
        });
    }

    pub fn phase(&self) -> Phase {
        *self.tx.borrow()
    }

    pub fn is_triggered(&self) -> bool {
        self.phase() >= Phase::Graceful
    }

    /// Resolves once the phase is at least `phase`.
    pub async fn reached(&self, phase: Phase) {
        let mut rx = self.tx.subscribe();
        // The sender lives in `self`, so `wait_for` cannot fail while we hold it.
        let _ = rx.wait_for(|p| *p >= phase).await;
    }

    /// Resolves when a graceful shutdown starts.
    pub async fn triggered(&self) {
        self.reached(Phase::Graceful).await
    }

    /// Installs the SIGTERM/SIGINT (and SIGHUP: logged only) handler thread. Call once, from
    /// `main`.
    pub fn listen_for_signals(&self) -> std::io::Result<()> {
        let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
        let this = self.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                for sig in signals.forever() {
                    if sig == SIGHUP {
                        tracing::info!("SIGHUP: the [server.tls] certificate is reloaded (if set); nothing else is");
                        continue;
                    }
                    tracing::warn!(signal = sig, "shutdown signal received");
                    this.trigger();
                }
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
