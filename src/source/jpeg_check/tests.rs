//! Tests of the JPEG validator: fixed cases plus property tests (random bytes never panic,
//! every truncation of a valid JPEG is rejected).

use super::*;
use crate::config::EncoderConfig;
use crate::pipeline::canvas::{Canvas, Yuv};
use crate::pipeline::encoder::{Encoder, PixelFormat};
use proptest::prelude::*;

fn jpeg(w: usize, h: usize) -> Vec<u8> {
    let mut canvas = Canvas::new(w, h);
    canvas.fill_rect(0, 0, w / 2, h / 2, Yuv::WHITE);
    canvas.draw_text(2, 2, 1, "jpeg check", Yuv::GREY);
    let mut enc = Encoder::new(&EncoderConfig::default()).unwrap();
    enc.encode(&canvas.raw_frame(PixelFormat::Yuv420))
        .unwrap()
        .to_vec()
}

const HEADER: JpegLimits = JpegLimits {
    max_bytes: 1 << 20,
    full_decode: false,
    max_pixels: MAX_PIXELS,
};
const FULL: JpegLimits = JpegLimits {
    max_bytes: 1 << 20,
    full_decode: true,
    max_pixels: MAX_PIXELS,
};

#[test]
fn a_valid_jpeg_passes_with_its_size() {
    let data = jpeg(64, 48);
    let want = JpegInfo {
        width: 64,
        height: 48,
    };
    assert_eq!(check(&data, HEADER), Ok(want));
    assert_eq!(check(&data, FULL), Ok(want));
    let mut padded = data.clone();
    padded.extend_from_slice(&[0, 0, b'\r', b'\n']);
    assert_eq!(
        check(&padded, HEADER),
        Ok(want),
        "padding after EOI is fine"
    );
}

#[test]
fn empty_oversized_and_foreign_data_are_rejected() {
    let data = jpeg(64, 48);
    assert_eq!(check(&[], HEADER), Err(JpegError::Empty));
    let small = JpegLimits {
        max_bytes: data.len() - 1,
        full_decode: false,
        max_pixels: MAX_PIXELS,
    };
    assert!(matches!(
        check(&data, small),
        Err(JpegError::TooLarge { .. })
    ));
    assert_eq!(check(b"<html>login</html>", HEADER), Err(JpegError::NoSoi));
    assert_eq!(check(&[0xFF, 0xD8, 0xD9], HEADER), Err(JpegError::NoEoi));
    assert_eq!(
        check(&data[..data.len() - 1], HEADER),
        Err(JpegError::NoEoi)
    );
}

#[test]
fn corrupt_scan_data_fails_only_the_full_decode() {
    let mut data = jpeg(128, 96);
    // Find the start of scan (FF DA) and scramble the entropy-coded data after its header.
    let sos = data.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let start = sos + 2 + 12; // SOS header of a 3-component scan
    let end = data.len() - 2;
    for (i, b) in data[start..end].iter_mut().enumerate() {
        *b = if i % 2 == 0 { 0xFF } else { 0x00 } ^ (i as u8).wrapping_mul(37);
    }
    assert!(check(&data, HEADER).is_ok(), "the header is intact");
    assert!(
        matches!(check(&data, FULL), Err(JpegError::Decode(_))),
        "{:?}",
        check(&data, FULL)
    );
}

