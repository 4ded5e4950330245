//! Why a capture run ends: [`CameraError`] (libcamera and the camera) and [`CaptureError`] (any
//! cause, with the protocol's [`FailureKind`] the server decides on: retry or not, which hint).

use std::time::Duration;

use streamserver::pipeline::encode_pool::EncodePoolError;
use streamserver::source::camera::protocol::FailureKind;

use crate::still::StillError;

/// What a helper built without libcamera answers to `run` (without `--synthetic`) and `list`.
pub const NO_LIBCAMERA: &str = "this helper was built without libcamera (rebuild it with \
     `--features libcamera` against libcamera >= 0.4; on a Pi: ./install-service.sh)";

/// Camera errors, with the camera they concern (most come from libcamera builds only).
#[derive(Debug, thiserror::Error)]
#[cfg_attr(not(has_libcamera), allow(dead_code))]
pub enum CameraError {
    #[error("cannot start libcamera's camera manager: {0}")]
    Manager(#[source] std::io::Error),
    #[error("no camera {selector} (cameras: {available})")]
    NotFound { selector: String, available: String },
    #[error("camera {id}: cannot acquire it (in use by another program?): {source}")]
    Acquire {
        id: String,
        #[source]
        source: std::io::Error,
    },
    #[error("camera {id}: {message}")]
    Configure { id: String, message: String },
    #[error("camera {id}: {step} failed: {source}")]
    Io {
        id: String,
        step: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("camera {id}: no frame completed within {waited:?} (hung driver?)")]
    Timeout { id: String, waited: Duration },
    #[error("camera {id}: {count} frames in a row failed")]
    FrameErrors { id: String, count: u32 },
    #[error("camera {id} was disconnected")]
    Disconnected { id: String },
}

impl CameraError {
    /// The protocol's kind: only a configuration the camera refuses cannot be retried.
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::NotFound { .. } => FailureKind::NoCamera,
            // libcamera answers EBUSY when another process (or camera user) holds the camera.
            Self::Acquire { source, .. } if source.raw_os_error() == Some(libc::EBUSY) => {
                FailureKind::CameraBusy
            }
            Self::Configure { .. } => FailureKind::Config,
            _ => FailureKind::Libcamera,
        }
    }
}

/// Why a capture run (libcamera or synthetic) ended.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error(transparent)]
    Camera(#[from] CameraError),
    #[error(transparent)]
    Pool(#[from] EncodePoolError),
    #[error(transparent)]
    Still(#[from] StillError),
    #[error("{NO_LIBCAMERA}")]
    #[cfg_attr(has_libcamera, allow(dead_code))]
    NoLibcamera,
    /// A fault the synthetic camera was told to inject.
    #[error("injected fault: {0}")]
    Injected(String),
}

impl CaptureError {
    pub fn kind(&self) -> FailureKind {
        match self {
            Self::Camera(e) => e.kind(),
            Self::Pool(EncodePoolError::Encode(_)) | Self::Still(StillError::Encoder(_)) => {
                FailureKind::Encode
            }
            Self::Pool(_) | Self::Still(_) | Self::Injected(_) => FailureKind::Other,
            Self::NoLibcamera => FailureKind::Libcamera,
        }
    }
}

#[cfg(test)]
mod tests;
