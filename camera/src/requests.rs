//! The server's requests (Still, SetControls, ListControls) on their way from the control
//! thread, which reads them, to the capture thread, which owns the camera and serves them
//! between frames: a bounded queue of [`MAX_PENDING_REQUESTS`]. What the control thread cannot
//! hand on — the camera is not started yet, or the queue is full — it answers with
//! RequestError itself ([`Outbox::offer`]).

use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};

use streamserver::source::camera::protocol::MAX_PENDING_REQUESTS;

/// One request of the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Still { id: u32 },
    SetControls { id: u32, json: String },
    ListControls { id: u32 },
}

impl Request {
    pub fn id(&self) -> u32 {
        match self {
            Self::Still { id } | Self::SetControls { id, .. } | Self::ListControls { id } => *id,
        }
    }
}

/// The control thread's end.
pub struct Outbox(SyncSender<Request>);

/// The capture thread's end.
pub struct Inbox(Receiver<Request>);

/// A new queue.
pub fn queue() -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::sync_channel(MAX_PENDING_REQUESTS);
    (Outbox(tx), Inbox(rx))
}

impl Outbox {
    /// Hands `request` to the capture thread; `Err` is the RequestError text when it cannot.
    pub fn offer(&self, request: Request) -> Result<(), String> {
        match self.0.try_send(request) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => Err(format!(
                "busy: {MAX_PENDING_REQUESTS} requests are waiting for the camera"
            )),
            Err(TrySendError::Disconnected(_)) => Err("the camera has stopped".into()),
        }
    }
}

impl Inbox {
    /// The next waiting request, without waiting.
    pub fn next(&self) -> Option<Request> {
        self.0.try_recv().ok()
    }
}

#[cfg(test)]
mod tests;
