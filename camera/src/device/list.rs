//! `streamserver-camera list` (which `streamserver list-cameras` shows): every camera with its
//! index, id, model, the pixel formats and sizes it offers for video, one format per line, and
//! its controls (the ones streamserver can set with their type and range; `*`: read-only):
//!
//! ```text
//! 0: Virtual0 (model "Virtual Video Device")
//!     NV12: 640x480..1280x720; sizes: 640x480 720x480 … 1280x720
//!     controls: FrameDurationLimits (int64[2] 100..1000000)
//! ```
//!
//! The formats come from the camera's default video configuration, so listing does not
//! acquire the camera and works while a stream is using it.

use libcamera::camera_manager::CameraManager;
use libcamera::properties;
use libcamera::stream::StreamRole;

use streamserver::source::camera::protocol::requests::ControlInfo;

use super::controls::listing;
use crate::error::CameraError;

/// The listing, one camera (and its formats) after another.
pub fn text() -> Result<String, CameraError> {
    let manager = CameraManager::new().map_err(CameraError::Manager)?;
    let cameras = manager.cameras();
    let mut text = String::new();
    if cameras.is_empty() {
        text.push_str("no cameras found\n");
    }
    for (index, camera) in cameras.iter().enumerate() {
        let model = camera
            .properties()
            .get::<properties::Model>()
            .map(|m| m.0)
            .unwrap_or_else(|_| "unknown".into());
        text.push_str(&format!("{index}: {} (model {model:?})\n", camera.id()));
        let Some(config) = camera.generate_configuration(&[StreamRole::VideoRecording]) else {
            text.push_str("    (no video configuration)\n");
            continue;
        };
        let Some(stream) = config.get(0) else {
            continue;
        };
        let formats = stream.formats();
        for format in formats.pixel_formats().into_iter() {
            let r = formats.range(format);
            let sizes: Vec<String> = formats
                .sizes(format)
                .iter()
                .map(|s| format!("{}x{}", s.width, s.height))
                .collect();
            let list = format!(
                "{}x{}..{}x{}; sizes: {}",
                r.min.width,
                r.min.height,
                r.max.width,
                r.max.height,
                if sizes.is_empty() {
                    "any in the range".to_string()
                } else {
                    sizes.join(" ")
                }
            );
            text.push_str(&format!("    {format}: {list}\n"));
        }
        let (controls, _) = listing(camera.controls());
        let shown: Vec<String> = controls.iter().map(describe).collect();
        text.push_str(&format!(
            "    controls: {}\n",
            match shown.is_empty() {
                true => "none".to_string(),
                false => shown.join(", "),
            }
        ));
    }
    Ok(text)
}

/// `Brightness (float -1..1)`, `AfMode (enum manual|auto|continuous)`, `Lux* (float)`.
fn describe(c: &ControlInfo) -> String {
    let ro = if c.settable { "" } else { "*" };
    let range = if !c.values.is_empty() {
        let names: Vec<&str> = c.values.iter().map(|v| v.name.as_str()).collect();
        format!(" {}", names.join("|"))
    } else {
        match (&c.min, &c.max) {
            (Some(lo), Some(hi)) => format!(" {lo}..{hi}"),
            _ => String::new(),
        }
    };
    format!("{}{ro} ({}{range})", c.name, c.kind)
}
