//! Unit tests of the format mapping.

use super::*;

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
