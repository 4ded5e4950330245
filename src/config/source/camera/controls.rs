//! Camera controls by libcamera's names: the ones streamserver can set ([`CONTROLS`]) and the
//! value each takes ([`ControlKind`], [`ControlSpec::check`]; values are `control_value`'s).
//!
//! Used by `[stream.camera] controls = { AfMode = "continuous", LensPosition = 2.0 }` (a name
//! not listed here, or a value of the wrong type, is a config error naming the key), by the
//! camera protocol's SetControls (the same names and values over the wire) and by the camera
//! helper, which turns a checked value into libcamera's. Whether a camera has a control, and
//! its range, only the camera knows: that is checked by the helper against the camera's control
//! map, not here.
//!
//! A checked value is canonical ([`ControlSpec::check`]): an enum by its short name
//! (`"continuous"`), a float as a float (an integer is accepted), an integer as an integer (an
//! integral float is accepted), arrays with their exact length, a rectangle as
//! `{ x, y, width, height }`. Enum values are accepted by short name or libcamera's enumerator
//! name, case-insensitively and ignoring `-`/`_` (`"Continuous"`, `"AfModeContinuous"`), or by
//! number.

use super::control_value::{ControlValue, ValueError};

/// Longest control name accepted anywhere.
pub const MAX_CONTROL_NAME_BYTES: usize = 64;
/// Longest text value (an enum name, or a libcamera string control shown in a listing).
pub const MAX_TEXT_VALUE_BYTES: usize = 64;
/// Most elements of an array value (libcamera's ColourCorrectionMatrix has 9).
pub const MAX_ARRAY_ELEMENTS: usize = 16;

/// The type of a control's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ControlKind {
    Bool,
    Int32,
    Int64,
    Float,
    /// An int32 whose values have names: `(short name, libcamera's enumerator)` for 0, 1, 2, …
    Enum(&'static [(&'static str, &'static str)]),
    /// Exactly this many floats.
    FloatArray(usize),
    /// Exactly this many int64s.
    Int64Array(usize),
    Rectangle,
}

/// One control streamserver can set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ControlSpec {
    /// libcamera's name.
    pub name: &'static str,
    pub kind: ControlKind,
}

const fn spec(name: &'static str, kind: ControlKind) -> ControlSpec {
    ControlSpec { name, kind }
}

use ControlKind::{Bool, Enum, Float, FloatArray, Int32, Int64Array, Rectangle};

