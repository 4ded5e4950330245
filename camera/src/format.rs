//! Our pixel formats by libcamera's names and DRM fourccs. libcamera names packed RGB formats
//! the DRM way, by a little-endian word: its `RGB888` is B,G,R in memory (our `Bgr888`) and its
//! `BGR888` is R,G,B in memory (our `Rgb888`). `YUV420` is I420. Pure data, so the synthetic
//! camera reports its format by the same names a real one does.

use streamserver::config::PixelFormat;

/// DRM fourcc of a four-character code.
pub const fn fourcc(code: &[u8; 4]) -> u32 {
    u32::from_le_bytes(*code)
}

/// libcamera's name and DRM fourcc of one of our formats.
pub fn libcamera_format(format: PixelFormat) -> (&'static str, u32) {
    match format {
        PixelFormat::Rgb888 => ("BGR888", fourcc(b"BG24")),
        PixelFormat::Bgr888 => ("RGB888", fourcc(b"RG24")),
        PixelFormat::Yuv420 => ("YUV420", fourcc(b"YU12")),
        PixelFormat::Nv12 => ("NV12", fourcc(b"NV12")),
    }
}

/// Our format for a libcamera fourcc (without modifier), if we can encode it.
#[cfg_attr(not(has_libcamera), allow(dead_code))]
pub fn format_from_fourcc(code: u32) -> Option<PixelFormat> {
    PixelFormat::ALL
        .into_iter()
        .find(|f| libcamera_format(*f).1 == code)
}

#[cfg(test)]
mod tests;
