//! [`CameraError`]: why a camera stream's helper is not delivering, worded for the placeholder,
//! `/api/state` and error.log, with a hint where one helps (a missing or mismatched helper, a
//! libcamera that changed under it, another program holding the camera).

use std::path::PathBuf;
use std::time::Duration;

use super::protocol::{FailureKind, ProtocolError};

/// What to do when the dynamic loader cannot start the helper (libcamera changed its soname).
pub const REBUILD_HINT: &str =
    "rebuild the camera helper on this Pi: ./install-service.sh --camera-helper-only";

#[derive(Debug, thiserror::Error)]
pub enum CameraError {
    #[error("camera helper {path} cannot be started: {source} (install streamserver-camera next to streamserver: ./install-service.sh)")]
    HelperSpawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the camera helper cannot load its libraries: {detail}; {REBUILD_HINT}")]
    HelperCannotLoad { detail: String },
    #[error("{source}{}", stderr_suffix(.stderr))]
    Protocol {
        #[source]
        source: ProtocolError,
        /// The helper's last stderr lines.
        stderr: String,
    },
    #[error("{}", failure_text(*.kind, .message))]
    HelperFailed { kind: FailureKind, message: String },
    #[error("the camera helper exited ({status}){}", stderr_suffix(.stderr))]
    HelperExited { status: String, stderr: String },
    #[error(
        "the camera helper did not start the camera within {waited:?}; killed it (hung camera?)"
    )]
    StartTimeout { waited: Duration },
    #[error("no frame from the camera helper for {waited:?}; killed it (hung camera?)")]
    FrameTimeout { waited: Duration },
    #[error("cannot send a command to the camera helper: {0}")]
    Command(#[source] ProtocolError),
    #[error("cannot start a thread for the camera helper")]
    Thread(#[source] std::io::Error),
}

impl CameraError {
    /// Whether starting a new helper can help. Settings the camera cannot take, or a helper of
    /// another protocol version, will not change by themselves; everything else (a hang, a
    /// crash, an unplugged or busy camera, a library being upgraded) may.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::HelperFailed { kind, .. } => kind.is_retryable(),
            Self::Protocol { source, .. } => source.is_retryable(),
            _ => true,
        }
    }

    /// The error for a helper that ended the conversation: the loader's message when it could
    /// not start, else the protocol error with the helper's last words.
    pub fn ended(source: ProtocolError, exit: Option<String>, stderr: String) -> Self {
        if let Some(line) = loader_error(&stderr) {
            return Self::HelperCannotLoad { detail: line };
        }
        match (source, exit) {
            (ProtocolError::NoHello | ProtocolError::Closed { .. }, Some(status)) => {
                Self::HelperExited { status, stderr }
            }
            (source, _) => Self::Protocol { source, stderr },
        }
    }
}

/// The dynamic loader's complaint in the helper's stderr, if it could not start the program
/// (a missing `libcamera.so.0.X`, a too old glibc, a missing symbol).
pub fn loader_error(stderr: &str) -> Option<String> {
    stderr
        .lines()
        .find(|l| {
            l.contains("error while loading shared libraries")
                || l.contains("cannot open shared object file")
                || l.contains("version `GLIBC")
                || l.contains("symbol lookup error")
        })
        .map(|l| l.trim().to_string())
}

fn stderr_suffix(stderr: &str) -> String {
    match stderr.lines().last() {
        Some(last) if !last.trim().is_empty() => format!("; it said: {}", last.trim()),
        _ => String::new(),
    }
}

fn failure_text(kind: FailureKind, message: &str) -> String {
    let hint = match kind {
        FailureKind::NoCamera => {
            " (is the camera connected and enabled? `streamserver list-cameras` lists what libcamera sees)"
        }
        FailureKind::CameraBusy => {
            " (another program holds the camera: stop it, or pause this stream with its pause_file)"
        }
        FailureKind::Libcamera if message.contains("without libcamera") => {
            " (build the helper on the Pi: ./install-service.sh)"
        }
        _ => "",
    };
    format!("camera: {}: {message}{hint}", kind.name())
}

#[cfg(test)]
mod tests;
