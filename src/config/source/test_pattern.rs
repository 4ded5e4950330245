//! `[stream.test]`: the built-in test pattern's size, rate, pixel format and injected faults.

use serde::Deserialize;

use super::super::values::PixelFormat;

/// `[stream.test]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TestPatternConfig {
    /// Frame width in pixels (rounded up to even).
    pub width: usize,
    /// Frame height in pixels (rounded up to even).
    pub height: usize,
    /// Frames per second (1–120).
    pub fps: u32,
    /// Raw format handed to the encoder: rgb888, bgr888, yuv420, nv12.
    pub format: PixelFormat,
    /// Fault injection: the first `fail_starts` starts of the source fail.
    pub fail_starts: u32,
    /// Fault injection: every run fails after this many frames (0 = never).
    pub fail_after_frames: u64,
    /// Fault injection: every run stops producing frames after this many (0 = never).
    pub stall_after_frames: u64,
}

impl Default for TestPatternConfig {
    fn default() -> Self {
        Self {
            width: 640,
            height: 480,
            fps: 30,
            format: PixelFormat::Yuv420,
            fail_starts: 0,
            fail_after_frames: 0,
            stall_after_frames: 0,
        }
    }
}
