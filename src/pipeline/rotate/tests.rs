//! Unit tests of quarter turns: every format, odd sizes, and the turned picture decoded.

use super::*;
use crate::config::EncoderConfig;
use crate::pipeline::encoder::Encoder;

/// A frame whose every byte says where it came from (plane, x, y).
struct Owned {
    format: PixelFormat,
    width: usize,
    height: usize,
    planes: [Vec<u8>; 3],
    strides: [usize; 3],
}

impl Owned {
    fn new(format: PixelFormat, width: usize, height: usize) -> Self {
        let mins = format.min_strides(width);
        let rows = format.plane_rows(height);
        let mut planes: [Vec<u8>; 3] = Default::default();
        let mut strides = [0; 3];
        for i in 0..format.planes() {
            // Padded strides, as cameras deliver.
            strides[i] = mins[i] + 5;
            planes[i] = (0..strides[i] * rows[i])
                .map(|n| ((n * 7 + i * 31) % 251) as u8)
                .collect();
        }
        Self {
            format,
            width,
            height,
            planes,
            strides,
        }
    }

    fn raw(&self) -> RawFrame<'_> {
        let p = |i: usize| Plane {
            data: &self.planes[i],
            stride: self.strides[i],
        };
        RawFrame {
            format: self.format,
            width: self.width,
            height: self.height,
            planes: [p(0), p(1), p(2)],
        }
    }
}

/// The bytes of unit (x, y) of plane `i`.
fn unit<'a>(f: &'a RawFrame, i: usize, x: usize, y: usize, bpp: usize) -> &'a [u8] {
    let p = f.planes[i];
    &p.data[y * p.stride + x * bpp..y * p.stride + x * bpp + bpp]
}

#[test]
fn a_clockwise_turn_moves_every_unit_where_it_belongs() {
    for format in PixelFormat::ALL {
        for (w, h) in [(7, 5), (8, 6), (33, 17)] {
            let src = Owned::new(format, w, h);
            let raw = src.raw();
            raw.check().unwrap();
            let mut r = Rotator::default();
            let out = r.rotate(&raw, QuarterTurn::Clockwise).into_raw();
            out.check().unwrap();
            assert_eq!((out.width, out.height), (h, w));
            let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
            let planes: Vec<(usize, usize, usize)> = match format {
                PixelFormat::Rgb888 | PixelFormat::Bgr888 => vec![(w, h, 3)],
                PixelFormat::Yuv420 => vec![(w, h, 1), (cw, ch, 1), (cw, ch, 1)],
                PixelFormat::Nv12 => vec![(w, h, 1), (cw, ch, 2)],
            };
            for (i, (pw, ph, bpp)) in planes.into_iter().enumerate() {
                for y in 0..ph {
                    for x in 0..pw {
                        assert_eq!(
                            unit(&out, i, ph - 1 - y, x, bpp),
                            unit(&raw, i, x, y, bpp),
                            "{format:?} {w}x{h} plane {i} ({x},{y})"
                        );
                    }
                }
            }
        }
    }
}

#[test]
fn four_turns_or_one_each_way_give_the_frame_back() {
    for format in PixelFormat::ALL {
        let src = Owned::new(format, 45, 29);
        let mut a = Rotator::default();
        let mut b = Rotator::default();
        let once = a.rotate(&src.raw(), QuarterTurn::Clockwise).into_raw();
        let back = b.rotate(&once, QuarterTurn::CounterClockwise).into_raw();
        let raw = src.raw();
        for i in 0..format.planes() {
            let rows = format.plane_rows(29)[i];
            let min = format.min_strides(45)[i];
            for y in 0..rows {
                assert_eq!(
                    &back.planes[i].data[y * back.planes[i].stride..][..min],
                    &raw.planes[i].data[y * raw.planes[i].stride..][..min],
                    "{format:?} plane {i} row {y}"
                );
            }
        }
    }
}

#[test]
fn a_turned_frame_encodes_with_swapped_dimensions() {
    let src = Owned::new(PixelFormat::Yuv420, 64, 48);
    let mut r = Rotator::default();
    let turned = r
        .rotate(&src.raw(), QuarterTurn::CounterClockwise)
        .into_raw();
    let jpeg = Encoder::new(&EncoderConfig::default())
        .unwrap()
        .encode(&turned)
        .unwrap();
    let header = turbojpeg::read_header(&jpeg).unwrap();
    assert_eq!((header.width, header.height), (48, 64));
}
