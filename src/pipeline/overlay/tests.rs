//! Unit tests of the overlay: the text decoded back from the JPEG matches a reference mask, in
//! every pixel format and corner; times are formatted once a second.

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::config::{EncoderConfig, Quality};
use crate::pipeline::encoder::{Encoder, Plane, RawFrame};

/// A flat mid-grey frame in `format`, tightly packed.
fn grey(format: PixelFormat, w: usize, h: usize) -> ([Vec<u8>; 3], [usize; 3]) {
    let strides = format.min_strides(w);
    let rows = format.plane_rows(h);
    let mut planes: [Vec<u8>; 3] = Default::default();
    for i in 0..format.planes() {
        planes[i] = vec![128; strides[i] * rows[i]];
    }
    (planes, strides)
}

fn overlay(text: &str, position: OverlayPosition) -> Overlay {
    Overlay::new(&OverlayConfig {
        text: text.into(),
        position,
        scale: 2,
        background: true,
        utc: true,
    })
    .expect("enabled")
}

/// Draws `text`, encodes at q95, decodes to grey; returns the decoded luma.
fn drawn(format: PixelFormat, position: OverlayPosition, text: &str) -> Vec<u8> {
    let (w, h) = (320, 240);
    let (mut planes, strides) = grey(format, w, h);
    {
        let [a, b, c] = &mut planes;
        let mut f = FrameMut {
            format,
            width: w,
            height: h,
            planes: [a, b, c],
            strides,
        };
        overlay(text, position).draw(&mut f, UNIX_EPOCH);
    }
    let p = |i: usize| Plane {
        data: &planes[i],
        stride: strides[i],
    };
    let raw = RawFrame {
        format,
        width: w,
        height: h,
        planes: [p(0), p(1), p(2)],
    };
    let config = EncoderConfig {
        quality: Quality(95),
        ..EncoderConfig::default()
    };
    let jpeg = Encoder::new(&config).unwrap().encode(&raw).unwrap();
    turbojpeg::decompress(&jpeg, turbojpeg::PixelFormat::GRAY)
        .unwrap()
        .pixels
}

/// Where the text's pixels are (true) inside its box at scale 2, margin 2, for `text` drawn
/// with its box's corner at (bx, by).
fn expected(text: &str, bx: usize, by: usize, x: usize, y: usize) -> Option<bool> {
    let (tx, ty) = (bx + 2, by + 2);
    let bw = text.len() * 16 + 4;
    if x < bx || y < by || x >= bx + bw || y >= by + 20 {
        return None; // outside the box
    }
    if x < tx || y < ty || x >= tx + text.len() * 16 || y >= ty + 16 {
        return Some(false);
    }
    let (i, col, row) = ((x - tx) / 16, (x - tx) % 16 / 2, (y - ty) / 2);
    let glyph = BASIC_LEGACY[text.as_bytes()[i] as usize];
    Some(glyph[row] & (1 << col) != 0)
}

#[test]
fn the_text_reads_back_from_the_jpeg_in_every_format_and_corner() {
    let text = "CAM 1 %H:%M:%S";
    let shown = "CAM 1 00:00:00"; // UNIX_EPOCH in UTC
    for format in PixelFormat::ALL {
        for (position, bx, by) in [
            (OverlayPosition::TopLeft, 2, 2),
            (
                OverlayPosition::BottomRight,
                320 - 2 - (14 * 16 + 4),
                240 - 2 - 20,
            ),
        ] {
            let luma = drawn(format, position, text);
            let (mut wrong, mut checked) = (0, 0);
            for y in 0..240 {
                for x in 0..320 {
                    let v = luma[y * 320 + x];
                    match expected(shown, bx, by, x, y) {
                        Some(true) => {
                            checked += 1;
                            wrong += usize::from(v < 150);
                        }
                        Some(false) => {
                            checked += 1;
                            wrong += usize::from(v > 100);
                        }
                        None => wrong += usize::from(v.abs_diff(128) > 12),
                    }
                }
            }
            // JPEG blurs glyph edges a little; the text and its box are where they belong.
            assert!(checked > 4000, "{format:?}: box not found");
            assert!(
                wrong * 100 < checked * 3,
                "{format:?} {position:?}: {wrong} of {checked} pixels off"
            );
        }
    }
}

#[test]
fn text_is_formatted_once_a_second_and_empty_text_is_off() {
    assert!(Overlay::new(&OverlayConfig::default()).is_none());
    let mut o = overlay("%Y-%m-%d %H:%M:%S", OverlayPosition::TopLeft);
    let t = UNIX_EPOCH + Duration::from_secs(86_400 + 3_661);
    assert_eq!(o.text(t), "1970-01-02 01:01:01");
    let same_second = t + Duration::from_millis(999);
    assert_eq!(o.text(same_second), "1970-01-02 01:01:01");
    assert_eq!(o.text(t + Duration::from_secs(1)), "1970-01-02 01:01:02");
}

#[test]
fn a_picture_too_small_for_the_text_is_left_alone() {
    let (mut planes, strides) = grey(PixelFormat::Yuv420, 32, 16);
    let before = planes.clone();
    let [a, b, c] = &mut planes;
    let mut f = FrameMut {
        format: PixelFormat::Yuv420,
        width: 32,
        height: 16,
        planes: [a, b, c],
        strides,
    };
    overlay("far too long for it", OverlayPosition::TopLeft).draw(&mut f, UNIX_EPOCH);
    assert_eq!(planes, before);
}
