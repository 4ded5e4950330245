//! Between libcamera's controls and the protocol's: the camera's control map as a listing
//! ([`listing`]), checked values as a libcamera control list ([`to_control_list`]), and a
//! completed request's metadata as the values the camera reports ([`reported`]).
//!
//! A control is settable when streamserver knows its name (`requests::CONTROLS`) and libcamera
//! gives it the type streamserver expects; every other control of the map is listed with
//! libcamera's type and values, read-only. Values are shown in canonical form: an enum's
//! number by its short name, a float as the shortest decimal that reads back as the same f32.

use std::collections::HashMap;

use libcamera::control::{ControlInfo as LcInfo, ControlInfoMap, ControlList};
use libcamera::control_value::{ControlType, ControlValue as Lc};
use libcamera::controls::ControlId;
use libcamera::geometry::Rectangle;
use streamserver::config::{ControlKind, PointValue, SizeValue, MAX_ARRAY_ELEMENTS};
use streamserver::source::camera::protocol::requests::{
    control_spec, ControlInfo, ControlSpec, ControlValue, ControlValues, EnumValue, Rect,
    MAX_ENUM_VALUES, MAX_LISTED_CONTROLS,
};
use tracing::warn;

/// The camera's controls, by libcamera id, with names for the ones streamserver sets.
pub struct Ids {
    by_name: HashMap<String, u32>,
    by_id: HashMap<u32, String>,
}

impl Ids {
    pub fn id(&self, name: &str) -> Option<u32> {
        self.by_name.get(name).copied()
    }
}

/// libcamera's name of control `id` (`"0x…"` for one this build has no name for).
fn name_of(id: u32) -> String {
    ControlId::from_id(id).map_or_else(|| format!("{id:#x}"), |c| c.name())
}

/// Whether libcamera's type for a control fits the kind streamserver expects.
fn fits(spec: &ControlSpec, id: ControlId) -> bool {
    let (ty, array) = (id.control_type(), id.is_array());
    match (spec.kind, ty) {
        (ControlKind::Bool, ControlType::Bool) => !array,
        (ControlKind::Int32 | ControlKind::Enum(_), ControlType::Int32) => !array,
        (ControlKind::Int64, ControlType::Int64) => !array,
        (ControlKind::Float, ControlType::Float) => !array,
        (ControlKind::FloatArray(_), ControlType::Float) => array,
        (ControlKind::Int64Array(_), ControlType::Int64) => array,
        (ControlKind::Rectangle, ControlType::Rectangle) => !array,
        _ => false,
    }
}

/// libcamera's type name of control `id` (`int32`, `float[]`, …).
fn type_name(id: ControlId) -> String {
    let base = match id.control_type() {
        ControlType::None => "none",
        ControlType::Bool => "bool",
        ControlType::Byte => "byte",
        ControlType::Uint16 => "uint16",
        ControlType::Uint32 => "uint32",
        ControlType::Int32 => "int32",
        ControlType::Int64 => "int64",
        ControlType::Float => "float",
        ControlType::String => "string",
        ControlType::Rectangle => "rectangle",
        ControlType::Size => "size",
        ControlType::Point => "point",
    };
    match id.is_array() {
        true => format!("{base}[]"),
        false => base.to_string(),
    }
}

/// Every control of `map`, in libcamera's id order, and their ids by name.
pub fn listing(map: &ControlInfoMap) -> (Vec<ControlInfo>, Ids) {
    let mut entries: Vec<(u32, &LcInfo)> = map.into_iter().collect();
    entries.sort_by_key(|e| e.0);
    if entries.len() > MAX_LISTED_CONTROLS {
        warn!(
            controls = entries.len(),
            "the camera has more controls than a listing holds; the rest are left out"
        );
        entries.truncate(MAX_LISTED_CONTROLS);
    }
    let mut ids = Ids {
        by_name: HashMap::new(),
        by_id: HashMap::new(),
    };
    let list = entries
        .into_iter()
        .map(|(id, info)| {
            let name = name_of(id);
            let known = ControlId::from_id(id);
            let spec = control_spec(&name).filter(|s| known.is_some_and(|k| fits(s, k)));
            ids.by_name.insert(name.clone(), id);
            ids.by_id.insert(id, name.clone());
            let kind = match (spec, known) {
                (Some(s), _) => s.kind.type_name(),
                (None, Some(k)) => type_name(k),
                (None, None) => "unknown".into(),
            };
            let canon = |v: Lc| to_value(&v).map(|v| canonical(spec, v));
            let mut values = Vec::new();
            if let Some(
                spec @ ControlSpec {
                    kind: ControlKind::Enum(_),
                    ..
                },
            ) = spec
            {
                values = enum_values(spec, info);
            }
            ControlInfo {
                id,
                name,
                kind,
                settable: spec.is_some(),
                min: canon(info.min()),
                max: canon(info.max()),
                default: canon(info.def()),
                current: None,
                values,
            }
        })
        .collect();
    (list, ids)
}

/// An enum control's values: the ones the camera lists, else its range.
fn enum_values(spec: &ControlSpec, info: &LcInfo) -> Vec<EnumValue> {
    let mut numbers: Vec<i32> = info
        .values()
        .into_iter()
        .filter_map(|v| i32::try_from(v).ok())
        .collect();
    if numbers.is_empty() {
        if let (Ok(lo), Ok(hi)) = (i32::try_from(info.min()), i32::try_from(info.max())) {
            numbers = (lo..=hi).take(MAX_ENUM_VALUES).collect();
        }
    }
    numbers.truncate(MAX_ENUM_VALUES);
    numbers
        .into_iter()
        .map(|n| EnumValue {
            name: spec
                .enum_short_name(i64::from(n))
                .map_or_else(|| n.to_string(), str::to_string),
            value: n,
        })
        .collect()
}

