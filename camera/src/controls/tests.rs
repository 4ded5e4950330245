//! Unit tests of a run's controls: start-up values, SetControls all or nothing, the listing.

use streamserver::source::camera::protocol::requests::{ControlInfo, RejectReason};

use super::*;

fn brightness_and_limits() -> Vec<ControlInfo> {
    let info = |name: &str, kind: &str, min, max| ControlInfo {
        id: 1,
        name: name.into(),
        kind: kind.into(),
        settable: true,
        min: Some(min),
        max: Some(max),
        default: None,
        current: None,
        values: Vec::new(),
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
    ]
}

fn values(json: &str) -> ControlValues {
    serde_json::from_str(json).unwrap()
}

#[test]
fn frame_duration_is_in_microseconds() {
    assert_eq!(frame_duration_us(30.0), 33_333);
    assert_eq!(frame_duration_us(0.5), 2_000_000);
    assert_eq!(
        fps_limits(25.0).0["FrameDurationLimits"],
        ControlValue::List(vec![ControlValue::Int(40_000), ControlValue::Int(40_000)])
    );
}

#[test]
fn start_up_values_the_camera_cannot_take_are_left_out() {
    let mut c = CameraControls::new("cam", brightness_and_limits());
    let wanted =
        values(r#"{"Brightness": 0.5, "AfMode": "auto", "FrameDurationLimits": [10, 10]}"#);
    let got = c.startup(&fps_limits(30.0), &wanted);
    assert_eq!(got.0["Brightness"], ControlValue::Float(0.5));
    assert!(!got.0.contains_key("AfMode"), "the camera has no AfMode");
    // The user's limits are out of range: the fps default stays.
    assert_eq!(
        got.0["FrameDurationLimits"],
        fps_limits(30.0).0["FrameDurationLimits"]
    );
    assert_eq!(c.applied(), &got);
}

#[test]
fn set_controls_applies_all_or_nothing_and_the_listing_shows_current_values() {
    let mut c = CameraControls::new("cam", brightness_and_limits());
    c.startup(
        &ControlValues::default(),
        &values(r#"{"Brightness": 0.25}"#),
    );
    let (reply, apply) = c.set(r#"{"Brightness": 0.75, "AfMode": "auto"}"#);
    assert!(apply.is_none());
    let ControlsReply::Rejected(r) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(
        (r.control.as_str(), r.reason),
        ("AfMode", RejectReason::Unsupported)
    );
    let (reply, apply) = c.set(r#"{"Brightness": 0.75}"#);
    assert_eq!(
        reply,
        ControlsReply::Applied(values(r#"{"Brightness": 0.75}"#))
    );
    assert_eq!(apply, Some(values(r#"{"Brightness": 0.75}"#)));
    let ControlsReply::Controls(list) = c.list(&ControlValues::default()) else {
        panic!()
    };
    assert_eq!(list[0].current, Some(ControlValue::Float(0.75)));
    assert_eq!(list[1].current, None, "never set, nothing reported");
    let reported = values(r#"{"FrameDurationLimits": [33333, 33333]}"#);
    let ControlsReply::Controls(list) = c.list(&reported) else {
        panic!()
    };
    assert_eq!(
        list[1].current,
        reported.0.get("FrameDurationLimits").cloned()
    );
}