#[test]
fn full_decode_accepts_rgb_gray_and_444_jpegs() {
    // RGB-colour-space and 4:4:4 JPEGs cannot be decoded to YUV planes; they must still pass.
    let (w, h) = (40usize, 24usize);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 7) as u8).collect();
    let image = turbojpeg::Image {
        pixels: &rgb[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    for subsamp in [turbojpeg::Subsamp::None, turbojpeg::Subsamp::Gray] {
        let data = turbojpeg::compress(image, 90, subsamp).unwrap();
        assert!(check(&data, FULL).is_ok(), "{subsamp:?}");
    }
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_subsamp(turbojpeg::Subsamp::None).unwrap();
    c.set_colorspace(turbojpeg::Colorspace::RGB).unwrap();
    let data = c.compress_to_vec(image).unwrap();
    assert_eq!(
        turbojpeg::read_header(&data).unwrap().colorspace,
        turbojpeg::Colorspace::RGB
    );
    assert!(check(&data, FULL).is_ok(), "RGB colour space");
}

#[test]
fn the_checker_reuses_its_decoder_across_sizes() {
    let mut checker = JpegChecker::new(FULL);
    for (w, h) in [(320, 240), (16, 16), (640, 480)] {
        let info = checker.check(&jpeg(w, h)).unwrap();
        assert_eq!((info.width, info.height), (w as u32, h as u32));
    }
    assert!(checker.check(b"nope").is_err());
    // A tables-only stream (SOI … EOI, no frame header) must not inherit the last size.
    assert!(checker.check(b"\xFF\xD8garbage\xFF\xD9").is_err());
    assert!(checker.check(&[0xFF, 0xD8, 0xFF, 0xD9]).is_err());
    assert!(
        checker.check(&jpeg(8, 8)).is_ok(),
        "an error does not poison it"
    );
}

/// libjpeg-turbo's verdict on a header (a fresh decompressor, as the checker's slow path).
fn libjpeg_header(data: &[u8]) -> Option<(usize, usize)> {
    let header = new_decompressor().ok()?.read_header(data).ok()?;
    Some((header.width, header.height))
}

fn compressed(
    subsamp: turbojpeg::Subsamp,
    progressive: bool,
    colorspace: Option<turbojpeg::Colorspace>,
) -> Vec<u8> {
    let (w, h) = (48usize, 40usize);
    let rgb: Vec<u8> = (0..w * h * 3).map(|i| (i * 13 % 251) as u8).collect();
    let image = turbojpeg::Image {
        pixels: &rgb[..],
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_subsamp(subsamp).unwrap();
    c.set_progressive(progressive).unwrap();
    if let Some(cs) = colorspace {
        c.set_colorspace(cs).unwrap();
    }
    c.compress_to_vec(image).unwrap()
}

#[test]
fn plain_jpegs_take_the_fast_path_with_libjpegs_size() {
    use turbojpeg::Subsamp::*;
    let mut plain = vec![jpeg(640, 480), jpeg(64, 48)];
    for subsamp in [Sub2x2, Sub2x1, None, Gray] {
        for progressive in [false, true] {
            plain.push(compressed(subsamp, progressive, Option::None));
        }
    }
    for data in &plain {
        let fast = header::plain_header(data).map(|h| (h.width, h.height));
        assert!(fast.is_some(), "a plain JPEG takes the fast path");
        assert_eq!(fast, libjpeg_header(data));
    }
    // An RGB-colour-space JPEG carries an Adobe marker: libjpeg-turbo decides, and accepts it.
    let rgb = compressed(None, false, Some(turbojpeg::Colorspace::RGB));
    assert!(header::plain_header(&rgb).is_none());
    assert_eq!(check(&rgb, HEADER).map(|i| i.width), Ok(48));
}

#[test]
fn unusual_headers_go_to_libjpeg() {
    let data = jpeg(64, 48);
    let sof = data.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    // Fill bytes before a marker, a tables-only stream, a second frame header, 12-bit samples.
    let mut filled = data.clone();
    filled.insert(sof, 0xFF);
    let mut twelve = data.clone();
    twelve[sof + 4] = 12;
    let tables_only = [&data[..sof], &[0xFF, 0xD9][..]].concat();
    let mut two_frames = data.clone();
    let frame = data[sof..sof + 2 + 17].to_vec();
    two_frames.splice(sof..sof, frame);
    for case in [&filled, &twelve, &tables_only, &two_frames] {
        assert!(header::plain_header(case).is_none());
    }
    assert_eq!(
        check(&filled, HEADER).map(|i| i.width),
        Ok(64),
        "libjpeg allows fill bytes"
    );
    assert!(check(&tables_only, HEADER).is_err());
    assert!(check(&two_frames, HEADER).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Whatever the fast path accepts, libjpeg-turbo accepts with the same size.
    #[test]
    fn the_fast_path_never_accepts_what_libjpeg_rejects(
        edits in proptest::collection::vec((0usize..700, any::<u8>(), 0u8..3), 1..4),
    ) {
        let mut data = jpeg(96, 64);
        for (pos, byte, kind) in edits {
            let pos = pos % data.len();
            match kind {
                0 => data[pos] = byte,
                1 => data.insert(pos, byte),
                _ => { data.remove(pos); }
            }
        }
        if let Some(h) = header::plain_header(&data) {
            prop_assert_eq!(libjpeg_header(&data), Some((h.width, h.height)));
        }
    }

    #[test]
    fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let _ = check(&data, FULL);
    }

    #[test]
    fn random_bytes_after_a_soi_never_panic(data in proptest::collection::vec(any::<u8>(), 0..4096)) {
        let mut framed = vec![0xFF, 0xD8];
        framed.extend_from_slice(&data);
        framed.extend_from_slice(&[0xFF, 0xD9]);
        let _ = check(&framed, FULL);
    }

    #[test]
    fn every_truncation_of_a_valid_jpeg_is_rejected(cut in 0usize..10_000) {
        let data = jpeg(96, 64);
        let cut = cut % data.len();
        prop_assert!(check(&data[..cut], HEADER).is_err(), "cut at {}", cut);
        prop_assert!(check(&data[..cut], FULL).is_err(), "cut at {}", cut);
    }

    #[test]
    fn flipped_bytes_never_panic(pos in 0usize..10_000, byte in any::<u8>()) {
        let mut data = jpeg(96, 64);
        let pos = pos % data.len();
        data[pos] = byte;
        let _ = check(&data, FULL);
    }
}

/// `data` with the picture size in its (baseline) frame header replaced.
pub(crate) fn with_size(data: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = data.to_vec();
    let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

#[test]
fn a_header_announcing_more_than_max_pixels_is_refused_before_any_buffer_exists() {
    let limits = JpegLimits {
        max_bytes: 1 << 20,
        full_decode: true,
        max_pixels: DEFAULT_MAX_PIXELS,
    };
    let mut checker = JpegChecker::new(limits);
    // 8000×8000 = 64 MP: within the old fixed limit, whose full decode took 64 MB of scratch.
    let big = with_size(&jpeg(64, 48), 8000, 8000);
    assert_eq!(
        checker.check(&big),
        Err(JpegError::BadSize {
            width: 8000,
            height: 8000,
            max_pixels: DEFAULT_MAX_PIXELS
        })
    );
    assert_eq!(checker.scratch.capacity(), 0, "no decode buffer was made");
    let huge = with_size(&jpeg(64, 48), 65000, 65000);
    assert!(matches!(
        checker.check(&huge),
        Err(JpegError::BadSize { .. })
    ));
    // The limit is the source's: a lower one refuses a picture the default takes.
    let tiny = JpegChecker::new(JpegLimits {
        max_pixels: 64 * 47,
        ..limits
    })
    .check(&jpeg(64, 48));
    assert!(matches!(tiny, Err(JpegError::BadSize { .. })), "{tiny:?}");
    assert!(checker.check(&jpeg(64, 48)).is_ok());
}