/// An enum's number as its short name (other values as they are).
fn canonical(spec: Option<&ControlSpec>, v: ControlValue) -> ControlValue {
    match (spec, &v) {
        (Some(s), ControlValue::Int(n)) => s
            .enum_short_name(*n)
            .map_or(v.clone(), |name| ControlValue::Text(name.into())),
        _ => v,
    }
}

/// A libcamera value as the protocol's (None: no value, or too many elements to show).
pub fn to_value(v: &Lc) -> Option<ControlValue> {
    fn f(x: f32) -> ControlValue {
        // The shortest decimal of the f32, not the f64 widening's long tail.
        ControlValue::Float(x.to_string().parse().unwrap_or(f64::from(x)))
    }
    let items: Vec<ControlValue> = match v {
        Lc::None => return None,
        Lc::Bool(v) => v.iter().map(|&b| ControlValue::Bool(b)).collect(),
        Lc::Byte(v) => v.iter().map(|&n| ControlValue::Int(n.into())).collect(),
        Lc::Uint16(v) => v.iter().map(|&n| ControlValue::Int(n.into())).collect(),
        Lc::Uint32(v) => v.iter().map(|&n| ControlValue::Int(n.into())).collect(),
        Lc::Int32(v) => v.iter().map(|&n| ControlValue::Int(n.into())).collect(),
        Lc::Int64(v) => v.iter().map(|&n| ControlValue::Int(n)).collect(),
        Lc::Float(v) => v.iter().map(|&x| f(x)).collect(),
        Lc::String(v) => vec![ControlValue::Text(v.join(","))],
        Lc::Rectangle(v) => v.iter().map(|r| ControlValue::Rect(rect(r))).collect(),
        Lc::Size(v) => v
            .iter()
            .map(|s| {
                ControlValue::Size(SizeValue {
                    width: s.width,
                    height: s.height,
                })
            })
            .collect(),
        Lc::Point(v) => v
            .iter()
            .map(|p| ControlValue::Point(PointValue { x: p.x, y: p.y }))
            .collect(),
    };
    let value = match items.len() {
        0 => return None,
        1 => items.into_iter().next()?,
        n if n <= MAX_ARRAY_ELEMENTS => ControlValue::List(items),
        _ => return None,
    };
    value.bounded().then_some(value)
}

fn rect(r: &Rectangle) -> Rect {
    Rect {
        x: r.x,
        y: r.y,
        width: r.width,
        height: r.height,
    }
}

/// A checked value (canonical, of a control in [`requests::CONTROLS`]) as libcamera's.
fn to_libcamera(spec: &ControlSpec, v: &ControlValue) -> Option<Lc> {
    let list = |v: &ControlValue| match v {
        ControlValue::List(items) => Some(items.clone()),
        _ => None,
    };
    Some(match (spec.kind, v) {
        (ControlKind::Bool, ControlValue::Bool(b)) => Lc::from(*b),
        (ControlKind::Int32, ControlValue::Int(n)) => Lc::from(i32::try_from(*n).ok()?),
        (ControlKind::Int64, ControlValue::Int(n)) => Lc::from(*n),
        (ControlKind::Float, ControlValue::Float(x)) => Lc::from(*x as f32),
        (ControlKind::Enum(_), ControlValue::Text(name)) => Lc::from(spec.enum_number(name)?),
        (ControlKind::FloatArray(_), v) => {
            let floats: Option<Vec<f32>> = list(v)?
                .iter()
                .map(|x| match x {
                    ControlValue::Float(x) => Some(*x as f32),
                    _ => None,
                })
                .collect();
            Lc::from(floats?)
        }
        (ControlKind::Int64Array(_), v) => {
            let ints: Option<Vec<i64>> = list(v)?
                .iter()
                .map(|x| match x {
                    ControlValue::Int(n) => Some(*n),
                    _ => None,
                })
                .collect();
            Lc::from(ints?)
        }
        (ControlKind::Rectangle, ControlValue::Rect(r)) => Lc::from(Rectangle {
            x: r.x,
            y: r.y,
            width: r.width,
            height: r.height,
        }),
        _ => return None,
    })
}

/// Sets checked `values` into `list` (a request's controls, or the start-up list).
pub fn to_control_list(ids: &Ids, values: &ControlValues, list: &mut ControlList) {
    for (name, value) in &values.0 {
        let converted = control_spec(name).and_then(|s| to_libcamera(s, value));
        match (ids.id(name), converted) {
            (Some(id), Some(v)) => {
                if let Err(err) = list.set_raw(id, v) {
                    warn!(control = %name, %err, "cannot set the control");
                }
            }
            _ => {
                warn!(control = %name, value = %value, "cannot express the value for libcamera; not set")
            }
        }
    }
}

/// The values of the camera's controls a completed request's `metadata` reports.
pub fn reported(ids: &Ids, metadata: &ControlList) -> ControlValues {
    let mut out = ControlValues::default();
    for (id, v) in metadata {
        let Some(name) = ids.by_id.get(&id) else {
            continue;
        };
        if let Some(value) = to_value(&v) {
            out.0
                .insert(name.clone(), canonical(control_spec(name), value));
        }
    }
    out
}
