//! Unit tests of the control catalogue: canonical values, enum names, errors.

use super::*;
use crate::config::{ControlValues, Rect};

fn check(name: &str, json: &str) -> Result<ControlValue, ValueError> {
    let value: ControlValue = serde_json::from_str(json).unwrap();
    control_spec(name).expect(name).check(&value)
}

#[test]
fn the_issue_s_controls_are_all_known() {
    for name in [
        "AfMode",
        "AfRange",
        "AfSpeed",
        "AfTrigger",
        "LensPosition",
        "ExposureTime",
        "AnalogueGain",
        "AeEnable",
        "ExposureTimeMode",
        "AnalogueGainMode",
        "AeExposureMode",
        "AeMeteringMode",
        "ExposureValue",
        "AwbEnable",
        "AwbMode",
        "ColourGains",
        "Brightness",
        "Contrast",
        "Saturation",
        "Sharpness",
        "ScalerCrop",
        "FrameDurationLimits",
    ] {
        assert!(control_spec(name).is_some(), "{name}");
    }
    let mut names: Vec<_> = CONTROLS.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), CONTROLS.len(), "no control twice");
}

#[test]
fn enum_values_by_short_name_libcamera_name_or_number_become_the_short_name() {
    let cont = Ok(ControlValue::Text("continuous".into()));
    assert_eq!(check("AfMode", "\"continuous\""), cont);
    assert_eq!(check("AfMode", "\"Continuous\""), cont);
    assert_eq!(check("AfMode", "\"AfModeContinuous\""), cont);
    assert_eq!(check("AfMode", "2"), cont);
    assert_eq!(
        check("AeMeteringMode", "\"CENTRE_WEIGHTED\""),
        Ok(ControlValue::Text("centre-weighted".into()))
    );
    assert!(matches!(
        check("AfMode", "\"sharp\""),
        Err(ValueError::OutOfRange(m)) if m.contains("manual, auto, continuous")
    ));
    assert!(matches!(
        check("AfMode", "3"),
        Err(ValueError::OutOfRange(_))
    ));
    assert!(matches!(
        check("AfMode", "1.5"),
        Err(ValueError::WrongType(_))
    ));
    let spec = control_spec("AfMode").unwrap();
    assert_eq!(spec.enum_number("continuous"), Some(2));
    assert_eq!(spec.enum_short_name(0), Some("manual"));
}

#[test]
fn numbers_take_their_control_s_type() {
    assert_eq!(check("LensPosition", "2"), Ok(ControlValue::Float(2.0)));
    assert_eq!(check("LensPosition", "2.5"), Ok(ControlValue::Float(2.5)));
    assert_eq!(
        check("ExposureTime", "10000.0"),
        Ok(ControlValue::Int(10000))
    );
    assert!(matches!(
        check("ExposureTime", "10000.5"),
        Err(ValueError::WrongType(_))
    ));
    assert!(matches!(
        check("ExposureTime", "3000000000"),
        Err(ValueError::OutOfRange(_))
    ));
    assert!(matches!(
        check("Brightness", "\"bright\""),
        Err(ValueError::WrongType(_))
    ));
    assert!(matches!(
        check("AeEnable", "1"),
        Err(ValueError::WrongType(_))
    ));
    assert_eq!(check("AeEnable", "false"), Ok(ControlValue::Bool(false)));
}

#[test]
fn arrays_and_rectangles_keep_their_shape() {
    assert_eq!(
        check("FrameDurationLimits", "[33333, 33333]"),
        Ok(ControlValue::List(vec![
            ControlValue::Int(33333),
            ControlValue::Int(33333)
        ]))
    );
    assert!(matches!(
        check("FrameDurationLimits", "[33333]"),
        Err(ValueError::WrongType(m)) if m.contains("2 integers")
    ));
    assert_eq!(
        check("ColourGains", "[1, 2.5]"),
        Ok(ControlValue::List(vec![
            ControlValue::Float(1.0),
            ControlValue::Float(2.5)
        ]))
    );
    let crop = r#"{"x": 0, "y": 10, "width": 640, "height": 480}"#;
    assert_eq!(
        check("ScalerCrop", crop),
        Ok(ControlValue::Rect(Rect {
            x: 0,
            y: 10,
            width: 640,
            height: 480
        }))
    );
    assert!(matches!(
        check("ScalerCrop", "[0, 0, 640, 480]"),
        Err(ValueError::WrongType(_))
    ));
}

#[test]
fn a_table_of_values_is_checked_entry_by_entry() {
    let v: ControlValues =
        serde_json::from_str(r#"{"AfMode": "Continuous", "LensPosition": 2}"#).unwrap();
    assert_eq!(v.0["AfMode"], ControlValue::Text("continuous".into()));
    assert_eq!(v.0["LensPosition"], ControlValue::Float(2.0));
    let e = serde_json::from_str::<ControlValues>(r#"{"afmode": 1}"#).unwrap_err();
    assert!(e.to_string().contains("did you mean `AfMode`"), "{e}");
    let e = serde_json::from_str::<ControlValues>(r#"{"Zoom": 1}"#).unwrap_err();
    assert!(e.to_string().contains("unknown control `Zoom`"), "{e}");
    let long = format!(r#"{{"ColourGains": [{}]}}"#, vec!["1"; 40].join(","));
    assert!(serde_json::from_str::<ControlValues>(&long).is_err());
    let merged = v.merged(&serde_json::from_str(r#"{"LensPosition": 4}"#).unwrap());
    assert_eq!(merged.0["LensPosition"], ControlValue::Float(4.0));
    assert_eq!(merged.0.len(), 2);
}

#[test]
fn values_print_as_json() {
    assert_eq!(ControlValue::Text("auto".into()).to_string(), "\"auto\"");
    assert_eq!(
        ControlValue::List(vec![ControlValue::Int(1), ControlValue::Int(2)]).to_string(),
        "[1,2]"
    );
}

#[test]
fn af_trigger_is_an_action_not_a_state_to_re_apply() {
    let v: ControlValues =
        serde_json::from_str(r#"{"AfTrigger": "start", "AfMode": "auto"}"#).unwrap();
    assert!(control_spec("AfTrigger").unwrap().is_action());
    assert_eq!(v.states().0.keys().collect::<Vec<_>>(), ["AfMode"]);
}
