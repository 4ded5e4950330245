//! `sd_notify`: tells systemd when the server is ready, what it is doing and that it is still
//! alive (the `sd-notify` crate sends the datagrams); [`vitals`]: the heartbeats of the loops the
//! watchdog ping vouches for.
//!
//! The unit (`streamserver.service`) runs the server with `Type=notify`, `NotifyAccess=main` and
//! `WatchdogSec=`. systemd passes `NOTIFY_SOCKET` (its datagram socket, `/run/systemd/notify` for
//! system services) and `WATCHDOG_USEC`/`WATCHDOG_PID` (the watchdog timeout, for our pid). The
//! server sends `READY=1` once it listens, `WATCHDOG=1` every [`Notifier::watchdog_interval`]
//! while the app says it is healthy (see `crate::app`), and `STOPPING=1` when it shuts down.
//!
//! Without systemd (no `NOTIFY_SOCKET`, e.g. `scripts/run.sh`), every method is a no-op. Send
//! errors are logged once and otherwise ignored: a notification must never take the server
//! down. (The crate connects to path sockets only; systemd's own socket is one. An abstract
//! `@name` socket, as some container managers use, fails and is logged once.)

pub mod vitals;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sd_notify::NotifyState;
use tracing::warn;

/// A handle on the systemd notification socket; cheap to share (`&Notifier` is `Send + Sync`).
#[derive(Debug)]
pub struct Notifier {
    /// `NOTIFY_SOCKET` was set when the server started.
    enabled: bool,
    /// The full watchdog timeout systemd asked of this process, if any.
    watchdog_timeout: Option<Duration>,
    /// Set after the first send error has been logged, so a broken socket does not flood the log.
    warned: AtomicBool,
}

impl Notifier {
    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` (never modifies them).
    pub fn from_env() -> Self {
        Self {
            enabled: std::env::var_os("NOTIFY_SOCKET").is_some(),
            watchdog_timeout: sd_notify::watchdog_enabled().filter(|d| !d.is_zero()),
            warned: AtomicBool::new(false),
        }
    }

    /// Whether systemd listens at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// `READY=1`: the server listens.
    pub fn ready(&self) {
        self.send(NotifyState::Ready);
    }

    /// `STOPPING=1`: shutdown has begun.
    pub fn stopping(&self) {
        self.send(NotifyState::Stopping);
    }

    /// `STATUS=…`, shown by `systemctl status` (one line: line breaks become spaces, so the text
    /// cannot add assignments of its own).
    pub fn status(&self, msg: &str) {
        let line = msg.replace(['\n', '\r'], " ");
        self.send(NotifyState::Status(&line));
    }

    /// `WATCHDOG=1`: the server is alive and well.
    pub fn watchdog(&self) {
        self.send(NotifyState::Watchdog);
    }

    /// How often to ping: half the watchdog timeout, as systemd recommends; `None` without one.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog_timeout.map(|t| t / 2)
    }

    fn send(&self, state: NotifyState) {
        if !self.enabled {
            return;
        }
        if let Err(err) = sd_notify::notify(&[state]) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                warn!(%err, "cannot notify systemd (logged once)");
            }
        }
    }
}
