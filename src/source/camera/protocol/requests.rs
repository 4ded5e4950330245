//! The JSON of the request messages (SetControls and ControlsReply; the schema is documented
//! in the parent module) and the checks both ends make on it: the helper parses a SetControls
//! ([`parse_set_controls`]) and checks it against its camera's controls
//! ([`check_supported`]) before applying anything; the server parses a ControlsReply
//! ([`ControlsReply::from_json`]), refusing one that breaks a bound.
//!
//! Names, value types and canonical values are the config's ([`CONTROLS`],
//! [`ControlSpec::check`]): a control is set by the same name and value over the wire as in
//! `[stream.camera] controls`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::config::{
    control_spec, ControlSpec, ControlValue, ControlValues, Rect, ValueError, CONTROLS,
    MAX_CONTROL_NAME_BYTES,
};

/// Most controls one listing may hold.
pub const MAX_LISTED_CONTROLS: usize = 256;
/// Most enum values one control may list.
pub const MAX_ENUM_VALUES: usize = 64;
/// Longest type name in a listing (`int64[2]`, `rectangle`, …).
pub const MAX_TYPE_BYTES: usize = 32;
/// Longest message of a rejection.
pub const MAX_REJECTION_BYTES: usize = 1024;

/// One control a camera has, as ListControls reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlInfo {
    /// libcamera's numeric id (the synthetic camera uses libcamera 0.4's ids).
    pub id: u32,
    /// libcamera's name.
    pub name: String,
    /// The value's type: `bool`, `int32`, `int64`, `float`, `enum`, `rectangle`, `float[2]`,
    /// `int64[2]` for the controls streamserver sets; libcamera's type names (`size`, `point`,
    /// `string`, `byte`, …, with `[]` for an array) for the others.
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether SetControls takes it (it is one of [`CONTROLS`] with the type listed there).
    pub settable: bool,
    /// The camera's bounds and default, in the control's canonical form (an enum by name; an
    /// array control's bounds apply to each element). Absent when the camera gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<ControlValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<ControlValue>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<ControlValue>,
    /// The value in effect: what the camera reported for its newest frame, else the value last
    /// set, else absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<ControlValue>,
    /// An enum's values the camera accepts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<EnumValue>,
}

/// One value of an enum control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnumValue {
    /// The short name (`continuous`); libcamera's number when streamserver has no name for it.
    pub name: String,
    pub value: i32,
}

/// Why a SetControls was refused (nothing of it was applied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// No control of that name is known to streamserver.
    Unknown,
    /// A known control this camera does not have (libcamera would drop it silently).
    Unsupported,
    /// The right type, outside the camera's range (or not one of its enum values).
    OutOfRange,
    /// Not the control's type.
    WrongType,
}

impl RejectReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Unknown => "unknown control",
            Self::Unsupported => "not supported by this camera",
            Self::OutOfRange => "out of range",
            Self::WrongType => "wrong type",
        }
    }
}

/// A refused SetControls: the first control that could not be set, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[serde(deny_unknown_fields)]
#[error("{control}: {}: {message}", reason.name())]
pub struct Rejection {
    pub control: String,
    pub reason: RejectReason,
    pub message: String,
}

impl Rejection {
    pub fn new(control: &str, reason: RejectReason, message: impl Into<String>) -> Self {
        Self {
            control: cut(control, MAX_CONTROL_NAME_BYTES),
            reason,
            message: cut(&message.into(), MAX_REJECTION_BYTES),
        }
    }

    fn from_value_error(control: &str, e: ValueError) -> Self {
        match e {
            ValueError::WrongType(m) => Self::new(control, RejectReason::WrongType, m),
            ValueError::OutOfRange(m) => Self::new(control, RejectReason::OutOfRange, m),
        }
    }
}

/// The JSON of a ControlsReply: exactly one of the three keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ControlsReply {
    /// The answer to ListControls: every control the camera has.
    Controls(Vec<ControlInfo>),
    /// The answer to SetControls: the values that will be applied from the next request on,
    /// in canonical form.
    Applied(ControlValues),
    /// The answer to SetControls when a value cannot be set: nothing of it is applied.
    Rejected(Rejection),
}

impl ControlsReply {
    /// Parses a ControlsReply's JSON and checks its bounds.
    pub fn from_json(json: &str) -> Result<Self, String> {
        let reply: Self = serde_json::from_str(json).map_err(|e| e.to_string())?;
        reply.check_bounds()?;
        Ok(reply)
    }

    /// Whether every field keeps its bound (what a writer must check before sending).
    pub fn check_bounds(&self) -> Result<(), String> {
        let value_ok = |v: &Option<ControlValue>| v.as_ref().is_none_or(ControlValue::bounded);
        match self {
            Self::Controls(list) => {
                if list.len() > MAX_LISTED_CONTROLS {
                    return Err(format!(
                        "{} controls, over {MAX_LISTED_CONTROLS}",
                        list.len()
                    ));
                }
                for c in list {
                    let ok = c.name.len() <= MAX_CONTROL_NAME_BYTES
                        && c.kind.len() <= MAX_TYPE_BYTES
                        && c.values.len() <= MAX_ENUM_VALUES
                        && c.values
                            .iter()
                            .all(|v| v.name.len() <= MAX_CONTROL_NAME_BYTES)
                        && [&c.min, &c.max, &c.default, &c.current]
                            .into_iter()
                            .all(value_ok);
                    if !ok {
                        return Err(format!("control {:?} breaks a bound", cut(&c.name, 64)));
                    }
                }
                Ok(())
            }
            Self::Applied(values) => values
                .0
                .values()
                .all(ControlValue::bounded)
                .then_some(())
                .ok_or_else(|| "an applied value breaks a bound".into()),
            Self::Rejected(r) => (r.control.len() <= MAX_CONTROL_NAME_BYTES
                && r.message.len() <= MAX_REJECTION_BYTES)
                .then_some(())
                .ok_or_else(|| "the rejection breaks a bound".into()),
        }
    }
}

