//! The stream supervisors' tasks and how each one ended.
//!
//! A supervisor returns only when shutdown was asked for (`Ok`) or its stream cannot recover
//! (`Err`). Any other end — a panic inside it, or `Ok` while the server is not shutting down —
//! means a stream that nobody supervises any more: that is logged at error level and ends the
//! process non-zero so systemd restarts it, instead of being dropped silently.

use std::collections::HashMap;
use std::future::Future;

use tokio::task::{Id, JoinSet};

use crate::supervise::SupervisorError;
use crate::util::panic_message;

/// How a supervisor task ended.
#[derive(Debug)]
pub enum SupervisorEnd {
    /// Returned `Ok` (shutdown, or an unexpected stop when the server is not shutting down).
    Stopped,
    /// Returned its error: the stream cannot recover.
    Failed(SupervisorError),
    /// Panicked, with the panic's message.
    Panicked(String),
    /// Cancelled (only when the set itself is being dropped).
    Cancelled,
}

/// The running supervisors, by stream id.
#[derive(Default)]
pub struct SupervisorTasks {
    set: JoinSet<Result<(), SupervisorError>>,
    streams: HashMap<Id, String>,
}

impl SupervisorTasks {
    pub fn spawn(
        &mut self,
        stream: &str,
        task: impl Future<Output = Result<(), SupervisorError>> + Send + 'static,
    ) {
        let handle = self.set.spawn(task);
        self.streams.insert(handle.id(), stream.to_string());
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty()
    }

    /// Waits for the next supervisor to end: its stream id and how. `None` when none is left.
    pub async fn next_end(&mut self) -> Option<(String, SupervisorEnd)> {
        let (id, end) = match self.set.join_next_with_id().await? {
            Ok((id, Ok(()))) => (id, SupervisorEnd::Stopped),
            Ok((id, Err(err))) => (id, SupervisorEnd::Failed(err)),
            Err(err) if err.is_panic() => {
                let id = err.id();
                (
                    id,
                    SupervisorEnd::Panicked(panic_message(&*err.into_panic())),
                )
            }
            Err(err) => (err.id(), SupervisorEnd::Cancelled),
        };
        let stream = self.streams.remove(&id).unwrap_or_default();
        Some((stream, end))
    }
}

#[cfg(test)]
mod tests;
