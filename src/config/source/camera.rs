//! `[stream.camera]`: which camera a `source = "camera"` stream opens and how it captures.
//!
//! Ranges are checked while parsing so an error names its key and line. The types also
//! serialize (to what they parse from): the server sends the table to the camera helper as the
//! JSON of the protocol's Start command, and the helper parses it with the same checks.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::super::values::{PixelFormat, Quality};

mod control_value;
mod controls;
mod legacy;
mod still;

pub use control_value::{ControlValue, ControlValues, PointValue, Rect, SizeValue, ValueError};
pub use controls::{
    control_spec, unknown_control_message, ControlKind, ControlSpec, CONTROLS, MAX_ARRAY_ELEMENTS,
    MAX_CONTROL_NAME_BYTES, MAX_TEXT_VALUE_BYTES,
};
pub use legacy::{AwbMode, ExposureMode};
pub use still::{StillMode, MAX_STILL_SIDE};

/// Which camera to open: its index in `list-cameras` order, or its libcamera id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// Picture rotation, clockwise. 0 and 180 are done by the sensor; 90 and 270 need a transpose,
/// which cameras hardly ever offer, so the helper turns each frame by 90° before encoding it
/// (270 = the sensor's 180 + that turn).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Rotation {
    #[default]
    R0,
    R90,
    R180,
    R270,
}

impl Serialize for Rotation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u32(match self {
            Self::R0 => 0,
            Self::R90 => 90,
            Self::R180 => 180,
            Self::R270 => 270,
        })
    }
}

impl<'de> Deserialize<'de> for Rotation {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match i64::deserialize(d)? {
            0 => Ok(Self::R0),
            90 => Ok(Self::R90),
            180 => Ok(Self::R180),
            270 => Ok(Self::R270),
            other => Err(serde::de::Error::custom(format!(
                "rotation {other} is not supported: use 0, 90, 180 or 270 (clockwise; \
                 hflip/vflip for mirrors)"
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// (Unset ones are left out when serialized: the file has no `null`.)
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exposure_mode: Option<ExposureMode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awb_mode: Option<AwbMode>,
    /// -1.0..=1.0 (0 = normal).
    #[serde(deserialize_with = "de_brightness")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brightness: Option<f32>,
    /// 0.0..=32.0 (1 = normal).
    #[serde(deserialize_with = "de_contrast")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contrast: Option<f32>,
    /// No frame (or sign of life) from the camera helper for this long means a hung camera:
    /// the helper is killed and a new one started.
    #[serde(with = "humantime_serde")]
    pub frame_timeout: Duration,
    /// Time the camera helper has to start the camera (hello and first answer).
    #[serde(with = "humantime_serde")]
    pub start_timeout: Duration,
    /// The `streamserver-camera` binary (unset: next to `streamserver`, else on `PATH`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub helper: Option<PathBuf>,
    /// While this file exists the camera is released (the helper stops) so another program can
    /// use it; capture resumes when it is removed. Unset: no pause file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pause_file: Option<PathBuf>,
    /// What clients see while paused: `placeholder` (a frame saying so) or `last_frame`.
    pub while_paused: WhilePaused,
    /// A frame larger than this (bytes) from the helper is a protocol error.
    #[serde(deserialize_with = "de_max_frame_bytes")]
    pub max_frame_bytes: usize,
    /// Size of a still picture; 0 × 0 = the sensor's full size (both or neither are 0).
    #[serde(deserialize_with = "still::de_side")]
    pub still_width: u32,
    #[serde(deserialize_with = "still::de_side")]
    pub still_height: u32,
    /// JPEG quality of a still.
    pub still_quality: Quality,
    /// How a still is captured while the stream runs.
    pub still_mode: StillMode,
    /// A still (or a control request) not answered within this long fails.
    #[serde(with = "humantime_serde")]
    pub still_timeout: Duration,
    /// Controls set at start, by libcamera's names (checked against [`CONTROLS`]).
    #[serde(skip_serializing_if = "ControlValues::is_empty")]
    pub controls: ControlValues,
}

/// `while_paused`: what a paused camera stream shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WhilePaused {
    #[default]
    Placeholder,
    LastFrame,
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
            start_timeout: Duration::from_secs(15),
            helper: None,
            pause_file: None,
            while_paused: WhilePaused::Placeholder,
            max_frame_bytes: 16 * 1024 * 1024,
            still_width: 0,
            still_height: 0,
            still_quality: Quality(90),
            still_mode: StillMode::Auto,
            still_timeout: Duration::from_secs(10),
            controls: ControlValues::default(),
        }
    }
}

impl CameraConfig {
    /// Checks serde cannot make: `(key below the table, message)` of the first bad value.
    pub fn validate(&self) -> Result<(), (String, String)> {
        if (self.still_width == 0) != (self.still_height == 0) {
            let (set, unset) = match self.still_width {
                0 => ("still_height", "still_width"),
                _ => ("still_width", "still_height"),
            };
            return Err((
                set.into(),
                format!("set {unset} too: both or neither (0 x 0 = the sensor's full size)"),
            ));
        }
        still::check_timeout(self.still_timeout).map_err(|m| ("still_timeout".into(), m))?;
        for (key, name) in self.legacy_controls() {
            if self.controls.0.contains_key(name) {
                return Err((
                    format!("controls.{name}"),
                    format!("set twice: here and as `{key}`; keep one"),
                ));
            }
        }
        Ok(())
    }

    /// The still size asked for: `None` = the sensor's full size.
    pub fn still_size(&self) -> Option<(u32, u32)> {
        (self.still_width > 0).then_some((self.still_width, self.still_height))
    }

    /// Time between frames at the configured rate.
    pub fn frame_interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.fps)
    }

    /// The quarter turn done in software after the sensor's [`orientation`](Self::orientation):
    /// rotation 90 or 270.
    pub fn quarter_turn(&self) -> bool {
        matches!(self.rotation, Rotation::R90 | Rotation::R270)
    }

    /// The orientation asked of the sensor, which with [`quarter_turn`](Self::quarter_turn)
    /// realises `rotation` and then `hflip` and `vflip` (mirrors of the rotated picture). For a
    /// quarter turn the sensor mirrors along the other axis: a horizontal mirror after a quarter
    /// turn is a vertical one before it.
    pub fn orientation(&self) -> Orientation {
        let (hflip, vflip) = match self.quarter_turn() {
            true => (self.vflip, self.hflip),
            false => (self.hflip, self.vflip),
        };
        let mut o = Orientation {
            rotate180: matches!(self.rotation, Rotation::R180 | Rotation::R270),
            mirror: false,
        };
        if hflip {
            o.mirror = !o.mirror;
        }
        if vflip {
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

fn de_max_frame_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    in_range(d, "max_frame_bytes", 1024.0, 256.0 * 1024.0 * 1024.0).map(|v| v as usize)
}

fn de_contrast<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f32>, D::Error> {
    in_range(d, "contrast", 0.0, 32.0).map(|v| Some(v as f32))
}

#[cfg(test)]
mod tests;
