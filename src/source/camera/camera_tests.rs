//! Unit tests of the camera module that need no libcamera: config parsing, format mapping,
//! orientation, and the one-line answer of a build without libcamera.

use std::path::Path;
use std::time::Duration;

use super::*;
use crate::config::Config;

fn camera(text: &str) -> Result<CameraConfig, String> {
    let full = format!("[[stream]]\nid = \"cam\"\nsource = \"camera\"\n[stream.camera]\n{text}");
    Config::parse(&full, Path::new("t.toml"))
        .map(|c| c.streams[0].camera.clone())
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
        ("rotation = 90\n", "stream[0].camera.rotation", "0 or 180"),
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
fn libcamera_rgb_names_are_the_drm_little_endian_ones() {
    // libcamera RGB888 = DRM 'RG24' = B,G,R in memory = our bgr888, and the other way round.
    assert_eq!(
        libcamera_format(PixelFormat::Bgr888),
        ("RGB888", fourcc(b"RG24"))
    );
    assert_eq!(
        libcamera_format(PixelFormat::Rgb888),
        ("BGR888", fourcc(b"BG24"))
    );
    assert_eq!(
        libcamera_format(PixelFormat::Yuv420),
        ("YUV420", fourcc(b"YU12"))
    );
    assert_eq!(
        libcamera_format(PixelFormat::Nv12),
        ("NV12", fourcc(b"NV12"))
    );
    assert_eq!(fourcc(b"NV12"), 0x3231_564e);
    for f in PixelFormat::ALL {
        assert_eq!(format_from_fourcc(libcamera_format(f).1), Some(f));
    }
    assert_eq!(format_from_fourcc(fourcc(b"YUYV")), None);
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
fn frame_duration_is_in_microseconds() {
    assert_eq!(controls::frame_duration_us(30.0), 33_333);
    assert_eq!(controls::frame_duration_us(0.5), 2_000_000);
    let c = CameraConfig {
        fps: 25.0,
        ..CameraConfig::default()
    };
    assert_eq!(c.frame_interval(), Duration::from_millis(40));
}

#[test]
fn availability_matches_the_build() {
    let r = check_available();
    if cfg!(has_libcamera) {
        assert!(r.is_ok());
    } else {
        let e = r.unwrap_err();
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            format!("source `camera` is not available in this build: {UNAVAILABLE_REASON}")
        );
        let listed = list_cameras().unwrap_err().to_string();
        assert!(listed.contains(UNAVAILABLE_REASON) && !listed.contains('\n'));
    }
}

#[test]
fn camera_errors_are_retryable_except_configuration() {
    let id = "cam".to_string();
    assert!(CameraError::Timeout {
        id: id.clone(),
        waited: Duration::from_secs(2)
    }
    .is_retryable());
    assert!(CameraError::Disconnected { id: id.clone() }.is_retryable());
    assert!(!CameraError::Configure {
        id,
        message: "x".into()
    }
    .is_retryable());
    let e: SourceError = CameraError::NotFound {
        selector: "#1".into(),
        available: "none".into(),
    }
    .into();
    assert!(e.is_retryable());
    assert_eq!(e.to_string(), "no camera #1 (cameras: none)");
}
