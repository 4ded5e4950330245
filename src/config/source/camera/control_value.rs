//! A control's value as TOML and JSON write it ([`ControlValue`]), and a checked table of them
//! by name ([`ControlValues`]), for `[stream.camera] controls` and the camera protocol.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use super::controls::{control_spec, unknown_control_message};
use super::controls::{MAX_ARRAY_ELEMENTS, MAX_TEXT_VALUE_BYTES};

/// A rectangle in sensor pixels (libcamera's `Rectangle`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rect {
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
}

/// A size (libcamera's `Size`; shown in listings only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SizeValue {
    pub width: u32,
    pub height: u32,
}

/// A point (libcamera's `Point`; shown in listings only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointValue {
    pub x: i32,
    pub y: i32,
}

/// A control value as TOML and JSON write it. Arrays hold scalars or rectangles (no nesting),
/// at most [`MAX_ARRAY_ELEMENTS`]; text is at most [`MAX_TEXT_VALUE_BYTES`] ([`Self::bounded`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ControlValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    /// An enum value's name (or a libcamera string control).
    Text(String),
    /// Before the structs: serde would read `[a, b]` as a `SizeValue`.
    List(Vec<ControlValue>),
    Rect(Rect),
    Size(SizeValue),
    Point(PointValue),
}

impl fmt::Display for ControlValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).unwrap_or_default())
    }
}

impl ControlValue {
    /// Whether the value keeps the bounds of the type doc.
    pub fn bounded(&self) -> bool {
        match self {
            Self::Text(s) => s.len() <= MAX_TEXT_VALUE_BYTES,
            Self::List(items) => {
                items.len() <= MAX_ARRAY_ELEMENTS
                    && items
                        .iter()
                        .all(|v| !matches!(v, Self::List(_)) && v.bounded())
            }
            _ => true,
        }
    }
}

/// Why a value does not fit its control.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueError {
    /// Not the control's type (a string for a float, two numbers for one).
    WrongType(String),
    /// The right type outside what the control can hold (an enum number it does not have).
    OutOfRange(String),
}

impl fmt::Display for ValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongType(m) | Self::OutOfRange(m) => f.write_str(m),
        }
    }
}

/// Checked control values by name, in name order: `[stream.camera] controls`, SetControls, the
/// values applied. Deserializing checks every name against [`CONTROLS`] and every value against
/// its control ([`ControlSpec::check`]); the error names the control (serde's path then ends in
/// it, so a config error names `…controls.AfMode` and its line).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ControlValues(pub BTreeMap<String, ControlValue>);

impl fmt::Display for ControlValues {
    /// As JSON: `{"AfMode":"auto"}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&serde_json::to_string(self).unwrap_or_default())
    }
}

impl ControlValues {
    /// Sets `name` (which must be in [`CONTROLS`]) to `value` (checked), replacing what it had.
    pub fn set(&mut self, name: &str, value: &ControlValue) -> Result<(), ValueError> {
        let spec = control_spec(name)
            .ok_or_else(|| ValueError::WrongType(unknown_control_message(name)))?;
        self.0.insert(spec.name.to_string(), spec.check(value)?);
        Ok(())
    }

    /// These values with `other`'s on top.
    pub fn merged(&self, other: &ControlValues) -> ControlValues {
        let mut out = self.clone();
        out.0
            .extend(other.0.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    /// These values without the actions (`ControlSpec::is_action`): the state to re-apply.
    pub fn states(&self) -> ControlValues {
        let mut out = self.clone();
        out.0
            .retain(|name, _| control_spec(name).is_none_or(|s| !s.is_action()));
        out
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'de> Deserialize<'de> for ControlValues {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ValuesVisitor)
    }
}

struct ValuesVisitor;

impl<'de> Visitor<'de> for ValuesVisitor {
    type Value = ControlValues;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a table of control names and values")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ControlValues, A::Error> {
        let mut out = BTreeMap::new();
        while let Some(name) = map.next_key::<String>()? {
            // The value is checked inside next_value_seed, so an error's path names the control.
            let value = map.next_value_seed(Checked(&name))?;
            out.insert(name, value);
        }
        Ok(ControlValues(out))
    }
}

/// Deserializes one control's value and checks it against the control called `.0`.
struct Checked<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = ControlValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<ControlValue, D::Error> {
        use serde::de::Error;
        let spec = control_spec(self.0);
        let value = ControlValue::deserialize(d)?;
        let spec = spec.ok_or_else(|| D::Error::custom(unknown_control_message(self.0)))?;
        if !value.bounded() {
            return Err(D::Error::custom(format!(
                "{}: value too long (at most {MAX_ARRAY_ELEMENTS} elements, \
                 {MAX_TEXT_VALUE_BYTES} bytes of text)",
                spec.name
            )));
        }
        spec.check(&value)
            .map_err(|e| D::Error::custom(e.to_string()))
    }
}
