//! Unit tests of `canvas`.

use super::*;

#[test]
fn rects_are_clipped_and_text_marks_pixels() {
    let mut c = Canvas::new(33, 17);
    assert_eq!((c.width, c.height), (34, 18));
    c.fill_rect(30, 10, 100, 100, Yuv::WHITE);
    assert_eq!(c.y[17 * 34 + 33], 255);
    assert_eq!(c.y[0], 0);
    c.draw_text(0, 0, 1, "8", Yuv::WHITE);
    assert!(c.y[..8 * 34].contains(&255));
}

#[test]
fn rgb_conversion_round_trips_primary_colours() {
    let mut c = Canvas::new(4, 4);
    c.fill_rect(0, 0, 4, 4, Yuv::from_rgb(255, 0, 0));
    let frame = c.raw_frame(PixelFormat::Rgb888);
    let px = &frame.planes[0].data[..3];
    assert!(px[0] > 240 && px[1] < 15 && px[2] < 15, "{px:?}");
    let frame = c.raw_frame(PixelFormat::Bgr888);
    let px = &frame.planes[0].data[..3];
    assert!(px[2] > 240 && px[0] < 15, "{px:?}");
}
