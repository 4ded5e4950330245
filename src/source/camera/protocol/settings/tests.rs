//! The Start settings survive the trip through JSON unchanged, and bad ones name their key.

use std::time::Duration;

use proptest::prelude::*;

use super::*;
use crate::config::{
    AwbMode, CameraSelector, ExposureMode, PixelFormat, Quality, Rotation, Subsampling,
};
use crate::config::{StillMode, WhilePaused};
use crate::source::camera::protocol::{Command, CommandReader, CommandWriter};

fn every_option() -> HelperSettings {
    HelperSettings {
        stream: "front-door".into(),
        camera: CameraConfig {
            select: CameraSelector::Id("/base/soc/i2c0mux/i2c@1/imx708@1a".into()),
            width: 1920,
            height: 1080,
            fps: 29.97,
            format: PixelFormat::Nv12,
            buffer_count: 6,
            rotation: Rotation::R180,
            hflip: true,
            vflip: false,
            exposure_mode: Some(ExposureMode::Long),
            awb_mode: Some(AwbMode::Daylight),
            brightness: Some(-0.25),
            contrast: Some(1.5),
            frame_timeout: Duration::from_millis(1500),
            start_timeout: Duration::from_secs(9),
            helper: Some("/opt/streamserver-camera".into()),
            pause_file: Some("/run/pause-front".into()),
            while_paused: WhilePaused::LastFrame,
            max_frame_bytes: 4 << 20,
            still_width: 4056,
            still_height: 3040,
            still_quality: Quality(95),
            still_mode: StillMode::Dual,
            still_timeout: Duration::from_secs(7),
            controls: serde_json::from_str(r#"{"AfMode": "continuous", "LensPosition": 2.5}"#)
                .unwrap(),
        },
        encoder: EncoderConfig {
            quality: Quality(91),
            subsampling: Subsampling::S444,
            workers: 2,
            idle: false,
            idle_after: Duration::from_millis(250),
        },
        overlay: OverlayConfig {
            text: "%Y-%m-%d %H:%M:%S front door".into(),
            position: crate::config::OverlayPosition::BottomRight,
            scale: 3,
            background: false,
            utc: true,
        },
        controls: serde_json::from_str(
            r#"{"Brightness": 0.5, "FrameDurationLimits": [1000, 2000]}"#,
        )
        .unwrap(),
        max_frame_bytes: 4 << 20,
        shared_frames: Some(ShmLayout {
            fd: 3,
            slots: 8,
            slot_bytes: 4 << 20,
            header_bytes: 16384,
        }),
    }
}

#[test]
fn every_option_and_the_defaults_round_trip_through_the_start_command() {
    let defaults = HelperSettings {
        stream: "main".into(),
        camera: CameraConfig::default(),
        encoder: EncoderConfig::default(),
        overlay: OverlayConfig::default(),
        controls: Default::default(),
        max_frame_bytes: 16 << 20,
        shared_frames: None,
    };
    for settings in [every_option(), defaults] {
        let mut pipe = Vec::new();
        CommandWriter::new(&mut pipe).start(&settings).unwrap();
        let Command::Start { settings_json } =
            CommandReader::new(&pipe[..]).read_command().unwrap()
        else {
            panic!("not a Start");
        };
        assert_eq!(HelperSettings::from_json(&settings_json).unwrap(), settings);
    }
    // Unset controls are left out rather than sent as null (which the config would refuse).
    let json = serde_json::to_string(&HelperSettings {
        camera: CameraConfig::default(),
        ..every_option()
    })
    .unwrap();
    assert!(
        !json.contains("null") && !json.contains("brightness"),
        "{json}"
    );
    assert!(json.contains(r#""select":0"#), "{json}");
    assert!(json.contains(r#""frame_timeout":"2s""#), "{json}");
}

#[test]
fn bad_settings_name_their_key() {
    let mut value = serde_json::to_value(every_option()).unwrap();
    value["camera"]["fps"] = 500.into();
    let err = HelperSettings::from_json(&value.to_string()).unwrap_err();
    assert!(err
        .to_string()
        .starts_with("bad Start settings: camera.fps: fps 500 is outside"));
    let mut value = serde_json::to_value(every_option()).unwrap();
    value["camera"]["rotation"] = 45.into();
    let err = HelperSettings::from_json(&value.to_string()).unwrap_err();
    assert!(
        err.to_string().contains("camera.rotation: rotation 45"),
        "{err}"
    );
    let mut value = serde_json::to_value(every_option()).unwrap();
    value["colour"] = true.into();
    let err = HelperSettings::from_json(&value.to_string()).unwrap_err();
    assert!(err.to_string().contains("unknown field `colour`"), "{err}");
    let mut value = serde_json::to_value(every_option()).unwrap();
    value["max_frame_bytes"] = 0.into();
    let err = HelperSettings::from_json(&value.to_string()).unwrap_err();
    assert!(err.to_string().contains("max_frame_bytes"), "{err}");
    let mut value = serde_json::to_value(every_option()).unwrap();
    value["camera"]["controls"]["Zoom"] = 2.into();
    let err = HelperSettings::from_json(&value.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("camera.controls.Zoom: unknown control"),
        "{err}"
    );
    let mut value = serde_json::to_value(every_option()).unwrap();
    value["controls"]["Brightness"] = "high".into();
    let err = HelperSettings::from_json(&value.to_string()).unwrap_err();
    assert!(
        err.to_string()
            .contains("controls.Brightness: Brightness takes a number"),
        "{err}"
    );
}

proptest! {
    #[test]
    fn checked_values_round_trip(
        fps in 0.1f64..=240.0,
        brightness in -1.0f32..=1.0,
        contrast in 0.0f32..=32.0,
        quality in 1u8..=100,
        timeout_ms in 1u64..100_000,
        index in 0usize..16,
    ) {
        let mut s = every_option();
        s.camera.fps = fps;
        s.camera.brightness = Some(brightness);
        s.camera.contrast = Some(contrast);
        s.camera.select = CameraSelector::Index(index);
        s.camera.frame_timeout = Duration::from_millis(timeout_ms);
        s.encoder.quality = Quality(quality);
        let json = serde_json::to_string(&s).unwrap();
        prop_assert_eq!(HelperSettings::from_json(&json).unwrap(), s);
    }
}
