//! Tests of the snapshot fetcher's pieces that need no server: validation modes, conversion,
//! the fetcher's set-up. (Requests against misbehaving servers are in
//! `tests/source_snapshot_poll.rs`.)

use super::*;
use crate::pipeline::canvas::{Canvas, Yuv};

fn settings(validate: Validate) -> FetchSettings {
    FetchSettings {
        url: "http://127.0.0.1:9/snap.jpg".into(),
        basic_auth: None,
        timeout: Duration::from_secs(1),
        max_redirects: 0,
        max_bytes: 1 << 20,
        accept_invalid_certs: false,
        validate,
        max_pixels: crate::source::jpeg_check::DEFAULT_MAX_PIXELS,
    }
}

fn fetcher(validate: Validate) -> Fetcher {
    Fetcher::new(settings(validate), EncoderConfig::default()).unwrap()
}

fn jpeg() -> Vec<u8> {
    let mut canvas = Canvas::new(64, 48);
    canvas.fill_rect(0, 0, 32, 24, Yuv::WHITE);
    let mut enc = Encoder::new(&EncoderConfig::default()).unwrap();
    enc.encode(&canvas.raw_frame(PixelFormat::Yuv420))
        .unwrap()
        .to_vec()
}

fn png(w: u32, h: u32) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 128]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A BMP header announcing `w`×`h` (BMP has no checksum: the size fields are simply patched).
fn huge_bmp(w: i32, h: i32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(4, 4, image::Rgb([1, 2, 3]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Bmp).unwrap();
    let mut bmp = out.into_inner();
    bmp[18..22].copy_from_slice(&w.to_le_bytes());
    bmp[22..26].copy_from_slice(&h.to_le_bytes());
    bmp
}

#[test]
fn convert_refuses_pictures_over_max_pixels_from_their_header() {
    let mut f = fetcher(Validate::Convert);
    let err = f
        .accept(huge_bmp(8000, 8000), Some("image/bmp"))
        .unwrap_err();
    assert!(
        matches!(
            err,
            FetchError::TooManyPixels {
                width: 8000,
                height: 8000,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("max_pixels"), "{err}");
    let big_jpeg = crate::source::jpeg_check::tests::with_size(&jpeg(), 8000, 8000);
    let err = f.accept(big_jpeg, Some("image/jpeg")).unwrap_err();
    assert!(
        matches!(err, FetchError::Jpeg(JpegError::BadSize { .. })),
        "{err}"
    );
}

#[test]
fn valid_jpeg_accepts_jpegs_only() {
    let mut f = fetcher(Validate::ValidJpeg);
    let got = f.accept(jpeg(), Some("text/plain")).unwrap();
    assert_eq!((got.width, got.height), (64, 48));
    assert!(matches!(
        f.accept(png(8, 8), Some("image/png")),
        Err(FetchError::Jpeg(JpegError::NoSoi))
    ));
    assert!(f.accept(Vec::new(), Some("image/jpeg")).is_err());
}

#[test]
fn convert_reencodes_png_and_passes_jpeg_through() {
    let mut f = fetcher(Validate::Convert);
    let got = f.accept(png(40, 30), Some("image/png")).unwrap();
    assert_eq!((got.width, got.height), (40, 30));
    let header = turbojpeg::read_header(&got.jpeg).unwrap();
    assert_eq!((header.width, header.height), (40, 30));
    let j = jpeg();
    assert_eq!(&f.accept(j.clone(), None).unwrap().jpeg[..], &j[..]);
    assert!(matches!(
        f.accept(b"<html>".to_vec(), Some("text/html")),
        Err(FetchError::Convert(_))
    ));
}

#[test]
fn non_empty_checks_type_and_emptiness_none_checks_nothing() {
    let mut f = fetcher(Validate::NonEmpty);
    assert!(matches!(
        f.accept(b"<html>".to_vec(), Some("text/html")),
        Err(FetchError::ContentType(_))
    ));
    assert!(f.accept(Vec::new(), Some("image/jpeg")).is_err());
    let got = f.accept(b"raw".to_vec(), Some("image/x-raw")).unwrap();
    assert_eq!((got.width, got.height), (0, 0), "size unknown");
    let mut n = fetcher(Validate::None);
    assert_eq!(
        &n.accept(b"<html>".to_vec(), Some("text/html"))
            .unwrap()
            .jpeg[..],
        b"<html>"
    );
}