/// SetControls' JSON (an object of name → value) as checked, canonical values; else the
/// rejection of the first control (in name order) with an unknown name or a value of the wrong
/// type (or an enum name the control does not have).
pub fn parse_set_controls(json: &str) -> Result<ControlValues, Rejection> {
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(json).map_err(|e| {
        Rejection::new(
            "",
            RejectReason::WrongType,
            format!("not an object of controls: {e}"),
        )
    })?;
    check_names_and_types(raw)
}

/// [`parse_set_controls`] of values already parsed (the server's API takes a JSON object).
pub fn check_names_and_types(
    raw: BTreeMap<String, serde_json::Value>,
) -> Result<ControlValues, Rejection> {
    let mut out = ControlValues::default();
    for (name, json) in raw {
        let Some(spec) = control_spec(&name) else {
            let message = crate::config::unknown_control_message(&name);
            return Err(Rejection::new(&name, RejectReason::Unknown, message));
        };
        let value: ControlValue = serde_json::from_value(json.clone()).map_err(|_| {
            Rejection::new(
                &name,
                RejectReason::WrongType,
                format!(
                    "{name} takes {}, not {}",
                    spec.expects(),
                    cut(&json.to_string(), 80)
                ),
            )
        })?;
        if !value.bounded() {
            return Err(Rejection::new(
                &name,
                RejectReason::WrongType,
                "value too long",
            ));
        }
        let value = spec
            .check(&value)
            .map_err(|e| Rejection::from_value_error(&name, e))?;
        out.0.insert(name, value);
    }
    Ok(out)
}

/// Checks canonical `values` against a camera's `controls`: each must be listed there,
/// settable, and within the listed range (or one of its enum values).
pub fn check_supported(values: &ControlValues, controls: &[ControlInfo]) -> Result<(), Rejection> {
    for (name, value) in &values.0 {
        let Some(info) = controls.iter().find(|c| &c.name == name && c.settable) else {
            let message = format!("this camera has no {name} control (libcamera would ignore it)");
            return Err(Rejection::new(name, RejectReason::Unsupported, message));
        };
        check_range(info, value)
            .map_err(|m| Rejection::new(name, RejectReason::OutOfRange, format!("{name}: {m}")))?;
    }
    Ok(())
}

/// Whether `value` (canonical) lies within `info`'s range; the message says what does not.
fn check_range(info: &ControlInfo, value: &ControlValue) -> Result<(), String> {
    if !info.values.is_empty() {
        if let ControlValue::Text(name) = value {
            return match info.values.iter().any(|v| &v.name == name) {
                true => Ok(()),
                false => Err(format!(
                    "{name:?} is not one of this camera's values ({})",
                    info.values
                        .iter()
                        .map(|v| v.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )),
            };
        }
    }
    match value {
        ControlValue::List(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| within(info, v, Some(i))),
        v => within(info, v, None),
    }
}

/// One scalar or rectangle against `info`'s bounds (element `index` of list bounds).
fn within(info: &ControlInfo, v: &ControlValue, index: Option<usize>) -> Result<(), String> {
    let bound = |b: &Option<ControlValue>| match (b, index) {
        (Some(ControlValue::List(items)), Some(i)) => items.get(i).cloned(),
        (Some(b), _) => Some(b.clone()),
        (None, _) => None,
    };
    let (min, max) = (bound(&info.min), bound(&info.max));
    match v {
        ControlValue::Rect(r) => {
            if let Some(ControlValue::Rect(lo)) = min {
                if r.width < lo.width || r.height < lo.height {
                    return Err(format!("{v} is smaller than {}", ControlValue::Rect(lo)));
                }
            }
            if let Some(ControlValue::Rect(hi)) = max {
                let inside = r.x >= hi.x
                    && r.y >= hi.y
                    && i64::from(r.x) + i64::from(r.width) <= i64::from(hi.x) + i64::from(hi.width)
                    && i64::from(r.y) + i64::from(r.height)
                        <= i64::from(hi.y) + i64::from(hi.height);
                if !inside {
                    return Err(format!("{v} is not inside {}", ControlValue::Rect(hi)));
                }
            }
            Ok(())
        }
        v => {
            let Some(x) = number(v) else { return Ok(()) };
            let shown = |b: &ControlValue| b.to_string();
            if let Some(lo) = min.as_ref().filter(|b| number(b).is_some_and(|lo| x < lo)) {
                return Err(format!("{v} is below the minimum {}", shown(lo)));
            }
            if let Some(hi) = max.as_ref().filter(|b| number(b).is_some_and(|hi| x > hi)) {
                return Err(format!("{v} is above the maximum {}", shown(hi)));
            }
            Ok(())
        }
    }
}

fn number(v: &ControlValue) -> Option<f64> {
    match *v {
        ControlValue::Int(n) => Some(n as f64),
        ControlValue::Float(f) => Some(f),
        _ => None,
    }
}

/// `s` cut to at most `max` bytes at a character boundary.
fn cut(s: &str, max: usize) -> String {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

#[cfg(test)]
mod tests;
