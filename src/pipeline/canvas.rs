//! A tiny I420 drawing surface for generated pictures: the test pattern and the placeholder.
//!
//! Draws filled rectangles and 8×8-font text (crate `font8x8`) straight into Y/U/V planes, and
//! hands the result to the encoder in any [`PixelFormat`] (I420 as is; NV12, RGB888 and BGR888
//! converted into buffers kept by the canvas, so a frame allocates nothing).

use font8x8::legacy::BASIC_LEGACY;

use crate::pipeline::encoder::{PixelFormat, Plane, RawFrame};

/// A colour in full-range BT.601 Y'CbCr (what JFIF JPEGs use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Yuv(pub u8, pub u8, pub u8);

impl Yuv {
    pub const WHITE: Yuv = Yuv::from_rgb(255, 255, 255);
    pub const BLACK: Yuv = Yuv::from_rgb(0, 0, 0);
    pub const GREY: Yuv = Yuv::from_rgb(64, 64, 64);

    pub const fn from_rgb(r: u8, g: u8, b: u8) -> Yuv {
        let (r, g, b) = (r as i32, g as i32, b as i32);
        let y = (77 * r + 150 * g + 29 * b + 128) >> 8;
        let u = ((-43 * r - 85 * g + 128 * b + 128) >> 8) + 128;
        let v = ((128 * r - 107 * g - 21 * b + 128) >> 8) + 128;
        Yuv(clamp(y), clamp(u), clamp(v))
    }
}

const fn clamp(x: i32) -> u8 {
    if x < 0 {
        0
    } else if x > 255 {
        255
    } else {
        x as u8
    }
}

/// An I420 picture with even width and height.
pub struct Canvas {
    pub width: usize,
    pub height: usize,
    y: Vec<u8>,
    u: Vec<u8>,
    v: Vec<u8>,
    /// Conversion output for formats other than I420, reused across frames.
    packed: Vec<u8>,
}

impl Canvas {
    /// `width` and `height` are rounded up to even numbers.
    pub fn new(width: usize, height: usize) -> Self {
        let (width, height) = (
            width.max(2).next_multiple_of(2),
            height.max(2).next_multiple_of(2),
        );
        Self {
            width,
            height,
            y: vec![0; width * height],
            u: vec![128; width * height / 4],
            v: vec![128; width * height / 4],
            packed: Vec::new(),
        }
    }

    /// Copies another canvas of the same size (a prerendered background).
    pub fn copy_from(&mut self, other: &Canvas) {
        self.y.copy_from_slice(&other.y);
        self.u.copy_from_slice(&other.u);
        self.v.copy_from_slice(&other.v);
    }

    /// Fills a rectangle, clipped to the canvas. Chroma is written at 2×2 granularity.
    pub fn fill_rect(&mut self, x: usize, y: usize, w: usize, h: usize, c: Yuv) {
        let x1 = (x + w).min(self.width);
        let y1 = (y + h).min(self.height);
        if x >= x1 || y >= y1 {
            return;
        }
        for row in y..y1 {
            self.y[row * self.width + x..row * self.width + x1].fill(c.0);
        }
        let cw = self.width / 2;
        for row in y / 2..y1.div_ceil(2) {
            self.u[row * cw + x / 2..row * cw + x1.div_ceil(2)].fill(c.1);
            self.v[row * cw + x / 2..row * cw + x1.div_ceil(2)].fill(c.2);
        }
    }

    /// Draws `text` with its top-left corner at (x, y), each font pixel `scale`×`scale`.
    /// Characters outside ASCII are drawn as '?'.
    pub fn draw_text(&mut self, x: usize, y: usize, scale: usize, text: &str, c: Yuv) {
        for (i, ch) in text.chars().enumerate() {
            let glyph = BASIC_LEGACY[if ch.is_ascii() {
                ch as usize
            } else {
                b'?' as usize
            }];
            let gx = x + i * 8 * scale;
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        self.fill_rect(gx + col * scale, y + row * scale, scale, scale, c);
                    }
                }
            }
        }
    }

    /// Replaces every luma value `y` by `table[y]` (a tone curve: brightness, contrast).
    pub fn map_luma(&mut self, table: &[u8; 256]) {
        for y in &mut self.y {
            *y = table[usize::from(*y)];
        }
    }

    /// Width in pixels of `text` drawn at `scale`.
    pub fn text_width(text: &str, scale: usize) -> usize {
        text.chars().count() * 8 * scale
    }

    /// The picture as a raw frame in `format`, converting into the canvas' own buffer if needed.
    pub fn raw_frame(&mut self, format: PixelFormat) -> RawFrame<'_> {
        let (w, h) = (self.width, self.height);
        let none = Plane {
            data: &[],
            stride: 0,
        };
        match format {
            PixelFormat::Yuv420 => RawFrame {
                format,
                width: w,
                height: h,
                planes: [
                    Plane {
                        data: &self.y,
                        stride: w,
                    },
                    Plane {
                        data: &self.u,
                        stride: w / 2,
                    },
                    Plane {
                        data: &self.v,
                        stride: w / 2,
                    },
                ],
            },
            PixelFormat::Nv12 => {
                self.packed.resize(w * h / 2, 0);
                for ((pair, u), v) in self.packed.chunks_exact_mut(2).zip(&self.u).zip(&self.v) {
                    pair[0] = *u;
                    pair[1] = *v;
                }
                RawFrame {
                    format,
                    width: w,
                    height: h,
                    planes: [
                        Plane {
                            data: &self.y,
                            stride: w,
                        },
                        Plane {
                            data: &self.packed,
                            stride: w,
                        },
                        none,
                    ],
                }
            }
            PixelFormat::Rgb888 | PixelFormat::Bgr888 => {
                self.pack_rgb(format == PixelFormat::Bgr888);
                RawFrame {
                    format,
                    width: w,
                    height: h,
                    planes: [
                        Plane {
                            data: &self.packed,
                            stride: w * 3,
                        },
                        none,
                        none,
                    ],
                }
            }
        }
    }

    fn pack_rgb(&mut self, bgr: bool) {
        let (w, h) = (self.width, self.height);
        self.packed.resize(w * h * 3, 0);
        for row in 0..h {
            let crow = (row / 2) * (w / 2);
            let out = &mut self.packed[row * w * 3..(row + 1) * w * 3];
            for (col, px) in out.chunks_exact_mut(3).enumerate() {
                let y = self.y[row * w + col] as i32;
                let u = self.u[crow + col / 2] as i32 - 128;
                let v = self.v[crow + col / 2] as i32 - 128;
                let r = clamp(y + ((359 * v) >> 8));
                let g = clamp(y - ((88 * u + 183 * v) >> 8));
                let b = clamp(y + ((454 * u) >> 8));
                (px[0], px[1], px[2]) = if bgr { (b, g, r) } else { (r, g, b) };
            }
        }
    }
}

#[cfg(test)]
mod tests;
