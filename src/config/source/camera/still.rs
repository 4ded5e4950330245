//! The still-picture keys of `[stream.camera]`: `still_mode` and the range checks of
//! `still_width`, `still_height` and `still_timeout`.

use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize};

/// Largest still width or height.
pub const MAX_STILL_SIDE: u32 = 16384;
/// Bounds of `still_timeout`.
const TIMEOUT_RANGE: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(300));

/// `still_mode`: how a still is taken while the stream runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StillMode {
    /// `dual` where the camera takes both outputs at the asked sizes, else `switch`.
    #[default]
    Auto,
    /// Two outputs configured at once (the still's and the stream's); the still's buffer is
    /// filled only when a still is asked for. The sensor runs in the mode of the larger one.
    Dual,
    /// Stop, reconfigure for the still, capture it, reconfigure back: the stream pauses
    /// meanwhile (its clients see the last frame).
    Switch,
}

impl StillMode {
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Dual => "dual",
            Self::Switch => "switch",
        }
    }
}

/// `still_width` / `still_height`: 0 (the sensor's full size) or 16..=[`MAX_STILL_SIDE`].
pub(super) fn de_side<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = i64::deserialize(d)?;
    if v == 0 || (16..=i64::from(MAX_STILL_SIDE)).contains(&v) {
        Ok(v as u32)
    } else {
        Err(serde::de::Error::custom(format!(
            "{v} is outside 16..={MAX_STILL_SIDE} (or 0: the sensor's full size)"
        )))
    }
}

pub(super) fn check_timeout(t: Duration) -> Result<(), String> {
    let (lo, hi) = TIMEOUT_RANGE;
    if (lo..=hi).contains(&t) {
        Ok(())
    } else {
        Err(format!("{t:?} is outside {lo:?}..={hi:?}"))
    }
}
