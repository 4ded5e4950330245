//! Fuzzes the shared JPEG validator (`source::jpeg_check`): no input may crash it or make it
//! accept a picture without a size; whatever passes must really decode.
#![no_main]

use libfuzzer_sys::fuzz_target;
use streamserver::source::jpeg_check::{JpegChecker, JpegLimits};

fuzz_target!(|data: &[u8]| {
    let mut full = JpegChecker::new(JpegLimits {
        max_bytes: 1 << 20,
        full_decode: true,
    });
    let mut header = JpegChecker::new(JpegLimits {
        max_bytes: 1 << 20,
        full_decode: false,
    });
    let h = header.check(data);
    if let Ok(info) = full.check(data) {
        assert!(info.width > 0 && info.height > 0);
        assert_eq!(
            h.ok(),
            Some(info),
            "a full pass implies a header pass with the same size"
        );
        let h = turbojpeg::read_header(data).expect("libjpeg-turbo reads what passed");
        assert_eq!((h.width as u32, h.height as u32), (info.width, info.height));
    }
});
