//! Camera controls: the `[stream.camera]` settings that become libcamera controls.
//!
//! The settings are `streamserver::config::CameraConfig`'s; `apply` (libcamera
//! builds only) puts them into the start-up control list, but only the ones the camera offers:
//! a control the camera lacks (the virtual camera offers none) is a warning, never an error.
//! The frame rate becomes `FrameDurationLimits`; a camera without that control is paced by the
//! capture loop instead (see [`Applied::frame_duration_limits`]).

/// What `apply` managed to set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(not(has_libcamera), allow(dead_code))]
pub struct Applied {
    /// The camera takes `FrameDurationLimits`: it paces frames itself.
    pub frame_duration_limits: bool,
}

/// Frame duration in microseconds for `fps` (libcamera's unit for `FrameDurationLimits`).
#[cfg_attr(not(has_libcamera), allow(dead_code))]
pub fn frame_duration_us(fps: f64) -> i64 {
    (1_000_000.0 / fps).round() as i64
}

#[cfg(has_libcamera)]
pub use with_libcamera::apply;

#[cfg(has_libcamera)]
mod with_libcamera {
    use libcamera::control::{Control, ControlInfoMap, ControlList};
    use libcamera::controls as lc;
    use tracing::{debug, warn};

    use streamserver::config::{AwbMode, CameraConfig, ExposureMode};

    use super::{frame_duration_us, Applied};

    /// Sets `config`'s controls in `list` where `offered` (the camera's control map) has them.
    pub fn apply(
        camera_id: &str,
        config: &CameraConfig,
        offered: &ControlInfoMap,
        list: &mut ControlList,
    ) -> Applied {
        let mut applied = Applied::default();
        let us = frame_duration_us(config.fps);
        applied.frame_duration_limits = set(
            camera_id,
            offered,
            list,
            "FrameDurationLimits",
            lc::FrameDurationLimits([us, us]),
            false,
        );
        if let Some(mode) = config.exposure_mode {
            let v = match mode {
                ExposureMode::Normal => lc::AeExposureMode::ExposureNormal,
                ExposureMode::Short => lc::AeExposureMode::ExposureShort,
                ExposureMode::Long => lc::AeExposureMode::ExposureLong,
                ExposureMode::Custom => lc::AeExposureMode::ExposureCustom,
            };
            set(camera_id, offered, list, "AeExposureMode", v, true);
        }
        if let Some(mode) = config.awb_mode {
            let v = match mode {
                AwbMode::Auto => lc::AwbMode::AwbAuto,
                AwbMode::Incandescent => lc::AwbMode::AwbIncandescent,
                AwbMode::Tungsten => lc::AwbMode::AwbTungsten,
                AwbMode::Fluorescent => lc::AwbMode::AwbFluorescent,
                AwbMode::Indoor => lc::AwbMode::AwbIndoor,
                AwbMode::Daylight => lc::AwbMode::AwbDaylight,
                AwbMode::Cloudy => lc::AwbMode::AwbCloudy,
                AwbMode::Custom => lc::AwbMode::AwbCustom,
            };
            set(camera_id, offered, list, "AwbMode", v, true);
        }
        if let Some(b) = config.brightness {
            set(
                camera_id,
                offered,
                list,
                "Brightness",
                lc::Brightness(b),
                true,
            );
        }
        if let Some(c) = config.contrast {
            set(camera_id, offered, list, "Contrast", lc::Contrast(c), true);
        }
        applied
    }

    /// Sets one control if the camera offers it; `asked` = the user set it (warn when missing).
    fn set<C: Control>(
        camera_id: &str,
        offered: &ControlInfoMap,
        list: &mut ControlList,
        name: &'static str,
        value: C,
        asked: bool,
    ) -> bool {
        if offered.find(C::ID).is_err() {
            if asked {
                warn!(
                    camera = camera_id,
                    control = name,
                    "the camera has no such control; setting ignored"
                );
            } else {
                debug!(
                    camera = camera_id,
                    control = name,
                    "the camera has no such control"
                );
            }
            return false;
        }
        match list.set(value) {
            Ok(()) => true,
            Err(err) => {
                warn!(camera = camera_id, control = name, %err, "cannot set the control; setting ignored");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests;