/// The controls streamserver can set, with libcamera's names and types (libcamera's
/// `control_ids_core.yaml`). `AeEnable` is libcamera 0.4's; 0.5 added `ExposureTimeMode` and
/// `AnalogueGainMode`: a camera lists the ones its libcamera has.
#[rustfmt::skip]
pub const CONTROLS: &[ControlSpec] = &[
    spec("AeEnable", Bool),
    spec("ExposureTimeMode", Enum(&[("auto", "ExposureTimeModeAuto"), ("manual", "ExposureTimeModeManual")])),
    spec("AnalogueGainMode", Enum(&[("auto", "AnalogueGainModeAuto"), ("manual", "AnalogueGainModeManual")])),
    spec("AeMeteringMode", Enum(&[("centre-weighted", "MeteringCentreWeighted"), ("spot", "MeteringSpot"), ("matrix", "MeteringMatrix"), ("custom", "MeteringCustom")])),
    spec("AeConstraintMode", Enum(&[("normal", "ConstraintNormal"), ("highlight", "ConstraintHighlight"), ("shadows", "ConstraintShadows"), ("custom", "ConstraintCustom")])),
    spec("AeExposureMode", Enum(&[("normal", "ExposureNormal"), ("short", "ExposureShort"), ("long", "ExposureLong"), ("custom", "ExposureCustom")])),
    spec("AeFlickerMode", Enum(&[("off", "FlickerOff"), ("manual", "FlickerManual"), ("auto", "FlickerAuto")])),
    spec("ExposureValue", Float),
    // Microseconds.
    spec("ExposureTime", Int32),
    spec("AnalogueGain", Float),
    spec("Brightness", Float),
    spec("Contrast", Float),
    spec("Saturation", Float),
    spec("Sharpness", Float),
    spec("AwbEnable", Bool),
    spec("AwbMode", Enum(&[("auto", "AwbAuto"), ("incandescent", "AwbIncandescent"), ("tungsten", "AwbTungsten"), ("fluorescent", "AwbFluorescent"), ("indoor", "AwbIndoor"), ("daylight", "AwbDaylight"), ("cloudy", "AwbCloudy"), ("custom", "AwbCustom")])),
    // Red and blue gains.
    spec("ColourGains", FloatArray(2)),
    // Sensor pixels: digital zoom.
    spec("ScalerCrop", Rectangle),
    // Shortest and longest frame duration, microseconds.
    spec("FrameDurationLimits", Int64Array(2)),
    spec("AfMode", Enum(&[("manual", "AfModeManual"), ("auto", "AfModeAuto"), ("continuous", "AfModeContinuous")])),
    spec("AfRange", Enum(&[("normal", "AfRangeNormal"), ("macro", "AfRangeMacro"), ("full", "AfRangeFull")])),
    spec("AfSpeed", Enum(&[("normal", "AfSpeedNormal"), ("fast", "AfSpeedFast")])),
    spec("AfMetering", Enum(&[("auto", "AfMeteringAuto"), ("windows", "AfMeteringWindows")])),
    spec("AfTrigger", Enum(&[("start", "AfTriggerStart"), ("cancel", "AfTriggerCancel")])),
    spec("AfPause", Enum(&[("immediate", "AfPauseImmediate"), ("deferred", "AfPauseDeferred"), ("resume", "AfPauseResume")])),
    // Dioptres (1 / distance in metres); 0 = infinity.
    spec("LensPosition", Float),
];

/// The control called `name` (libcamera's exact spelling).
pub fn control_spec(name: &str) -> Option<&'static ControlSpec> {
    CONTROLS.iter().find(|c| c.name == name)
}

impl ControlKind {
    /// How the type reads in messages and listings: `float`, `int64[2]`, `enum`, …
    pub fn type_name(self) -> String {
        match self {
            Bool => "bool".into(),
            Int32 => "int32".into(),
            ControlKind::Int64 => "int64".into(),
            Float => "float".into(),
            Enum(_) => "enum".into(),
            FloatArray(n) => format!("float[{n}]"),
            Int64Array(n) => format!("int64[{n}]"),
            Rectangle => "rectangle".into(),
        }
    }
}

impl ControlSpec {
    /// `value` in canonical form (see the module doc), or why it does not fit.
    pub fn check(&self, value: &ControlValue) -> Result<ControlValue, ValueError> {
        let wrong = || {
            ValueError::WrongType(format!(
                "{} takes {}, not {value}",
                self.name,
                self.expects()
            ))
        };
        let out = match (self.kind, value) {
            (Bool, ControlValue::Bool(_)) => value.clone(),
            (Int32, v) => {
                let n = integer(v).ok_or_else(wrong)?;
                if i32::try_from(n).is_err() {
                    return Err(ValueError::OutOfRange(format!(
                        "{}: {n} does not fit an int32",
                        self.name
                    )));
                }
                ControlValue::Int(n)
            }
            (ControlKind::Int64, v) => ControlValue::Int(integer(v).ok_or_else(wrong)?),
            (Float, v) => ControlValue::Float(float(v).ok_or_else(wrong)?),
            (Enum(names), v) => ControlValue::Text(self.enum_name(names, v)?.to_string()),
            (FloatArray(n), ControlValue::List(items)) if items.len() == n => {
                let floats: Option<Vec<_>> = items.iter().map(float).collect();
                let floats = floats.ok_or_else(wrong)?;
                ControlValue::List(floats.into_iter().map(ControlValue::Float).collect())
            }
            (Int64Array(n), ControlValue::List(items)) if items.len() == n => {
                let ints: Option<Vec<_>> = items.iter().map(integer).collect();
                ControlValue::List(
                    ints.ok_or_else(wrong)?
                        .into_iter()
                        .map(ControlValue::Int)
                        .collect(),
                )
            }
            (Rectangle, ControlValue::Rect(_)) => value.clone(),
            _ => return Err(wrong()),
        };
        Ok(out)
    }

