//! Text over the picture, drawn into the raw frame just before it is encoded
//! (`[stream.overlay]`): a strftime-style time and fixed text, in the 8×8 font of
//! [`super::canvas`], on an optional dark box.
//!
//! It writes the planes as they are — luma only for YUV (plus a neutral grey in the chroma under
//! the box), the three bytes directly for RGB/BGR — so there is no colour conversion and no
//! extra copy: the encoding worker draws into its own copy of the frame. The text changes once a
//! second at most, so it is formatted once a second.

use std::time::SystemTime;

use chrono::{DateTime, Local, Utc};
use font8x8::legacy::BASIC_LEGACY;

pub use super::encoder::FrameMut;
use super::encoder::PixelFormat;
use crate::config::{OverlayConfig, OverlayPosition};

/// Luma of the text and of the box (full range).
const TEXT_Y: u8 = 235;
const BOX_Y: u8 = 16;
/// Margin between the box and the picture's edge, and around the text, in font pixels.
const MARGIN: usize = 1;

/// A stream's overlay, with its text of the current second.
#[derive(Debug)]
pub struct Overlay {
    config: OverlayConfig,
    /// (Unix second, text) of the last formatting.
    cached: Option<(i64, String)>,
}

impl Overlay {
    /// `None` when the config has no text.
    pub fn new(config: &OverlayConfig) -> Option<Self> {
        config.is_enabled().then(|| Self {
            config: config.clone(),
            cached: None,
        })
    }

    /// The text for a frame captured at `at`.
    pub fn text(&mut self, at: SystemTime) -> &str {
        let utc: DateTime<Utc> = at.into();
        let second = utc.timestamp();
        if self.cached.as_ref().is_none_or(|(s, _)| *s != second) {
            let text = if self.config.utc {
                utc.format(&self.config.text).to_string()
            } else {
                DateTime::<Local>::from(at)
                    .format(&self.config.text)
                    .to_string()
            };
            self.cached = Some((second, text));
        }
        &self.cached.as_ref().expect("set above").1
    }

    /// Where the overlay of a frame captured at `at` goes in a `width`×`height` picture: its box
    /// `(x, y, width, height)` and the font scale; `None` when the picture is too small for it.
    pub fn area(
        &mut self,
        width: usize,
        height: usize,
        at: SystemTime,
    ) -> Option<((usize, usize, usize, usize), usize)> {
        let (config_scale, position) = (self.config.scale, self.config.position);
        let chars = self.text(at).chars().count();
        let scale = match config_scale {
            0 => (height / 320).max(1),
            s => s as usize,
        };
        let cell = 8 * scale;
        let (tw, th) = (chars * cell, cell);
        let m = MARGIN * scale;
        let (bw, bh) = (tw + 2 * m, th + 2 * m);
        if bw + 2 * m > width || bh + 2 * m > height {
            return None; // a picture too small for the text: leave it alone
        }
        let bx = match position {
            OverlayPosition::TopLeft | OverlayPosition::BottomLeft => m,
            OverlayPosition::TopRight | OverlayPosition::BottomRight => width - m - bw,
        };
        let by = match position {
            OverlayPosition::TopLeft | OverlayPosition::TopRight => m,
            OverlayPosition::BottomLeft | OverlayPosition::BottomRight => height - m - bh,
        };
        Some(((bx, by, bw, bh), scale))
    }

    /// Draws the overlay for a frame captured at `at` into `frame`.
    pub fn draw(&mut self, frame: &mut FrameMut, at: SystemTime) {
        let Some(((bx, by, bw, bh), scale)) = self.area(frame.width, frame.height, at) else {
            return;
        };
        let (cell, m, background) = (8 * scale, MARGIN * scale, self.config.background);
        let text = self.text(at).to_owned();
        if background {
            fill(frame, bx, by, bw, bh, Ink::Box);
        }
        let (tx, ty) = (bx + m, by + m);
        for (i, ch) in text.chars().enumerate() {
            let glyph = BASIC_LEGACY[if ch.is_ascii() {
                ch as usize
            } else {
                b'?' as usize
            }];
            for (row, bits) in glyph.iter().enumerate() {
                for col in 0..8 {
                    if bits & (1 << col) != 0 {
                        let x = tx + i * cell + col * scale;
                        fill(frame, x, ty + row * scale, scale, scale, Ink::Text);
                    }
                }
            }
        }
    }
}

#[derive(Clone, Copy)]
enum Ink {
    Text,
    Box,
}

/// Fills a rectangle (inside the frame) with `ink`.
fn fill(f: &mut FrameMut, x: usize, y: usize, w: usize, h: usize, ink: Ink) {
    let luma = match ink {
        Ink::Text => TEXT_Y,
        Ink::Box => BOX_Y,
    };
    match f.format {
        PixelFormat::Rgb888 | PixelFormat::Bgr888 => {
            // Full-range luma of grey is its RGB value.
            for row in y..y + h {
                let line = &mut f.planes[0][row * f.strides[0]..];
                line[x * 3..(x + w) * 3].fill(luma);
            }
        }
        PixelFormat::Yuv420 | PixelFormat::Nv12 => {
            for row in y..y + h {
                f.planes[0][row * f.strides[0] + x..][..w].fill(luma);
            }
            if let Ink::Box = ink {
                // Neutral chroma under the box, so it is grey whatever the picture's colour.
                let (cx, cy, cw, ch) = (
                    x / 2,
                    y / 2,
                    (x + w).div_ceil(2) - x / 2,
                    (y + h).div_ceil(2) - y / 2,
                );
                if f.format == PixelFormat::Yuv420 {
                    for p in 1..3 {
                        for row in cy..cy + ch {
                            f.planes[p][row * f.strides[p] + cx..][..cw].fill(128);
                        }
                    }
                } else {
                    for row in cy..cy + ch {
                        f.planes[1][row * f.strides[1] + cx * 2..][..cw * 2].fill(128);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
