//! Quarter turns of a raw frame before encoding (`rotation = 90 | 270`).
//!
//! Cameras flip and turn by 180° in the sensor, but hardly any can transpose, so a quarter turn
//! is done here, on the raw planes, into buffers this [`Rotator`] keeps from frame to frame:
//! byte planes (luma, I420 chroma) in 8×8 blocks transposed in registers, NV12's U/V pairs and
//! packed RGB unit by unit in square tiles (so reads and writes stay within a few cache lines),
//! chroma planes at their own size. It works
//! for every size, odd ones included. (The alternative, libjpeg-turbo's lossless transform of
//! the encoded JPEG, is measured by `streamserver-bench transform`; it cannot turn a frame whose
//! size is not a multiple of the JPEG block size without cropping it, e.g. 1080 rows at 4:2:0.)

use super::encoder::{FrameMut, PixelFormat, Plane, RawFrame};

/// Tile side in pixels: 32×32 pixels of 3 bytes fit the L1 cache with room to spare.
const TILE: usize = 32;

/// A quarter turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuarterTurn {
    /// 90° clockwise.
    Clockwise,
    /// 90° counter-clockwise (270° clockwise).
    CounterClockwise,
}

/// Rotates frames into buffers it keeps (one per encoding worker).
#[derive(Debug, Default)]
pub struct Rotator {
    planes: [Vec<u8>; 3],
}

impl Rotator {
    /// `frame` turned by `turn`: width and height swapped, tightly packed planes (writable, for
    /// the overlay). The frame must have passed [`RawFrame::check`].
    pub fn rotate<'a>(&'a mut self, frame: &RawFrame, turn: QuarterTurn) -> FrameMut<'a> {
        let (w, h) = (frame.width, frame.height);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        // (plane width, plane height, bytes per unit) of each source plane.
        let dims: [(usize, usize, usize); 3] = match frame.format {
            PixelFormat::Rgb888 | PixelFormat::Bgr888 => [(w, h, 3), (0, 0, 0), (0, 0, 0)],
            PixelFormat::Yuv420 => [(w, h, 1), (cw, ch, 1), (cw, ch, 1)],
            PixelFormat::Nv12 => [(w, h, 1), (cw, ch, 2), (0, 0, 0)],
        };
        let mut strides = [0; 3];
        for (i, &(pw, ph, bpp)) in dims.iter().enumerate().take(frame.format.planes()) {
            let src = frame.planes[i];
            // The turned plane is `ph` units wide and `pw` rows high.
            let dst_stride = ph * bpp;
            let dst = &mut self.planes[i];
            dst.resize(dst_stride * pw, 0);
            strides[i] = dst_stride;
            match bpp {
                1 => turn_bytes(src, pw, ph, dst, dst_stride, turn),
                2 => turn_plane::<2>(src, pw, ph, dst, dst_stride, turn),
                _ => turn_plane::<3>(src, pw, ph, dst, dst_stride, turn),
            }
        }
        let [p0, p1, p2] = &mut self.planes;
        FrameMut {
            format: frame.format,
            width: h,
            height: w,
            planes: [&mut p0[..], &mut p1[..], &mut p2[..]],
            strides,
        }
    }
}

/// Turns a plane of single bytes (luma, I420 chroma): whole 8×8 blocks as eight 64-bit words
/// transposed in registers ([`transpose8`]), the ragged right and bottom edges byte by byte.
fn turn_bytes(src: Plane, w: usize, h: usize, dst: &mut [u8], ds: usize, turn: QuarterTurn) {
    let (w8, h8) = (w - w % 8, h - h % 8);
    for by in (0..h8).step_by(8) {
        for bx in (0..w8).step_by(8) {
            let mut rows = [0u64; 8];
            for (j, row) in rows.iter_mut().enumerate() {
                // Clockwise reads the block's rows bottom-up: the turned rows run right to left.
                let y = match turn {
                    QuarterTurn::Clockwise => by + 7 - j,
                    QuarterTurn::CounterClockwise => by + j,
                };
                let at = y * src.stride + bx;
                *row = u64::from_le_bytes(src.data[at..at + 8].try_into().expect("8 bytes"));
            }
            let cols = transpose8(rows);
            for (i, col) in cols.iter().enumerate() {
                let (dr, dc) = match turn {
                    QuarterTurn::Clockwise => (bx + i, h - 8 - by),
                    QuarterTurn::CounterClockwise => (w - 1 - bx - i, by),
                };
                dst[dr * ds + dc..dr * ds + dc + 8].copy_from_slice(&col.to_le_bytes());
            }
        }
    }
    // The edges: columns right of the last whole block, then rows below it.
    let edge = |x: usize, y: usize, dst: &mut [u8]| {
        let (dr, dc) = match turn {
            QuarterTurn::Clockwise => (x, h - 1 - y),
            QuarterTurn::CounterClockwise => (w - 1 - x, y),
        };
        dst[dr * ds + dc] = src.data[y * src.stride + x];
    };
    for y in 0..h {
        for x in w8..w {
            edge(x, y, dst);
        }
    }
    for y in h8..h {
        for x in 0..w8 {
            edge(x, y, dst);
        }
    }
}

/// Transposes an 8×8 block of bytes held as eight little-endian rows: byte `j` of result `i`
/// is byte `i` of row `j`. Three rounds swap 1-, 2- and 4-byte groups between row pairs.
fn transpose8(mut r: [u64; 8]) -> [u64; 8] {
    const ROUNDS: [(usize, u32, u64); 3] = [
        (1, 8, 0x00FF_00FF_00FF_00FF),
        (2, 16, 0x0000_FFFF_0000_FFFF),
        (4, 32, 0x0000_0000_FFFF_FFFF),
    ];
    for (dist, shift, mask) in ROUNDS {
        for i in 0..8 {
            if i & dist == 0 {
                let (a, b) = (r[i], r[i + dist]);
                r[i] = (a & mask) | ((b & mask) << shift);
                r[i + dist] = ((a >> shift) & mask) | (b & !mask);
            }
        }
    }
    r
}

/// Turns one plane of `w`×`h` units of `B` bytes into `dst` (`h` units wide, `w` rows).
fn turn_plane<const B: usize>(
    src: Plane,
    w: usize,
    h: usize,
    dst: &mut [u8],
    dst_stride: usize,
    turn: QuarterTurn,
) {
    for ty in (0..h).step_by(TILE) {
        for tx in (0..w).step_by(TILE) {
            for y in ty..(ty + TILE).min(h) {
                let row = &src.data[y * src.stride..];
                for x in tx..(tx + TILE).min(w) {
                    // Clockwise: (x, y) goes to row x, column h-1-y; counter-clockwise: to row
                    // w-1-x, column y.
                    let (dr, dc) = match turn {
                        QuarterTurn::Clockwise => (x, h - 1 - y),
                        QuarterTurn::CounterClockwise => (w - 1 - x, y),
                    };
                    let d = dr * dst_stride + dc * B;
                    dst[d..d + B].copy_from_slice(&row[x * B..x * B + B]);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
