//! The benchmark picture: deterministic and natural-ish (smooth gradients, a few hard-edged
//! shapes, fine stripes and pixel noise), because a flat test card compresses unrealistically
//! fast. The same RGB picture is converted to every input format, so all rows of the table
//! encode the same content.

use std::io::Write;
use std::path::Path;

use streamserver::pipeline::encoder::{PixelFormat, Plane, RawFrame};

/// One picture in one pixel format, with tight strides.
pub struct Picture {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    /// `format.planes()` planes and their strides.
    pub planes: Vec<(Vec<u8>, usize)>,
}

impl Picture {
    /// The picture in `format` at `width`×`height` (any size ≥ 1×1).
    pub fn new(format: PixelFormat, width: usize, height: usize) -> Self {
        let rgb = natural_rgb(width, height);
        let planes = match format {
            PixelFormat::Rgb888 => vec![(rgb, width * 3)],
            PixelFormat::Bgr888 => {
                let mut bgr = rgb;
                bgr.chunks_exact_mut(3).for_each(|px| px.swap(0, 2));
                vec![(bgr, width * 3)]
            }
            PixelFormat::Yuv420 => {
                let (y, u, v) = to_i420(&rgb, width, height);
                let cw = width.div_ceil(2);
                vec![(y, width), (u, cw), (v, cw)]
            }
            PixelFormat::Nv12 => {
                let (y, u, v) = to_i420(&rgb, width, height);
                let uv = u.iter().zip(&v).flat_map(|(u, v)| [*u, *v]).collect();
                vec![(y, width), (uv, width.div_ceil(2) * 2)]
            }
        };
        Self {
            format,
            width,
            height,
            planes,
        }
    }

    /// Borrows the picture as the encoder's input.
    pub fn raw(&self) -> RawFrame<'_> {
        let mut planes = [Plane {
            data: &[],
            stride: 0,
        }; 3];
        for (slot, (data, stride)) in planes.iter_mut().zip(&self.planes) {
            *slot = Plane {
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

/// Writes the RGB picture as a binary PPM (for `tjbench`).
pub fn write_ppm(path: &Path, width: usize, height: usize) -> std::io::Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    write!(file, "P6\n{width} {height}\n255\n")?;
    file.write_all(&natural_rgb(width, height))?;
    file.flush()
}

/// Packed RGB888, tight stride. Coordinates are scaled to the size, so every size shows the
/// same scene; the noise is per pixel.
pub fn natural_rgb(width: usize, height: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(width * height * 3);
    let mut rng = 0x9E37_79B9_u32;
    for y in 0..height {
        for x in 0..width {
            let (u, v) = (x as f32 / width as f32, y as f32 / height as f32);
            // Sky-to-ground gradients with slow waves.
            let mut r = 90.0 + 80.0 * v + 30.0 * (u * 7.0 + v * 3.0).sin();
            let mut g = 120.0 + 50.0 * (u * 4.0 - v * 5.0).cos();
            let mut b = 200.0 - 120.0 * v + 25.0 * (u * 11.0).sin();
            // A sun (hard circular edge), a house (rectangle), a fence (fine stripes).
            if (u - 0.75).powi(2) + (v - 0.25).powi(2) < 0.012 {
                (r, g, b) = (250.0, 220.0 - 60.0 * v, 80.0);
            } else if (0.15..0.45).contains(&u) && (0.45..0.85).contains(&v) {
                let brick = ((x / 6 + (y / 4) % 2 * 3) % 2) as f32;
                (r, g, b) = (150.0 + 40.0 * brick, 70.0 + 10.0 * brick, 50.0);
            } else if v > 0.7 && (x / 3) % 2 == 0 {
                (r, g, b) = (r * 0.5, g * 0.8, b * 0.4);
            }
            for c in [&mut r, &mut g, &mut b] {
                rng ^= rng << 13;
                rng ^= rng >> 17;
                rng ^= rng << 5;
                *c += (rng % 25) as f32 - 12.0;
                out.push(c.clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

/// RGB → I420 (JFIF full-range BT.601), chroma averaged over each 2×2 block.
fn to_i420(rgb: &[u8], width: usize, height: usize) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let (cw, ch) = (width.div_ceil(2), height.div_ceil(2));
    let px = |x: usize, y: usize| {
        let p = &rgb[(y * width + x) * 3..][..3];
        (p[0] as f32, p[1] as f32, p[2] as f32)
    };
    let mut luma = Vec::with_capacity(width * height);
    for y in 0..height {
        for x in 0..width {
            let (r, g, b) = px(x, y);
            luma.push((0.299 * r + 0.587 * g + 0.114 * b).round() as u8);
        }
    }
    let (mut cb, mut cr) = (Vec::with_capacity(cw * ch), Vec::with_capacity(cw * ch));
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut r, mut g, mut b, mut n) = (0.0, 0.0, 0.0, 0.0);
            for (x, y) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                let (x, y) = (cx * 2 + x, cy * 2 + y);
                if x < width && y < height {
                    let p = px(x, y);
                    (r, g, b, n) = (r + p.0, g + p.1, b + p.2, n + 1.0);
                }
            }
            let (r, g, b) = (r / n, g / n, b / n);
            cb.push((128.0 - 0.168736 * r - 0.331264 * g + 0.5 * b).round() as u8);
            cr.push((128.0 + 0.5 * r - 0.418688 * g - 0.081312 * b).round() as u8);
        }
    }
    (luma, cb, cr)
}

#[cfg(test)]
mod tests;
