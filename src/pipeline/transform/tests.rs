//! Unit tests of the transform: nothing changes without a turn or an overlay; a turn swaps the
//! size and moves every pixel; the overlay is drawn after the turn, so its text stands upright.

use std::time::UNIX_EPOCH;

use super::*;
use crate::config::OverlayPosition;
use crate::pipeline::encoder::PixelFormat;

/// An I420 frame whose every luma byte is distinct-ish (x + 7y), chroma flat.
fn planes(w: usize, h: usize) -> [Vec<u8>; 3] {
    let luma = (0..h)
        .flat_map(|y| (0..w).map(move |x| (x + 7 * y) as u8))
        .collect();
    let c = vec![128; w.div_ceil(2) * h.div_ceil(2)];
    [luma, c.clone(), c]
}

fn frame_mut<'a>(p: &'a mut [Vec<u8>; 3], w: usize, h: usize) -> FrameMut<'a> {
    let [a, b, c] = p;
    FrameMut {
        format: PixelFormat::Yuv420,
        width: w,
        height: h,
        planes: [a, b, c],
        strides: [w, w.div_ceil(2), w.div_ceil(2)],
    }
}

fn label() -> OverlayConfig {
    OverlayConfig {
        text: "LAB 7".into(),
        position: OverlayPosition::TopLeft,
        scale: 2,
        background: true,
        utc: true,
    }
}

fn luma(f: &RawFrame) -> Vec<u8> {
    f.planes[0].data[..f.width * f.height].to_vec()
}

#[test]
fn without_a_turn_or_an_overlay_the_frame_passes_through() {
    assert!(Transform::default().is_identity());
    let (w, h) = (40, 24);
    let mut p = planes(w, h);
    let before = p[0].clone();
    let mut t = Transformer::new(&Transform::default());
    let out = t.apply(frame_mut(&mut p, w, h), UNIX_EPOCH);
    assert_eq!((out.width, out.height), (w, h));
    assert_eq!(luma(&out), before);
}

#[test]
fn a_clockwise_turn_swaps_the_size_and_moves_the_top_left_pixel_to_the_top_right() {
    let (w, h) = (40, 24);
    let mut p = planes(w, h);
    let transform = Transform {
        turn: Some(QuarterTurn::Clockwise),
        ..Transform::default()
    };
    assert!(!transform.is_identity());
    let mut t = Transformer::new(&transform);
    let out = t.apply(frame_mut(&mut p, w, h), UNIX_EPOCH);
    assert_eq!((out.width, out.height), (h, w));
    let at = |x: usize, y: usize| out.planes[0].data[y * out.planes[0].stride + x];
    // Source (x, y) lands at (h - 1 - y, x) after a clockwise turn.
    for (x, y) in [(0, 0), (39, 0), (0, 23), (17, 5)] {
        assert_eq!(
            at(h - 1 - y, x),
            (x + 7 * y) as u8,
            "source pixel ({x}, {y})"
        );
    }
}

#[test]
fn the_overlay_is_drawn_after_the_turn_so_the_text_stands_upright() {
    let (w, h) = (160, 96);
    let with_both = Transform {
        turn: Some(QuarterTurn::Clockwise),
        overlay: label(),
    };
    let mut p = planes(w, h);
    let mut t = Transformer::new(&with_both);
    let got = luma(&t.apply(frame_mut(&mut p, w, h), UNIX_EPOCH));

    // Reference: turn first, then draw the label on the turned picture.
    let mut p2 = planes(w, h);
    let mut turn_only = Transformer::new(&Transform {
        turn: Some(QuarterTurn::Clockwise),
        ..Transform::default()
    });
    let mut turned = planes(h, w);
    turned[0] = luma(&turn_only.apply(frame_mut(&mut p2, w, h), UNIX_EPOCH));
    let mut label_only = Transformer::new(&Transform {
        overlay: label(),
        ..Transform::default()
    });
    let upright = luma(&label_only.apply(frame_mut(&mut turned, h, w), UNIX_EPOCH));
    assert_eq!(got, upright);

    // And not the other order (the text would lie on its side).
    let mut p3 = planes(w, h);
    let mut label_first = Transformer::new(&Transform {
        overlay: label(),
        ..Transform::default()
    });
    let mut labelled = planes(w, h);
    labelled[0] = luma(&label_first.apply(frame_mut(&mut p3, w, h), UNIX_EPOCH));
    let sideways = luma(&turn_only.apply(frame_mut(&mut labelled, w, h), UNIX_EPOCH));
    assert_ne!(got, sideways);
}
