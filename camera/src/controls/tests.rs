//! Unit tests of the control values that need no camera.

use std::time::Duration;

use streamserver::config::CameraConfig;

use super::*;

#[test]
fn frame_duration_is_in_microseconds() {
    assert_eq!(frame_duration_us(30.0), 33_333);
    assert_eq!(frame_duration_us(0.5), 2_000_000);
    let c = CameraConfig {
        fps: 25.0,
        ..CameraConfig::default()
    };
    assert_eq!(c.frame_interval(), Duration::from_millis(40));
}
