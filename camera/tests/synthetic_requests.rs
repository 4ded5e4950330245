//! Stills and controls on the real helper binary with its synthetic camera, over the protocol
//! (no server): the controls it lists, a control set and seen in the frames, every kind of
//! refusal with nothing applied, stills at the still size (turned with the stream) while frames
//! go on, concurrent stills answered with one picture, and a still that is never answered
//! (`--fault ignore-stills`).

mod common;

use std::time::{Duration, Instant};

use common::{mean_luma, settings, Helper};
use streamserver::config::{PixelFormat, Rotation};
use streamserver::source::camera::protocol::requests::{ControlValue, ControlsReply, RejectReason};
use streamserver::source::camera::protocol::{HelperSettings, Message};

const WAIT: Duration = Duration::from_secs(10);

/// A synthetic helper of this test process, started with `s` (its Started read).
fn start(s: &HelperSettings, extra: &[&str]) -> Helper {
    let pid = std::process::id().to_string();
    let mut args = vec!["run", "--synthetic", "--parent-pid", &pid];
    args.extend_from_slice(extra);
    let (mut helper, _) = Helper::spawn(&args);
    helper.commands().start(s).unwrap();
    match helper.next(WAIT) {
        Message::Started(_) => helper,
        other => panic!("expected Started, got {other:?}"),
    }
}

/// The mean luma of the next frame.
fn next_frame_luma(helper: &Helper) -> f64 {
    loop {
        if let Message::Frame(f) = helper.next(WAIT) {
            return mean_luma(&f.jpeg);
        }
    }
}

fn set(helper: &mut Helper, id: u32, json: serde_json::Value) -> ControlsReply {
    helper.commands().set_controls(id, &json).unwrap();
    helper.controls_reply(id)
}

