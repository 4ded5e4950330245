//! [`HelperSettings`]: the JSON of the Start command, everything the camera helper needs to run
//! one camera stream. The server serializes it ([`super::CommandWriter::start`]), the helper
//! parses it with [`HelperSettings::from_json`], through the same checked config types the
//! server parsed `config.toml` with, so both ends agree on every range.

use serde::{Deserialize, Serialize};

use crate::config::{CameraConfig, ControlValues, EncoderConfig, OverlayConfig};
use crate::source::camera::shm::ShmLayout;

/// The Start command's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelperSettings {
    /// The stream's id: names the helper's encode threads (`encode-<stream>-<n>`) and its log.
    pub stream: String,
    /// The stream's `[stream.camera]` table.
    pub camera: CameraConfig,
    /// The stream's `[stream.encoder]` table. Idle mode is the server's business: the helper
    /// encodes while the server says frames are wanted (`Demand`), whatever `idle` says.
    pub encoder: EncoderConfig,
    /// The stream's `[stream.overlay]`, drawn by the helper's encode workers (after the quarter
    /// turn of `camera.rotation` 90/270, so the text stands upright).
    pub overlay: OverlayConfig,
    /// The controls to set at start: `camera.startup_controls()` with the values set over the
    /// server's API since it started on top. The helper sets these (not `camera.controls` or
    /// the older keys) where the camera has them and warns about the rest.
    #[serde(default)]
    pub controls: ControlValues,
    /// The largest JPEG the server reads in a Frame ([`super::Limits::max_frame_bytes`]): the
    /// helper drops a larger frame (with a warning) instead of breaking the protocol.
    pub max_frame_bytes: usize,
    /// The shared memory for frames the helper inherited (see the protocol's "Shared memory
    /// for frames"); None: none was offered, every frame goes inline in a Frame message.
    #[serde(default)]
    pub shared_frames: Option<ShmLayout>,
}

/// Start settings the helper cannot use: the message names the key (`camera.fps: …`).
#[derive(Debug, thiserror::Error)]
#[error("bad Start settings: {0}")]
pub struct SettingsError(String);

impl HelperSettings {
    /// Parses the Start command's JSON.
    pub fn from_json(json: &str) -> Result<Self, SettingsError> {
        let de = &mut serde_json::Deserializer::from_str(json);
        let settings: Self = serde_path_to_error::deserialize(de).map_err(|e| {
            let path = e.path().to_string();
            SettingsError(format!("{path}: {}", e.into_inner()))
        })?;
        if settings.max_frame_bytes == 0 {
            return Err(SettingsError("max_frame_bytes: must be at least 1".into()));
        }
        Ok(settings)
    }
}

#[cfg(test)]
mod tests;
