//! Unit tests of the request JSON: parsing SetControls, checking it against a camera's
//! controls, and the ControlsReply schema with its bounds.

use super::*;

fn info(name: &str, kind: &str, min: ControlValue, max: ControlValue) -> ControlInfo {
    ControlInfo {
        id: 1,
        name: name.into(),
        kind: kind.into(),
        settable: true,
        min: Some(min),
        max: Some(max),
        default: None,
        current: None,
        values: Vec::new(),
    }
}

/// A camera with Brightness (-1..1), FrameDurationLimits (1000..1e6 µs each), AwbMode (auto
/// and daylight only) and ScalerCrop (64×64 up to the 640×480 sensor).
fn camera() -> Vec<ControlInfo> {
    let mut awb = info(
        "AwbMode",
        "enum",
        ControlValue::Text("auto".into()),
        ControlValue::Text("daylight".into()),
    );
    awb.values = vec![
        EnumValue {
            name: "auto".into(),
            value: 0,
        },
        EnumValue {
            name: "daylight".into(),
            value: 5,
        },
    ];
    let rect = |x, y, width, height| {
        ControlValue::Rect(Rect {
            x,
            y,
            width,
            height,
        })
    };
    vec![
        info(
            "Brightness",
            "float",
            ControlValue::Float(-1.0),
            ControlValue::Float(1.0),
        ),
        info(
            "FrameDurationLimits",
            "int64[2]",
            ControlValue::Int(1000),
            ControlValue::Int(1_000_000),
        ),
        awb,
        info(
            "ScalerCrop",
            "rectangle",
            rect(0, 0, 64, 64),
            rect(0, 0, 640, 480),
        ),
    ]
}

fn set(json: &str) -> Result<ControlValues, Rejection> {
    let values = parse_set_controls(json)?;
    check_supported(&values, &camera())?;
    Ok(values)
}

#[test]
fn supported_values_in_range_are_accepted_in_canonical_form() {
    let v =
        set(r#"{"Brightness": 0, "AwbMode": "Daylight", "FrameDurationLimits": [33333, 33333]}"#)
            .unwrap();
    assert_eq!(v.0["Brightness"], ControlValue::Float(0.0));
    assert_eq!(v.0["AwbMode"], ControlValue::Text("daylight".into()));
    let crop = r#"{"ScalerCrop": {"x": 160, "y": 120, "width": 320, "height": 240}}"#;
    assert!(set(crop).is_ok());
}

#[test]
fn each_kind_of_refusal_names_the_control_and_why() {
    let cases = [
        (r#"{"Zoom": 2}"#, "Zoom", RejectReason::Unknown),
        (
            r#"{"AfMode": "continuous"}"#,
            "AfMode",
            RejectReason::Unsupported,
        ),
        (
            r#"{"Brightness": 1.5}"#,
            "Brightness",
            RejectReason::OutOfRange,
        ),
        (
            r#"{"FrameDurationLimits": [10, 33333]}"#,
            "FrameDurationLimits",
            RejectReason::OutOfRange,
        ),
        (
            r#"{"AwbMode": "cloudy"}"#,
            "AwbMode",
            RejectReason::OutOfRange,
        ),
        (
            r#"{"AwbMode": "sunny"}"#,
            "AwbMode",
            RejectReason::OutOfRange,
        ),
        (
            r#"{"Brightness": "high"}"#,
            "Brightness",
            RejectReason::WrongType,
        ),
        (
            r#"{"Brightness": {"a": 1}}"#,
            "Brightness",
            RejectReason::WrongType,
        ),
        (
            r#"{"FrameDurationLimits": 33333}"#,
            "FrameDurationLimits",
            RejectReason::WrongType,
        ),
        (
            r#"{"ScalerCrop": {"x": 400, "y": 0, "width": 320, "height": 240}}"#,
            "ScalerCrop",
            RejectReason::OutOfRange,
        ),
        (
            r#"{"ScalerCrop": {"x": 0, "y": 0, "width": 8, "height": 8}}"#,
            "ScalerCrop",
            RejectReason::OutOfRange,
        ),
    ];
    for (json, control, reason) in cases {
        let r = set(json).expect_err(json);
        assert_eq!(
            (r.control.as_str(), r.reason),
            (control, reason),
            "{json}: {r}"
        );
        assert!(r.message.contains(control), "{json}: {}", r.message);
    }
    let r = set("[1, 2]").unwrap_err();
    assert_eq!(r.reason, RejectReason::WrongType);
}

#[test]
fn one_bad_control_refuses_the_whole_request() {
    // Brightness alone is fine; with an unsupported control beside it, nothing is accepted.
    assert!(set(r#"{"Brightness": 0.5}"#).is_ok());
    let r = set(r#"{"Brightness": 0.5, "AfMode": "auto"}"#).unwrap_err();
    assert_eq!(r.control, "AfMode");
}

#[test]
fn controls_replies_round_trip_and_their_bounds_are_checked() {
    let replies = [
        ControlsReply::Controls(camera()),
        ControlsReply::Applied(parse_set_controls(r#"{"Brightness": 0.25}"#).unwrap()),
        ControlsReply::Rejected(Rejection::new("AfMode", RejectReason::Unsupported, "no")),
    ];
    for reply in replies {
        let json = serde_json::to_string(&reply).unwrap();
        assert_eq!(ControlsReply::from_json(&json).unwrap(), reply, "{json}");
    }
    let json = serde_json::to_string(&ControlsReply::Controls(camera())).unwrap();
    assert!(
        json.starts_with(r#"{"controls":[{"id":1,"name":"Brightness","type":"float""#),
        "{json}"
    );
    let many = ControlsReply::Controls(vec![camera()[0].clone(); MAX_LISTED_CONTROLS + 1]);
    assert!(many.check_bounds().is_err());
    let mut long = camera();
    long[0].name = "x".repeat(MAX_CONTROL_NAME_BYTES + 1);
    assert!(ControlsReply::Controls(long).check_bounds().is_err());
    assert!(ControlsReply::from_json(r#"{"applied": {}, "rejected": null}"#).is_err());
    assert!(ControlsReply::from_json(r#"{"other": 1}"#).is_err());
}
