//! Unit tests of `[stream.camera]`: defaults, every option, errors naming key and line, and how
//! rotation and flips compose.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::{Config, SourceConfig};

fn camera(text: &str) -> Result<CameraConfig, String> {
    let full = format!("[[stream]]\nid = \"cam\"\nsource = \"camera\"\n[stream.camera]\n{text}");
    Config::parse(&full, Path::new("t.toml"))
        .map(|c| match &c.streams[0].source {
            SourceConfig::Camera(camera) => camera.clone(),
            other => panic!("expected a camera, got {other:?}"),
        })
        .map_err(|e| e.to_string())
}

#[test]
fn defaults_when_the_table_is_missing_or_empty() {
    let c = camera("").unwrap();
    assert_eq!(c, CameraConfig::default());
    assert_eq!(c.select, CameraSelector::Index(0));
    assert_eq!((c.width, c.height, c.fps), (1280, 720, 30.0));
    assert_eq!(
        c.format,
        PixelFormat::Yuv420,
        "the fastest format to encode"
    );
}

#[test]
fn every_option_parses() {
    let c = camera(
        "select = \"/base/soc/i2c0mux/i2c@1/imx708@1a\"\nwidth = 640\nheight = 480\nfps = 7.5\n\
         format = \"bgr888\"\nbuffer_count = 6\nrotation = 180\nhflip = true\nvflip = false\n\
         exposure_mode = \"long\"\nawb_mode = \"daylight\"\nbrightness = -0.25\ncontrast = 1.5\n\
         frame_timeout = \"500ms\"\n",
    )
    .unwrap();
    assert_eq!(
        c.select,
        CameraSelector::Id("/base/soc/i2c0mux/i2c@1/imx708@1a".into())
    );
    assert_eq!((c.width, c.height, c.fps), (640, 480, 7.5));
    assert_eq!(c.format, PixelFormat::Bgr888);
    assert_eq!(c.buffer_count, 6);
    assert_eq!(c.rotation, Rotation::R180);
    assert!(c.hflip && !c.vflip);
    assert_eq!(c.exposure_mode, Some(ExposureMode::Long));
    assert_eq!(c.awb_mode, Some(AwbMode::Daylight));
    assert_eq!((c.brightness, c.contrast), (Some(-0.25), Some(1.5)));
    assert_eq!(c.frame_timeout, Duration::from_millis(500));
    assert_eq!(
        camera("select = 2\n").unwrap().select,
        CameraSelector::Index(2)
    );
}

#[test]
fn bad_values_name_the_key_and_line() {
    let cases = [
        ("fps = 0\n", "stream[0].camera.fps", "outside"),
        (
            "buffer_count = 1\n",
            "stream[0].camera.buffer_count",
            "outside",
        ),
        (
            "rotation = 45\n",
            "stream[0].camera.rotation",
            "0, 90, 180 or 270",
        ),
        (
            "brightness = 2.0\n",
            "stream[0].camera.brightness",
            "outside",
        ),
        ("contrast = -1\n", "stream[0].camera.contrast", "outside"),
        (
            "format = \"yuyv\"\n",
            "stream[0].camera.format",
            "unknown variant",
        ),
        (
            "awb_mode = \"sunny\"\n",
            "stream[0].camera.awb_mode",
            "unknown variant",
        ),
        ("exposure = 1\n", "stream[0].camera", "unknown field"),
    ];
    for (text, key, what) in cases {
        let e = camera(text).expect_err(text);
        assert!(e.starts_with("t.toml:5: "), "{text}: {e}");
        assert!(e.contains(key) && e.contains(what), "{text}: {e}");
        assert!(!e.contains('\n'), "{e}");
    }
}

#[test]
fn rotation_and_flips_compose_into_one_orientation() {
    let o = |rotation, hflip, vflip| {
        let c = CameraConfig {
            rotation,
            hflip,
            vflip,
            ..CameraConfig::default()
        };
        let o = c.orientation();
        (o.rotate180, o.mirror)
    };
    assert_eq!(o(Rotation::R0, false, false), (false, false));
    assert_eq!(o(Rotation::R0, true, false), (false, true));
    assert_eq!(
        o(Rotation::R0, false, true),
        (true, true),
        "vflip = 180 + hflip"
    );
    assert_eq!(
        o(Rotation::R0, true, true),
        (true, false),
        "both flips = 180"
    );
    assert_eq!(o(Rotation::R180, false, false), (true, false));
    assert_eq!(o(Rotation::R180, true, true), (false, false));
    assert_eq!(o(Rotation::R180, false, true), (false, true));
}