#[test]
fn the_listing_names_the_synthetic_cameras_controls_with_ranges_and_current_values() {
    let mut s = settings(160, 120, PixelFormat::Yuv420);
    s.controls = serde_json::from_str(r#"{"Brightness": 0.25, "AfMode": "auto"}"#).unwrap();
    let mut helper = start(&s, &[]);
    helper.commands().list_controls(1).unwrap();
    let ControlsReply::Controls(list) = helper.controls_reply(1) else {
        panic!("not a listing")
    };
    let names: Vec<&str> = list.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["Brightness", "Contrast", "FrameDurationLimits"]);
    assert!(list.iter().all(|c| c.settable));
    let b = &list[0];
    assert_eq!((b.id, b.kind.as_str()), (12, "float"));
    assert_eq!(
        (b.min.clone(), b.max.clone()),
        (
            Some(ControlValue::Float(-1.0)),
            Some(ControlValue::Float(1.0))
        )
    );
    assert_eq!(
        b.current,
        Some(ControlValue::Float(0.25)),
        "the start-up value"
    );
    let limits = ControlValue::List(vec![ControlValue::Int(33333), ControlValue::Int(33333)]);
    assert_eq!(list[2].current, Some(limits), "from fps = 30");
    // AfMode was asked for at start: the camera lacks it, which the helper says (and runs).
    let deadline = Instant::now() + WAIT;
    while !helper.stderr().contains("AfMode") {
        assert!(Instant::now() < deadline, "no warning: {}", helper.stderr());
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(helper.stderr().contains("WARN"), "{}", helper.stderr());
}

#[test]
fn brightness_changes_the_frames_and_a_refused_request_changes_nothing() {
    let mut helper = start(&settings(160, 120, PixelFormat::Nv12), &[]);
    let normal = next_frame_luma(&helper);
    let reply = set(&mut helper, 1, serde_json::json!({"Brightness": 0.5}));
    let ControlsReply::Applied(applied) = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(applied.0["Brightness"], ControlValue::Float(0.5));
    // A frame encoded before the change may still come after the reply: a few frames later.
    let brighter = (0..5)
        .map(|_| next_frame_luma(&helper))
        .find(|&l| l > normal + 30.0)
        .unwrap_or_else(|| panic!("no brighter frame than {normal}"));

    let cases = [
        (
            serde_json::json!({"Zoom": 1}),
            "Zoom",
            RejectReason::Unknown,
        ),
        (
            serde_json::json!({"Brightness": -0.5, "AfMode": "auto"}),
            "AfMode",
            RejectReason::Unsupported,
        ),
        (
            serde_json::json!({"Brightness": -0.5, "Contrast": 40}),
            "Contrast",
            RejectReason::OutOfRange,
        ),
        (
            serde_json::json!({"Brightness": "dark"}),
            "Brightness",
            RejectReason::WrongType,
        ),
    ];
    for (i, (json, control, reason)) in cases.into_iter().enumerate() {
        let reply = set(&mut helper, 10 + i as u32, json.clone());
        let ControlsReply::Rejected(r) = reply else {
            panic!("{json}: {reply:?}")
        };
        assert_eq!(
            (r.control.as_str(), r.reason),
            (control, reason),
            "{json}: {}",
            r.message
        );
    }
    // Nothing of those was applied: Brightness is still 0.5.
    helper.commands().list_controls(20).unwrap();
    let ControlsReply::Controls(list) = helper.controls_reply(20) else {
        panic!()
    };
    assert_eq!(list[0].current, Some(ControlValue::Float(0.5)));
    let still_bright = next_frame_luma(&helper);
    assert!(
        (still_bright - brighter).abs() < 10.0,
        "{brighter} -> {still_bright}"
    );
}

#[test]
fn frame_duration_limits_set_the_rate() {
    let mut helper = start(&settings(160, 120, PixelFormat::Yuv420), &[]);
    let count = |helper: &Helper| {
        let until = Instant::now() + Duration::from_millis(1500);
        let mut n = 0;
        while Instant::now() < until {
            if let Message::Frame(_) = helper.next(WAIT) {
                n += 1;
            }
        }
        n
    };
    let reply = set(
        &mut helper,
        1,
        serde_json::json!({"FrameDurationLimits": [200000, 200000]}),
    );
    assert!(matches!(reply, ControlsReply::Applied(_)), "{reply:?}");
    // 5 fps: about 8 frames in 1.5 s (30 fps would be 45); a busy machine only lowers it.
    let slow = count(&helper);
    assert!((3..=12).contains(&slow), "{slow} frames in 1.5 s at 5 fps");
}

#[test]
fn stills_come_at_the_still_size_turned_like_the_stream_while_frames_go_on() {
    let mut s = settings(320, 240, PixelFormat::Nv12);
    (s.camera.still_width, s.camera.still_height) = (1280, 720);
    s.camera.rotation = Rotation::R90;
    // The helper serves waiting requests once per frame. Sent right after the first frame at
    // 2 fps, the three requests land together in the 500 ms before the next one. (Sent right
    // after Started, they could meet the capture loop's first pass, which serves the first
    // request alone: then two pictures, rightly.)
    s.camera.fps = 2.0;
    let mut helper = start(&s, &[]);
    next_frame_luma(&helper);
    for id in [1, 2, 3] {
        helper.commands().still(id).unwrap();
    }
    let (mut answered, mut pictures) = (Vec::new(), Vec::new());
    let mut frames = 0;
    while answered.len() < 3 {
        match helper.next_answer(WAIT, &mut frames) {
            Message::StillResult {
                id,
                width,
                height,
                jpeg,
            } => {
                assert_eq!((width, height), (720, 1280), "turned a quarter");
                let (w, h, _) = common::bars::decode(&jpeg);
                assert_eq!((w, h), (720, 1280));
                answered.push(id);
                pictures.push(jpeg);
            }
            other => panic!("{other:?}"),
        }
    }
    answered.sort_unstable();
    assert_eq!(answered, [1, 2, 3]);
    // Asked for at once, the three share one picture (one still was drawn).
    assert!(
        pictures.windows(2).all(|p| p[0] == p[1]),
        "one capture for all three"
    );
    // The stream goes on at its own size (turned too).
    for _ in 0..5 {
        let m = helper.next(WAIT);
        assert!(
            matches!(&m, Message::Frame(f) if (f.info.width, f.info.height) == (240, 320)),
            "{m:?}"
        );
    }
}

#[test]
fn a_still_the_camera_never_takes_is_never_answered_and_frames_go_on() {
    let mut helper = start(
        &settings(160, 120, PixelFormat::Yuv420),
        &["--fault", "ignore-stills"],
    );
    helper.commands().still(5).unwrap();
    let until = Instant::now() + Duration::from_secs(2);
    let mut frames = 0;
    while Instant::now() < until {
        match helper.next(WAIT) {
            Message::Frame(_) => frames += 1,
            other => panic!("the still was answered: {other:?}"),
        }
    }
    assert!(frames > 10, "{frames}");
}
