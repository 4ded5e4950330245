//! Unit tests of the camera module that need no libcamera: format mapping, frame durations, and
//! the one-line answer of a build without libcamera. (`[stream.camera]` is tested in
//! `config::source::camera`.)

use std::time::Duration;

use super::*;
use crate::config::CameraConfig;

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
    let r = preflight();
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