#[test]
fn every_rotation_with_every_mirror_is_the_sensor_orientation_then_the_quarter_turn() {
    type Grid = Vec<Vec<u8>>;
    let h = |g: &Grid| -> Grid {
        g.iter()
            .map(|r| r.iter().rev().copied().collect())
            .collect()
    };
    let v = |g: &Grid| -> Grid { g.iter().rev().cloned().collect() };
    let cw = |g: &Grid| -> Grid {
        (0..g[0].len())
            .map(|x| (0..g.len()).rev().map(|y| g[y][x]).collect())
            .collect()
    };
    let r180 = |g: &Grid| v(&h(g));
    // A 2×3 picture with six distinct pixels.
    let picture: Grid = vec![vec![1, 2, 3], vec![4, 5, 6]];
    for (rotation, turns) in [
        (Rotation::R0, 0),
        (Rotation::R90, 1),
        (Rotation::R180, 2),
        (Rotation::R270, 3),
    ] {
        for (hflip, vflip) in [(false, false), (true, false), (false, true), (true, true)] {
            // What the user asked for: rotate clockwise, then mirror the rotated picture.
            let mut want = picture.clone();
            for _ in 0..turns {
                want = cw(&want);
            }
            if hflip {
                want = h(&want);
            }
            if vflip {
                want = v(&want);
            }
            // What happens: the sensor's orientation, then the helper's quarter turn.
            let c = CameraConfig {
                rotation,
                hflip,
                vflip,
                ..CameraConfig::default()
            };
            let o = c.orientation();
            let mut got = picture.clone();
            if o.rotate180 {
                got = r180(&got);
            }
            if o.mirror {
                got = h(&got);
            }
            if c.quarter_turn() {
                got = cw(&got);
            }
            assert_eq!(got, want, "{rotation:?} hflip={hflip} vflip={vflip}");
        }
    }
}

#[test]
fn still_keys_and_controls_parse() {
    let c = camera(
        "still_width = 4056\nstill_height = 3040\nstill_quality = 95\nstill_mode = \"switch\"\n\
         still_timeout = \"20s\"\n\
         controls = { AfMode = \"continuous\", LensPosition = 2, FrameDurationLimits = [33333, 66666] }\n",
    )
    .unwrap();
    assert_eq!(c.still_size(), Some((4056, 3040)));
    assert_eq!(c.still_quality, crate::config::Quality(95));
    assert_eq!(c.still_mode, StillMode::Switch);
    assert_eq!(c.still_timeout, Duration::from_secs(20));
    assert_eq!(
        c.controls.0["AfMode"],
        ControlValue::Text("continuous".into())
    );
    assert_eq!(c.controls.0["LensPosition"], ControlValue::Float(2.0));
    let d = camera("").unwrap();
    assert_eq!(d.still_size(), None, "0 x 0: the sensor's full size");
    assert_eq!(d.still_mode, StillMode::Auto);
    // A table of its own works too.
    let t = camera("[stream.camera.controls]\nAwbMode = \"daylight\"\n").unwrap();
    assert_eq!(
        t.controls.0["AwbMode"],
        ControlValue::Text("daylight".into())
    );
}

#[test]
fn the_older_control_keys_are_controls_at_start() {
    let c =
        camera("exposure_mode = \"long\"\nbrightness = 0.5\ncontrols = { AfMode = \"auto\" }\n")
            .unwrap();
    let s = c.startup_controls();
    assert_eq!(s.0["AeExposureMode"], ControlValue::Text("long".into()));
    assert_eq!(s.0["Brightness"], ControlValue::Float(0.5));
    assert_eq!(s.0["AfMode"], ControlValue::Text("auto".into()));
    assert_eq!(s.0.len(), 3);
}

#[test]
fn bad_still_and_control_values_name_the_key_and_line() {
    let cases = [
        (
            "still_width = 8\nstill_height = 8\n",
            "stream[0].camera.still_width",
            "outside",
        ),
        (
            "still_width = 640\n",
            "stream[0].camera.still_width",
            "set still_height too",
        ),
        (
            "still_quality = 0\n",
            "stream[0].camera.still_quality",
            "outside 1..=100",
        ),
        (
            "still_mode = \"fast\"\n",
            "stream[0].camera.still_mode",
            "unknown variant",
        ),
        (
            "still_timeout = \"0s\"\n",
            "stream[0].camera.still_timeout",
            "outside",
        ),
        (
            "controls = { Zoom = 2 }\n",
            "stream[0].camera.controls.Zoom",
            "unknown control `Zoom`",
        ),
        (
            "controls = { AfMode = \"sharp\" }\n",
            "stream[0].camera.controls.AfMode",
            "no value \"sharp\"",
        ),
        (
            "controls = { LensPosition = \"near\" }\n",
            "stream[0].camera.controls.LensPosition",
            "takes a number",
        ),
    ];
    for (text, key, what) in cases {
        let e = camera(text).expect_err(text);
        assert!(e.starts_with("t.toml:5: "), "{text}: {e}");
        assert!(e.contains(key) && e.contains(what), "{text}: {e}");
        assert!(!e.contains('\n'), "{e}");
    }
    // A control set twice is named where the controls are.
    let e = camera("brightness = 0.2\ncontrols = { Brightness = 0.1 }\n").unwrap_err();
    assert!(
        e.starts_with("t.toml:6: stream[0].camera.controls.Brightness: set twice"),
        "{e}"
    );
}
