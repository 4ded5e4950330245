//! A reference rendering of a stream's overlay, to compare streamed frames against: the
//! library's overlay drawn on a flat grey frame of the stream's size, encoded and decoded as a
//! streamed frame is, and the box it covers. Shared with the server's tests (`#[path]`).
#![allow(dead_code)] // each including file uses a part

use std::time::SystemTime;

use streamserver::config::{EncoderConfig, OverlayConfig, Quality};
use streamserver::pipeline::encoder::{Encoder, FrameMut, PixelFormat};
use streamserver::pipeline::overlay::Overlay;

/// `(x, y, width, height)` in pixels.
pub type Rect = (usize, usize, usize, usize);

/// A JPEG decoded to 8-bit grey (luma): `(width, height, pixels)`.
pub fn luma(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut d = turbojpeg::Decompressor::new().unwrap();
    let header = d.read_header(jpeg).expect("a JPEG");
    let (w, h) = (header.width, header.height);
    let mut pixels = vec![0u8; w * h];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: w,
        pitch: w,
        height: h,
        format: turbojpeg::PixelFormat::GRAY,
    };
    d.decompress(jpeg, image).expect("decodes");
    (w, h, pixels)
}

/// The overlay of `config` alone on a grey `w`×`h` frame at `at`, as decoded luma, and its box.
pub fn reference(config: &OverlayConfig, w: usize, h: usize, at: SystemTime) -> (Rect, Vec<u8>) {
    let mut overlay = Overlay::new(config).expect("an overlay with text");
    let (rect, _) = overlay.area(w, h, at).expect("the text fits");
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let (mut y, mut u, mut v) = (
        vec![128u8; w * h],
        vec![128u8; cw * ch],
        vec![128u8; cw * ch],
    );
    let mut frame = FrameMut {
        format: PixelFormat::Yuv420,
        width: w,
        height: h,
        planes: [&mut y, &mut u, &mut v],
        strides: [w, cw, cw],
    };
    overlay.draw(&mut frame, at);
    let config = EncoderConfig {
        quality: Quality(80),
        ..EncoderConfig::default()
    };
    let jpeg = Encoder::new(&config)
        .unwrap()
        .encode(&frame.into_raw())
        .unwrap();
    (rect, luma(&jpeg).2)
}

/// Mean absolute difference of two `w`-wide luma pictures inside `rect` shrunk by `inset` on
/// every side (JPEG blocks smear the box's edges into the picture around it).
pub fn mean_diff(a: &[u8], b: &[u8], w: usize, rect: Rect, inset: usize) -> f64 {
    let (x, y, rw, rh) = rect;
    let (mut sum, mut n) = (0u64, 0u64);
    for row in y + inset..y + rh - inset {
        for col in x + inset..x + rw - inset {
            sum += u64::from(a[row * w + col].abs_diff(b[row * w + col]));
            n += 1;
        }
    }
    sum as f64 / n.max(1) as f64
}
