//! Unit tests of `workers`.

use super::*;

#[test]
fn the_pool_publishes_frames_and_the_library_times_are_positive() {
    let p = Picture::new(PixelFormat::Nv12, 64, 48);
    let settings = EncoderConfig::default();
    assert!(pool_fps(&p, settings, 2, 0.2).unwrap() > 1.0);
    assert!(turbo_ms(&p, 80, Duration::from_millis(20)) > 0.0);
}
