//! The session's side of a [`CameraLink`]: [`Serving`] takes the handlers' requests off the link
//! (only the session of the moment: it holds the inbox), sends them to the helper with ids of
//! its own, and hands each answer to whoever waits for it.
//!
//! A still asked for while one is in flight joins it (one capture, one picture for all). Requests
//! in flight are bounded by the protocol's [`MAX_PENDING_REQUESTS`] (more are refused at once);
//! each is forgotten after its handler has stopped waiting, so a helper that never answers
//! leaks nothing. When the session ends, [`Serving`]'s drop tells every waiter and every
//! queued request that the helper is gone, and marks the link not live.

use std::collections::HashMap;
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc::Receiver;
use std::sync::{MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

use super::{Answer, Ask, CameraLink, Kind, LinkError, Reply, Still};
use crate::source::camera::protocol::requests::ControlsReply;
use crate::source::camera::protocol::{
    CommandWriter, Message, ProtocolError, MAX_PENDING_REQUESTS,
};

/// Kept a little longer than the handler waits, so a late answer is still recognised.
const GRACE: Duration = Duration::from_secs(1);

struct Pending {
    is_still: bool,
    waiters: Vec<Reply>,
    forget_at: Instant,
}

/// One session's service of the link.
pub struct Serving<'a> {
    link: &'a CameraLink,
    inbox: MutexGuard<'a, Receiver<Ask>>,
    next_id: u32,
    pending: HashMap<u32, Pending>,
}

impl<'a> Serving<'a> {
    /// Takes the link's inbox for this session (the previous session has ended).
    pub fn new(link: &'a CameraLink) -> Self {
        let inbox = link.inbox.lock().unwrap_or_else(PoisonError::into_inner);
        Self {
            link,
            inbox,
            next_id: 1,
            pending: HashMap::new(),
        }
    }

    /// The helper has started the camera: requests are taken from now on.
    pub fn started(&self) {
        self.link.live.store(true, Relaxed);
    }

    /// Sends the queued requests to the helper and forgets the ones nobody waits for anymore.
    pub fn poll<W: Write>(&mut self, commands: &mut CommandWriter<W>) -> Result<(), ProtocolError> {
        let now = Instant::now();
        self.pending.retain(|_, p| {
            p.waiters.retain(|w| !w.is_closed());
            !p.waiters.is_empty() && now < p.forget_at
        });
        while let Ok(ask) = self.inbox.try_recv() {
            if ask.reply.is_closed() {
                continue;
            }
            if ask.kind == Kind::Still {
                if let Some(p) = self.pending.values_mut().find(|p| p.is_still) {
                    p.waiters.push(ask.reply);
                    continue;
                }
            }
            if self.pending.len() >= MAX_PENDING_REQUESTS {
                let busy = format!("{MAX_PENDING_REQUESTS} requests are waiting for the camera");
                let _ = ask.reply.send(Err(LinkError::Unavailable(busy)));
                continue;
            }
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1).max(1);
            match &ask.kind {
                Kind::Still => commands.still(id)?,
                Kind::ListControls => commands.list_controls(id)?,
                Kind::SetControls(json) => {
                    let value: serde_json::Value = match serde_json::from_str(json) {
                        Ok(v) => v,
                        Err(e) => {
                            let _ = ask.reply.send(Err(LinkError::Unavailable(e.to_string())));
                            continue;
                        }
                    };
                    commands.set_controls(id, &value)?;
                }
            }
            debug!(id, kind = ?ask.kind, "request sent to the camera helper");
            self.pending.insert(
                id,
                Pending {
                    is_still: ask.kind == Kind::Still,
                    waiters: vec![ask.reply],
                    forget_at: now + self.link.still_timeout + GRACE,
                },
            );
        }
        Ok(())
    }

    /// How much longer than `frame_timeout` the helper may be silent now: a `switch` still
    /// stops the stream while it is taken, so while one is asked for, up to `still_timeout`.
    pub fn silence_allowance(&self) -> Duration {
        match self.pending.values().any(|p| p.is_still) {
            true => self.link.still_timeout,
            false => Duration::ZERO,
        }
    }

    /// Hands a StillResult, ControlsReply or RequestError to its waiters; returns the message
    /// back when it is none of those.
    pub fn answer(&mut self, message: Message) -> Option<Message> {
        let (id, result) = match message {
            Message::StillResult {
                id,
                width,
                height,
                jpeg,
            } => (
                id,
                Ok(Answer::Still(Still {
                    width,
                    height,
                    jpeg,
                })),
            ),
            Message::ControlsReply { id, json } => (id, self.controls_reply(&json)),
            Message::RequestError { id, message } => (id, Err(LinkError::Unavailable(message))),
            other => return Some(other),
        };
        match self.pending.remove(&id) {
            Some(p) => {
                for w in p.waiters {
                    let _ = w.send(result.clone());
                }
            }
            None => debug!(id, "an answer nobody waits for anymore"),
        }
        None
    }

    fn controls_reply(&self, json: &str) -> Result<Answer, LinkError> {
        match ControlsReply::from_json(json) {
            Ok(ControlsReply::Controls(list)) => Ok(Answer::Controls(list)),
            Ok(ControlsReply::Applied(values)) => {
                self.link.record_applied(&values);
                Ok(Answer::Applied(values))
            }
            Ok(ControlsReply::Rejected(r)) => Err(LinkError::Rejected(r)),
            Err(e) => {
                warn!(error = %e, "the camera helper sent a bad ControlsReply");
                Err(LinkError::Unavailable(format!(
                    "the helper's reply is invalid: {e}"
                )))
            }
        }
    }
}

impl Drop for Serving<'_> {
    /// The helper is gone: the link is not live, queued requests are told so (the ones in
    /// flight learn it from their dropped reply).
    fn drop(&mut self) {
        self.link.live.store(false, Relaxed);
        while let Ok(ask) = self.inbox.try_recv() {
            let _ = ask.reply.send(Err(LinkError::Unavailable(
                "the camera helper stopped".into(),
            )));
        }
    }
}
