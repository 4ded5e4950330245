//! The control keys of `[stream.camera]` from before `controls`: `exposure_mode`, `awb_mode`,
//! `brightness`, `contrast`. Each is the control of that name (`AeExposureMode`, `AwbMode`,
//! `Brightness`, `Contrast`); [`CameraConfig::startup_controls`] puts them with `controls`.

use serde::{Deserialize, Serialize};

use super::{CameraConfig, ControlValue, ControlValues};

impl CameraConfig {
    /// The controls to set at start: `controls` and the older keys (`exposure_mode`,
    /// `awb_mode`, `brightness`, `contrast`) as the controls they are.
    pub fn startup_controls(&self) -> ControlValues {
        let mut out = self.controls.clone();
        let text = |s: &str| ControlValue::Text(s.to_string());
        let legacy = [
            ("AeExposureMode", self.exposure_mode.map(|m| text(m.name()))),
            ("AwbMode", self.awb_mode.map(|m| text(m.name()))),
            (
                "Brightness",
                self.brightness.map(|b| ControlValue::Float(f64::from(b))),
            ),
            (
                "Contrast",
                self.contrast.map(|c| ControlValue::Float(f64::from(c))),
            ),
        ];
        for (name, value) in legacy {
            if let Some(v) = value {
                // Every legacy value is in its control's range by construction.
                let _ = out.set(name, &v);
            }
        }
        out
    }

    /// The older control keys that are set: `(key, control name)`.
    pub(super) fn legacy_controls(&self) -> Vec<(&'static str, &'static str)> {
        [
            (
                "exposure_mode",
                "AeExposureMode",
                self.exposure_mode.is_some(),
            ),
            ("awb_mode", "AwbMode", self.awb_mode.is_some()),
            ("brightness", "Brightness", self.brightness.is_some()),
            ("contrast", "Contrast", self.contrast.is_some()),
        ]
        .into_iter()
        .filter(|t| t.2)
        .map(|(k, n, _)| (k, n))
        .collect()
    }
}

/// `exposure_mode`: how the AE algorithm splits exposure between time and gain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExposureMode {
    Normal,
    Short,
    Long,
    Custom,
}

impl ExposureMode {
    /// The name in the file (also the `AeExposureMode` value's name).
    pub fn name(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Short => "short",
            Self::Long => "long",
            Self::Custom => "custom",
        }
    }
}

/// `awb_mode`: the illuminant range the AWB algorithm searches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AwbMode {
    Auto,
    Incandescent,
    Tungsten,
    Fluorescent,
    Indoor,
    Daylight,
    Cloudy,
    Custom,
}

impl AwbMode {
    /// The name in the file (also the `AwbMode` value's name).
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Incandescent => "incandescent",
            Self::Tungsten => "tungsten",
            Self::Fluorescent => "fluorescent",
            Self::Indoor => "indoor",
            Self::Daylight => "daylight",
            Self::Cloudy => "cloudy",
            Self::Custom => "custom",
        }
    }
}
