//! Where a stream's source is in its life, as its supervisor sees it: state, last error,
//! restarts, what it reads from. Written by the supervisor, read by `/health`, `/api/state` and
//! `/metrics`.

use std::sync::Mutex;

use serde::Serialize;

/// Where a stream's source is in its life, as the supervisor sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceState {
    Starting,
    Running,
    /// Failed or stalled; waiting for the backoff before the next start.
    Restarting,
    /// The restart budget is spent; the process is exiting.
    Failed,
    Stopped,
}

#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    pub state: SourceState,
    pub last_error: Option<String>,
    /// Restarts since the server started.
    pub restarts: u64,
    /// What the source reads from (device, path, url).
    pub description: String,
}

/// The shared, lock-protected [`SourceStatus`] of one stream.
#[derive(Debug)]
pub struct StatusBoard(Mutex<SourceStatus>);

impl Default for StatusBoard {
    fn default() -> Self {
        Self(Mutex::new(SourceStatus {
            state: SourceState::Starting,
            last_error: None,
            restarts: 0,
            description: String::new(),
        }))
    }
}

impl StatusBoard {
    /// A copy of the current status.
    pub fn get(&self) -> SourceStatus {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Updates the status under its lock.
    pub fn update(&self, f: impl FnOnce(&mut SourceStatus)) {
        f(&mut self.0.lock().unwrap_or_else(|e| e.into_inner()));
    }
}
