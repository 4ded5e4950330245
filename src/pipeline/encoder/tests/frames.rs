//! Test frames for `encoder_tests.rs`: raw frames in every pixel format with padded strides
//! whose padding is garbage, built from a per-pixel RGB function.

use super::super::{PixelFormat, Plane, RawFrame};

/// Quadrant colours: a U/V swap, an RGB/BGR mixup or a wrong row stride changes at least one.
pub const RED: [u8; 3] = [255, 0, 0];
pub const BLUE: [u8; 3] = [0, 0, 255];
pub const GREEN: [u8; 3] = [0, 200, 0];
pub const YELLOW: [u8; 3] = [230, 220, 40];

/// Where the quadrants meet: about the middle, rounded down to a multiple of 16 (MCU-aligned).
pub fn split(w: usize, h: usize) -> (usize, usize) {
    ((w / 2 / 16 * 16).max(16), (h / 2 / 16 * 16).max(16))
}

pub fn quadrant_colour(x: usize, y: usize, (sx, sy): (usize, usize)) -> [u8; 3] {
    match (x < sx, y < sy) {
        (true, true) => RED,
        (false, true) => BLUE,
        (true, false) => GREEN,
        (false, false) => YELLOW,
    }
}

/// Deterministic garbage (xorshift) for padding bytes, which must never reach the picture.
pub fn garbage(len: usize, seed: u32) -> Vec<u8> {
    let mut s = seed | 1;
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as u8
        })
        .collect()
}

/// JFIF (full-range BT.601) RGB → YCbCr, as libjpeg-turbo decodes it.
pub fn ycbcr([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (r as f64, g as f64, b as f64);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let cb = 128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b;
    let cr = 128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b;
    [y, cb, cr].map(|v| v.round().clamp(0.0, 255.0) as u8)
}

/// Owned planes of a raw test frame; `pad` extra garbage bytes end every row and every plane.
pub struct TestFrame {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    pub planes: Vec<(Vec<u8>, usize)>,
}

impl TestFrame {
    pub fn new(
        format: PixelFormat,
        width: usize,
        height: usize,
        pad: usize,
        pixel: impl Fn(usize, usize) -> [u8; 3],
    ) -> Self {
        let mins = format.min_strides(width);
        let rows = format.plane_rows(height);
        let mut planes: Vec<(Vec<u8>, usize)> = (0..format.planes())
            .map(|i| {
                let stride = mins[i] + pad;
                (garbage(stride * rows[i] + pad, 7 + i as u32), stride)
            })
            .collect();
        for y in 0..height {
            for x in 0..width {
                let rgb = pixel(x, y);
                let (cx, cy) = (x / 2, y / 2);
                match format {
                    PixelFormat::Rgb888 | PixelFormat::Bgr888 => {
                        let (buf, stride) = &mut planes[0];
                        let mut px = rgb;
                        if format == PixelFormat::Bgr888 {
                            px.reverse();
                        }
                        buf[y * *stride + x * 3..][..3].copy_from_slice(&px);
                    }
                    PixelFormat::Yuv420 | PixelFormat::Nv12 => {
                        let [luma, cb, cr] = ycbcr(rgb);
                        let stride = planes[0].1;
                        planes[0].0[y * stride + x] = luma;
                        // Chroma comes from the top-left pixel of each 2×2 block.
                        if x % 2 == 0 && y % 2 == 0 {
                            if format == PixelFormat::Yuv420 {
                                for (plane, value) in [(1, cb), (2, cr)] {
                                    let (buf, stride) = &mut planes[plane];
                                    buf[cy * *stride + cx] = value;
                                }
                            } else {
                                let (buf, stride) = &mut planes[1];
                                buf[cy * *stride + cx * 2..][..2].copy_from_slice(&[cb, cr]);
                            }
                        }
                    }
                }
            }
        }
        Self {
            format,
            width,
            height,
            planes,
        }
    }

    pub fn quadrants(format: PixelFormat, width: usize, height: usize, pad: usize) -> Self {
        let s = split(width, height);
        Self::new(format, width, height, pad, |x, y| quadrant_colour(x, y, s))
    }

    pub fn raw(&self) -> RawFrame<'_> {
        let empty = Plane {
            data: &[],
            stride: 0,
        };
        let mut planes = [empty; 3];
        for (i, (data, stride)) in self.planes.iter().enumerate() {
            planes[i] = Plane {
                data,
                stride: *stride,
            };
        }
        RawFrame {
            format: self.format,
            width: self.width,
            height: self.height,
            planes,
        }
    }
}
