//! The camera source (`source = "camera"`): frames from libcamera, encoded to JPEG.
//!
//! This module owns the camera's typed configuration ([`CameraConfig`], the `[stream.camera]`
//! table), its errors ([`CameraError`]) and the mapping between our pixel formats and
//! libcamera's. Both are compiled into every build, so a config file is valid everywhere; the
//! libcamera code itself ([`capture`], [`list`], the shared camera manager) only exists when the
//! build has libcamera support (`cfg(has_libcamera)`: always on aarch64/arm, with
//! `--features libcamera` elsewhere, see `build.rs`). Without it, [`check_available`] and
//! `list-cameras` answer with [`UNAVAILABLE_REASON`].
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

use serde::{Deserialize, Deserializer};

use super::SourceError;
use crate::encoder::PixelFormat;
use controls::{AwbMode, ExposureMode};

/// Why a build without libcamera cannot run a camera (one line, shown by the server and
/// `list-cameras`).
pub const UNAVAILABLE_REASON: &str =
    "this build has no libcamera support (rebuild with `--features libcamera`; it needs libcamera >= 0.4)";

/// Which camera to open: its index in `list-cameras` order, or its libcamera id.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum CameraSelector {
    Index(usize),
    Id(String),
}

impl std::fmt::Display for CameraSelector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Index(i) => write!(f, "#{i}"),
            Self::Id(id) => write!(f, "{id:?}"),
        }
    }
}

/// Picture rotation; 90/270 would need a transpose, which libcamera cameras rarely offer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    #[default]
    R0,
    R180,
}

impl<'de> Deserialize<'de> for Rotation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match i64::deserialize(d)? {
            0 => Ok(Self::R0),
            180 => Ok(Self::R180),
            other => Err(serde::de::Error::custom(format!(
                "rotation {other} is not supported: use 0 or 180 (with hflip/vflip for mirrors)"
            ))),
        }
    }
}

/// The orientation asked of libcamera: rotation by 0 or 180 degrees, optionally mirrored
/// horizontally afterwards (libcamera's `Rotate0Mirror` is an hflip, `Rotate180Mirror` a vflip).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Orientation {
    pub rotate180: bool,
    pub mirror: bool,
}

/// `[stream.camera]`: which camera and how to capture from it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CameraConfig {
    /// Camera index (in `list-cameras` order) or libcamera id.
    pub select: CameraSelector,
    /// Requested size in pixels (the camera may adjust it; the adjustment is logged).
    pub width: u32,
    pub height: u32,
    /// Frames per second (sets libcamera's frame-duration limits), 0.1..=240.
    #[serde(deserialize_with = "de_fps")]
    pub fps: f64,
    /// Raw format asked of the camera; another of ours is accepted (with a warning) when the
    /// camera offers only that.
    pub format: PixelFormat,
    /// Frame buffers (requests) in flight, 2..=16.
    #[serde(deserialize_with = "de_buffer_count")]
    pub buffer_count: u32,
    pub rotation: Rotation,
    pub hflip: bool,
    pub vflip: bool,
    /// Controls; unset = the camera's default. A control the camera lacks is warned about.
    pub exposure_mode: Option<ExposureMode>,
    pub awb_mode: Option<AwbMode>,
    /// -1.0..=1.0 (0 = normal).
    #[serde(deserialize_with = "de_brightness")]
    pub brightness: Option<f32>,
    /// 0.0..=32.0 (1 = normal).
    #[serde(deserialize_with = "de_contrast")]
    pub contrast: Option<f32>,
    /// No completed frame for this long while requests are queued is a camera failure.
    #[serde(with = "humantime_serde")]
    pub frame_timeout: Duration,
}

impl Default for CameraConfig {
    fn default() -> Self {
        Self {
            select: CameraSelector::Index(0),
            width: 1280,
            height: 720,
            fps: 30.0,
            format: PixelFormat::Yuv420,
            buffer_count: 4,
            rotation: Rotation::R0,
            hflip: false,
            vflip: false,
            exposure_mode: None,
            awb_mode: None,
            brightness: None,
            contrast: None,
            frame_timeout: Duration::from_secs(2),
        }
    }
}

impl CameraConfig {
    /// Time between frames at the configured rate.
    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.fps)
    }

    /// The orientation that realises `rotation`, `hflip` and `vflip` together.
    pub fn orientation(&self) -> Orientation {
        let mut o = Orientation {
            rotate180: self.rotation == Rotation::R180,
            mirror: false,
        };
        if self.hflip {
            o.mirror = !o.mirror;
        }
        if self.vflip {
            // A vertical flip is a horizontal one rotated by 180 degrees.
            o.rotate180 = !o.rotate180;
            o.mirror = !o.mirror;
        }
        o
    }
}

fn in_range<'de, D: Deserializer<'de>>(
    d: D,
    what: &str,
    lo: f64,
    hi: f64,
) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    if (lo..=hi).contains(&v) {
        Ok(v)
    } else {
        Err(serde::de::Error::custom(format!(
            "{what} {v} is outside {lo}..={hi}"
        )))
    }
}

fn de_fps<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    in_range(d, "fps", 0.1, 240.0)
}

fn de_buffer_count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    in_range(d, "buffer_count", 2.0, 16.0).and_then(|v| {
        if v.fract() == 0.0 {
            Ok(v as u32)
        } else {
            Err(serde::de::Error::custom(
                "buffer_count must be a whole number",
            ))
        }
    })
}

fn de_brightness<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    in_range(d, "brightness", -1.0, 1.0).map(|v| Some(v as f32))
}

fn de_contrast<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    in_range(d, "contrast", 0.0, 32.0).map(|v| Some(v as f32))
}

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
pub fn check_available() -> Result<(), SourceError> {
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
        check_available().map(|()| String::new())
    }
}

#[cfg(has_libcamera)]
pub use capture::CameraSource;

#[cfg(test)]
#[path = "camera_tests.rs"]
mod tests;