    /// An action rather than a state (`AfTrigger`: start or cancel a focus scan): applied once,
    /// never re-applied when a camera restarts.
    pub fn is_action(&self) -> bool {
        self.name == "AfTrigger"
    }

    /// What the control takes, for messages.
    pub fn expects(&self) -> String {
        match self.kind {
            Enum(names) => {
                let names: Vec<&str> = names.iter().map(|n| n.0).collect();
                format!("one of {} (or its number)", names.join(", "))
            }
            Rectangle => "a rectangle { x, y, width, height }".into(),
            FloatArray(n) => format!("{n} numbers"),
            Int64Array(n) => format!("{n} integers"),
            Float => "a number".into(),
            Int32 | ControlKind::Int64 => "an integer".into(),
            Bool => "true or false".into(),
        }
    }

    /// The short name of an enum value given by name or number.
    fn enum_name(
        &self,
        names: &'static [(&'static str, &'static str)],
        v: &ControlValue,
    ) -> Result<&'static str, ValueError> {
        match v {
            ControlValue::Text(s) => {
                let wanted = fold(s);
                names
                    .iter()
                    .find(|(short, full)| fold(short) == wanted || fold(full) == wanted)
                    .map(|n| n.0)
                    .ok_or_else(|| {
                        ValueError::OutOfRange(format!(
                            "{}: no value {s:?} ({})",
                            self.name,
                            self.expects()
                        ))
                    })
            }
            ControlValue::Int(n) => usize::try_from(*n)
                .ok()
                .and_then(|i| names.get(i))
                .map(|n| n.0)
                .ok_or_else(|| {
                    ValueError::OutOfRange(format!(
                        "{}: no value {n} ({})",
                        self.name,
                        self.expects()
                    ))
                }),
            _ => Err(ValueError::WrongType(format!(
                "{} takes {}, not {v}",
                self.name,
                self.expects()
            ))),
        }
    }

    /// The number of a canonical enum name (None: not an enum, or no such name).
    pub fn enum_number(&self, name: &str) -> Option<i32> {
        match self.kind {
            Enum(names) => names.iter().position(|n| n.0 == name).map(|i| i as i32),
            _ => None,
        }
    }

    /// The short name of enum number `n` (None: not an enum, or no such number).
    pub fn enum_short_name(&self, n: i64) -> Option<&'static str> {
        match self.kind {
            Enum(names) => usize::try_from(n)
                .ok()
                .and_then(|i| names.get(i))
                .map(|n| n.0),
            _ => None,
        }
    }
}

/// Lowercase without `-`, `_` and spaces: how enum names compare.
fn fold(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .flat_map(char::to_lowercase)
        .collect()
}

fn integer(v: &ControlValue) -> Option<i64> {
    match *v {
        ControlValue::Int(n) => Some(n),
        ControlValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Some(f as i64),
        _ => None,
    }
}

fn float(v: &ControlValue) -> Option<f64> {
    match *v {
        ControlValue::Int(n) => Some(n as f64),
        ControlValue::Float(f) if f.is_finite() => Some(f),
        _ => None,
    }
}

/// "unknown control `Foo`", with the right spelling when only the case differs.
pub fn unknown_control_message(name: &str) -> String {
    let shown: String = name.chars().take(MAX_CONTROL_NAME_BYTES).collect();
    match CONTROLS.iter().find(|c| c.name.eq_ignore_ascii_case(name)) {
        Some(c) => format!("unknown control `{shown}` (did you mean `{}`?)", c.name),
        None => format!(
            "unknown control `{shown}`; streamserver sets: {}",
            CONTROLS
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

#[cfg(test)]
mod tests;
