//! A camera's controls as the capture run keeps them ([`CameraControls`]): what the camera has
//! (its listing, from libcamera's control map or the synthetic camera's own), the values set so
//! far, and the answers to SetControls and ListControls. Pure code: the libcamera camera and
//! the synthetic one differ only in how they apply a value.
//!
//! Every value is checked before anything is applied: SetControls against the camera's listing
//! (`requests::check_supported`: known, supported, in range), so libcamera never drops one
//! silently; the start-up values one by one, each the camera lacks or cannot take being a
//! warning (the camera still starts). The frame rate becomes `FrameDurationLimits` where the
//! camera has it, unless the controls set that themselves.

use streamserver::source::camera::protocol::requests::{
    check_supported, parse_set_controls, ControlInfo, ControlValue, ControlValues, ControlsReply,
};
use tracing::{debug, info, warn};

/// Frame duration in microseconds for `fps` (libcamera's unit for `FrameDurationLimits`).
pub fn frame_duration_us(fps: f64) -> i64 {
    (1_000_000.0 / fps).round() as i64
}

/// `FrameDurationLimits` for a fixed rate of `fps`.
pub fn fps_limits(fps: f64) -> ControlValues {
    let us = ControlValue::Int(frame_duration_us(fps));
    let mut out = ControlValues::default();
    out.0.insert(
        "FrameDurationLimits".into(),
        ControlValue::List(vec![us.clone(), us]),
    );
    out
}

/// One capture run's controls.
#[derive(Debug, Clone)]
pub struct CameraControls {
    /// For log lines.
    camera: String,
    /// What the camera has (the `current` fields unset).
    infos: Vec<ControlInfo>,
    /// The values set since the run started (start-up values and SetControls), by name.
    applied: ControlValues,
}

impl CameraControls {
    pub fn new(camera: &str, infos: Vec<ControlInfo>) -> Self {
        Self {
            camera: camera.to_string(),
            infos,
            applied: ControlValues::default(),
        }
    }

    /// The start-up values the camera takes, recorded as applied: `defaults` where the camera
    /// has them (quietly), then `wanted` on top, each it lacks or cannot take a warning.
    pub fn startup(&mut self, defaults: &ControlValues, wanted: &ControlValues) -> ControlValues {
        let mut out = ControlValues::default();
        for (values, asked) in [(defaults, false), (wanted, true)] {
            for (name, value) in &values.0 {
                let one = ControlValues([(name.clone(), value.clone())].into());
                match check_supported(&one, &self.infos) {
                    Ok(()) => {
                        out.0.insert(name.clone(), value.clone());
                    }
                    Err(r) if asked => {
                        warn!(camera = %self.camera, control = %name, reason = r.reason.name(), "{}; not set", r.message)
                    }
                    Err(r) => debug!(camera = %self.camera, control = %name, "{r}"),
                }
            }
        }
        self.applied = out.clone();
        out
    }

    /// Answers a SetControls: every value checked first, then all of them recorded; the second
    /// part is what to apply (None: rejected, nothing to apply).
    pub fn set(&mut self, json: &str) -> (ControlsReply, Option<ControlValues>) {
        let values = match parse_set_controls(json)
            .and_then(|v| check_supported(&v, &self.infos).map(|()| v))
        {
            Ok(v) => v,
            Err(rejection) => {
                info!(camera = %self.camera, "controls refused: {rejection}");
                return (ControlsReply::Rejected(rejection), None);
            }
        };
        info!(camera = %self.camera, controls = %values, "controls set");
        self.applied = self.applied.merged(&values.states());
        (ControlsReply::Applied(values.clone()), Some(values))
    }

    /// The listing, each control's `current` the value `reported` for the newest frame, else
    /// the one last set.
    pub fn list(&self, reported: &ControlValues) -> ControlsReply {
        let mut list = self.infos.clone();
        for c in &mut list {
            c.current = reported
                .0
                .get(&c.name)
                .or_else(|| self.applied.0.get(&c.name))
                .cloned();
        }
        ControlsReply::Controls(list)
    }

    /// Replaces what the camera has (its ranges can change with its configuration).
    #[cfg_attr(not(has_libcamera), allow(dead_code))]
    pub fn set_infos(&mut self, infos: Vec<ControlInfo>) {
        self.infos = infos;
    }

    /// The values set since the run started, actions left out (re-applied when the camera is
    /// restarted).
    #[cfg_attr(not(has_libcamera), allow(dead_code))]
    pub fn applied(&self) -> &ControlValues {
        &self.applied
    }
}

#[cfg(test)]
mod tests;
