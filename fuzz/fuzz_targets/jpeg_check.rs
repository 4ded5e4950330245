//! Fuzzes the JPEG validator shared by the folder, http and relay sources: random bytes (and
//! mutations of the seed JPEGs) through the marker check, the header check and the full decode.
//!
//! Checked besides "no panic" (and no memory error under the sanitizer): an accepted frame starts
//! with SOI, is within the size cap and has a sane picture size; a full decode never accepts what
//! the header check rejects.

#![no_main]

use libfuzzer_sys::fuzz_target;
use streamserver::source::jpeg_check::{JpegChecker, JpegLimits, MAX_PIXELS};

fuzz_target!(|data: &[u8]| {
    let max_bytes = 1 << 20;
    let header = JpegChecker::new(JpegLimits {
        max_bytes,
        full_decode: false,
        max_pixels: MAX_PIXELS,
    })
    .check(data);
    let full = JpegChecker::new(JpegLimits {
        max_bytes,
        full_decode: true,
        max_pixels: MAX_PIXELS,
    })
    .check(data);
    if let Ok(info) = &full {
        assert_eq!(header.as_ref(), Ok(info), "full decode accepted what the header check did not");
    }
    if let Ok(info) = header {
        assert!(data.starts_with(&[0xFF, 0xD8]) && data.len() <= max_bytes);
        assert!(info.width > 0 && info.height > 0);
        assert!(u64::from(info.width) * u64::from(info.height) <= MAX_PIXELS);
    }
});
