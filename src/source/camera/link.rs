//! [`CameraLink`]: the server's end of one camera stream's requests — stills, controls and
//! pause — shared by the HTTP handlers (async) and the camera source's thread, which talks to
//! the stream's helper ([`serve`]).
//!
//! A handler's request ([`CameraLink::still`], [`CameraLink::list_controls`],
//! [`CameraLink::set_controls`]) goes over a bounded queue to the session of the moment, which
//! sends it to the helper and hands the answer back over a one-shot channel; the handler waits
//! for it at most `still_timeout` (a still) or [`CONTROLS_TIMEOUT`] (controls). Still requests
//! that arrive while one is being taken wait for the same picture: ten at once cost one capture.
//! The values applied over the link are kept here and merged into every later helper's Start
//! settings, so they survive a helper restart (not a server restart). Pause (the same as the
//! pause file) is a flag the source and its session look at.
//!
//! Errors are typed by what the client should learn ([`LinkError::http_status`]): a refused
//! control is the client's mistake (400), no camera to ask is 503, no answer in time is 504.

pub mod serve;

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use tokio::sync::oneshot;

use super::protocol::requests::{ControlInfo, ControlValues, Rejection};
use crate::config::CameraConfig;

/// Requests queued for the session beyond those in flight; more are refused (503).
const MAX_QUEUED: usize = 32;

/// Why a request over the link got no answer it could use.
#[derive(Debug, Clone, thiserror::Error)]
pub enum LinkError {
    /// The camera refused a control value: nothing of the request was applied.
    #[error("refused: {0}")]
    Rejected(Rejection),
    /// No camera to ask: the helper is starting, restarting, failed or paused, or too busy.
    #[error("the camera is unavailable: {0}")]
    Unavailable(String),
    /// The helper did not answer in time.
    #[error("no answer from the camera within {0:?}")]
    Timeout(Duration),
}

impl LinkError {
    pub fn http_status(&self) -> StatusCode {
        match self {
            Self::Rejected(_) => StatusCode::BAD_REQUEST,
            Self::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
        }
    }
}

/// A still picture.
#[derive(Debug, Clone)]
pub struct Still {
    pub width: u32,
    pub height: u32,
    pub jpeg: Bytes,
}

/// What a request asks of the helper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Kind {
    Still,
    ListControls,
    /// The JSON object of name → value.
    SetControls(String),
}

/// A successful answer.
#[derive(Debug, Clone)]
pub(crate) enum Answer {
    Still(Still),
    Controls(Vec<ControlInfo>),
    Applied(ControlValues),
}

pub(crate) type Reply = oneshot::Sender<Result<Answer, LinkError>>;

/// One request on its way to the session.
pub(crate) struct Ask {
    pub kind: Kind,
    pub reply: Reply,
}

/// One camera stream's link (see the module doc).
pub struct CameraLink {
    stream: String,
    asks: SyncSender<Ask>,
    /// The session of the moment takes requests from here.
    inbox: Mutex<Receiver<Ask>>,
    /// A helper is started and takes requests.
    live: AtomicBool,
    /// Paused over the API: no helper runs.
    paused: AtomicBool,
    /// Values applied over the link since the server started (actions left out).
    applied: Mutex<ControlValues>,
    /// How long a handler waits for the helper's answer.
    still_timeout: Duration,
}

impl CameraLink {
    pub fn new(stream: &str, config: &CameraConfig) -> Self {
        let (asks, inbox) = mpsc::sync_channel(MAX_QUEUED);
        Self {
            stream: stream.to_string(),
            asks,
            inbox: Mutex::new(inbox),
            live: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            applied: Mutex::new(ControlValues::default()),
            still_timeout: config.still_timeout,
        }
    }

    /// A still at the stream's still size (waits at most `still_timeout`).
    pub async fn still(&self) -> Result<Still, LinkError> {
        match self.ask(Kind::Still, self.still_timeout).await? {
            Answer::Still(s) => Ok(s),
            other => Err(unexpected(&other)),
        }
    }

    /// Every control the camera has, with its current value.
    pub async fn list_controls(&self) -> Result<Vec<ControlInfo>, LinkError> {
        match self.ask(Kind::ListControls, self.still_timeout).await? {
            Answer::Controls(list) => Ok(list),
            other => Err(unexpected(&other)),
        }
    }

    /// Sets `json` (an object of name → value) from the camera's next request on; the values
    /// applied (canonical), or why none was.
    pub async fn set_controls(&self, json: String) -> Result<ControlValues, LinkError> {
        match self
            .ask(Kind::SetControls(json), self.still_timeout)
            .await?
        {
            Answer::Applied(v) => Ok(v),
            other => Err(unexpected(&other)),
        }
    }

    /// Pauses the stream: its helper stops and the camera is free until [`Self::resume`].
    /// True when it was not paused before.
    pub fn pause(&self) -> bool {
        !self.paused.swap(true, Relaxed)
    }

    /// Ends a pause; true when it was paused.
    pub fn resume(&self) -> bool {
        self.paused.swap(false, Relaxed)
    }

    pub fn is_paused(&self) -> bool {
        self.paused.load(Relaxed)
    }

    /// The values applied over the link so far (for the next helper's Start settings).
    pub fn applied(&self) -> ControlValues {
        self.applied
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn record_applied(&self, values: &ControlValues) {
        let mut applied = self.applied.lock().unwrap_or_else(PoisonError::into_inner);
        *applied = applied.merged(&values.states());
    }

    async fn ask(&self, kind: Kind, timeout: Duration) -> Result<Answer, LinkError> {
        if self.is_paused() {
            return Err(LinkError::Unavailable(format!(
                "stream {} is paused",
                self.stream
            )));
        }
        if !self.live.load(Relaxed) {
            return Err(LinkError::Unavailable(format!(
                "the camera of stream {} is not running (starting, restarting or failed)",
                self.stream
            )));
        }
        let (reply, answer) = oneshot::channel();
        self.asks
            .try_send(Ask { kind, reply })
            .map_err(|_| LinkError::Unavailable("too many requests waiting".into()))?;
        match tokio::time::timeout(timeout, answer).await {
            Err(_) => Err(LinkError::Timeout(timeout)),
            Ok(Err(_)) => Err(LinkError::Unavailable(
                "the camera helper stopped before answering".into(),
            )),
            Ok(Ok(result)) => result,
        }
    }
}

fn unexpected(answer: &Answer) -> LinkError {
    let what = match answer {
        Answer::Still(_) => "a still",
        Answer::Controls(_) => "a controls listing",
        Answer::Applied(_) => "applied values",
    };
    LinkError::Unavailable(format!("the helper answered with {what} instead"))
}

#[cfg(test)]
mod tests;
