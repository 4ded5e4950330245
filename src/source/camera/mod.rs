//! The camera source (`source = "camera"`): frames from libcamera, encoded to JPEG.
//!
//! This module owns the camera's errors ([`CameraError`]) and the mapping between our pixel
//! formats and libcamera's; its settings are `crate::config::CameraConfig`. Both are compiled
//! into every build; the libcamera code itself (`capture`, `list`, the shared camera manager)
//! only exists when the build has libcamera support (`cfg(has_libcamera)`: always on
//! aarch64/arm, with `--features libcamera` elsewhere, see `build.rs`). Without it,
//! [`preflight`] and `list-cameras` answer with [`UNAVAILABLE_REASON`].
//!
//! - [`controls`]: exposure mode, AWB mode, brightness, contrast, frame-duration limits.
//! - [`timing`]: capture timestamps and sequence gaps, tolerating missing or garbage metadata.
//! - [`mapping`]: maps a frame buffer's planes once for the life of a run.
//! - [`protocol`]: the server ↔ camera helper protocol (every build; std, bytes, serde only).
//! - `capture`: the capture loop on the source thread (newest frame wins, requests requeued).
//! - `setup`: finding the camera and negotiating format, size, buffers and orientation.
//! - `list`: `streamserver list-cameras`.

#[cfg(has_libcamera)]
mod capture;
pub mod controls;
#[cfg(has_libcamera)]
mod list;
#[cfg(has_libcamera)]
mod manager;
#[cfg_attr(not(has_libcamera), allow(dead_code))]
pub mod mapping;
pub mod protocol;
#[cfg(has_libcamera)]
mod setup;
#[cfg_attr(not(has_libcamera), allow(dead_code))]
pub mod timing;

use std::time::Duration;

use super::SourceError;
use crate::config::PixelFormat;

/// Why a build without libcamera cannot run a camera (one line, shown by the server and
/// `list-cameras`).
pub const UNAVAILABLE_REASON: &str =
    "this build has no libcamera support (rebuild with `--features libcamera`; it needs libcamera >= 0.4)";

/// DRM fourcc of a four-character code.
pub const fn fourcc(code: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*code)
}

/// libcamera's name and DRM fourcc of one of our formats. libcamera names packed RGB formats
/// the DRM way, by a little-endian word: its `RGB888` is B,G,R in memory (our `Bgr888`) and its
/// `BGR888` is R,G,B in memory (our `Rgb888`). `YUV420` is I420.
pub fn libcamera_format(format: PixelFormat) -> (&'static str, u32) {
    match format {
        PixelFormat::Rgb888 => ("BGR888", fourcc(b"BG24")),
        PixelFormat::Bgr888 => ("RGB888", fourcc(b"RG24")),
        PixelFormat::Yuv420 => ("YUV420", fourcc(b"YU12")),
        PixelFormat::Nv12 => ("NV12", fourcc(b"NV12")),
    }
}

/// Our format for a libcamera fourcc (without modifier), if we can encode it.
pub fn format_from_fourcc(code: u32) -> Option<PixelFormat> {
    PixelFormat::ALL
        .into_iter()
        .find(|f| libcamera_format(*f).1 == code)
}

/// Camera errors, with the camera they concern.
#[derive(Debug, thiserror::Error)]
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
    /// A configuration the camera cannot take will not work after a restart either.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::Configure { .. })
    }
}

/// Whether this build can run a camera at all.
pub fn preflight() -> Result<(), SourceError> {
    if cfg!(has_libcamera) {
        Ok(())
    } else {
        Err(SourceError::Unavailable {
            kind: "camera",
            reason: UNAVAILABLE_REASON.into(),
        })
    }
}

/// `streamserver list-cameras`: each camera's index, id, model, formats and sizes; fails with
/// [`UNAVAILABLE_REASON`] in builds without libcamera.
pub fn list_cameras() -> Result<String, SourceError> {
    #[cfg(has_libcamera)]
    {
        list::text()
    }
    #[cfg(not(has_libcamera))]
    {
        preflight().map(|()| String::new())
    }
}

#[cfg(has_libcamera)]
pub use capture::CameraSource;

#[cfg(test)]
mod tests;
