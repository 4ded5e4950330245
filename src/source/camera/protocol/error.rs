//! [`ProtocolError`]: what can go wrong between the server and its camera helper, worded for
//! whoever reads the log, and classified by method ([`ProtocolError::is_retryable`]).

use std::fmt;
use std::io;

/// The other end of a pipe, as named in error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    /// The camera helper (what the server's readers and writers talk to).
    Helper,
    /// The server (what the helper's readers and writers talk to).
    Server,
}

impl fmt::Display for Peer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Helper => "camera helper",
            Self::Server => "server",
        })
    }
}

/// A broken conversation (every variant but [`ProtocolError::Refused`] ends it).
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("pipe to or from the {peer}: {source}")]
    Io {
        peer: Peer,
        #[source]
        source: io::Error,
    },
    #[error(
        "the camera helper closed its stdout without a word: it exited or could not start \
         (its log lines say why)"
    )]
    NoHello,
    #[error(
        "the camera helper wrote something that is not the camera protocol: {text:?} \
         (is the helper path a streamserver-camera binary?)"
    )]
    NotOurProtocol {
        /// The first bytes it wrote (at most 200, lossily decoded).
        text: String,
    },
    #[error(
        "camera helper {}speaks protocol {theirs}, this server speaks {ours}: reinstall both \
         binaries from the same version (./install-service.sh)",
        helper_version.as_deref().map(|v| format!("{v} ")).unwrap_or_default()
    )]
    VersionMismatch {
        theirs: u16,
        ours: u16,
        /// The helper's version, when its Hello could be read.
        helper_version: Option<String>,
    },
    #[error("the {peer} closed the pipe")]
    Closed { peer: Peer },
    #[error("the {peer} closed the pipe mid-message ({got} of {expected} bytes of {what})")]
    Truncated {
        peer: Peer,
        what: &'static str,
        got: usize,
        expected: usize,
    },
    #[error("the {peer} sent an unknown message type {code:#04x}")]
    UnknownType { peer: Peer, code: u8 },
    #[error("the {peer} sent {what} of {len} bytes, over the limit of {max} bytes ({limit})")]
    TooLong {
        peer: Peer,
        what: &'static str,
        len: usize,
        max: usize,
        /// What sets the bound: `protocol`, or the config key (`max_frame_bytes`).
        limit: &'static str,
    },
    #[error("the {peer} sent an invalid {what}: {reason}")]
    Invalid {
        peer: Peer,
        what: &'static str,
        reason: String,
    },
    /// A writer refused to send something the reader would reject; nothing was written.
    #[error("not sent: {what}: {reason}")]
    Refused { what: &'static str, reason: String },
}

impl ProtocolError {
    /// Whether starting the same helper binary again can help: a helper of another version or
    /// another program at the helper path will not change by itself.
    pub fn is_retryable(&self) -> bool {
        !matches!(
            self,
            Self::VersionMismatch { .. } | Self::NotOurProtocol { .. }
        )
    }

    /// Whether the conversation ended cleanly: the peer closed the pipe between messages.
    pub fn is_closed(&self) -> bool {
        matches!(self, Self::Closed { .. })
    }
}
