//! Raw frames → JPEG with libjpeg-turbo (crate `turbojpeg`).
//!
//! Owns the JPEG encoding stage. Input is a [`RawFrame`]: RGB888, BGR888 (packed, with a row
//! stride), I420 (three planes) or NV12 (Y plane + interleaved UV plane), each with strides as
//! cameras deliver them. YUV input is compressed from its planes directly
//! (`tj3CompressFromYUVPlanes8`), never converted to RGB; NV12's interleaved chroma is split into
//! two planes in buffers kept by the encoder, and an odd-sized frame's Y plane is padded to even
//! size (libjpeg-turbo reads 4:2:0 luma in 2×2 units). [`Encoder::encode`] compresses into a
//! worst-case sized buffer that is reused, so the only allocation per frame is the returned
//! [`Bytes`]; [`Encoder::encode_into`] compresses into memory the caller lends (the camera
//! helper's shared-memory slot), so the JPEG is never copied.

use bytes::Bytes;
use turbojpeg::{Compressor, Image, OutputBuf, Subsamp, YuvPlanesImage};

use crate::config::{EncoderConfig, Quality};
pub use crate::config::{PixelFormat, Subsampling};

/// libjpeg-turbo's name for a subsampling.
fn turbo_subsamp(s: Subsampling) -> Subsamp {
    match s {
        Subsampling::S444 => Subsamp::None,
        Subsampling::S422 => Subsamp::Sub2x1,
        Subsampling::S420 => Subsamp::Sub2x2,
        Subsampling::Gray => Subsamp::Gray,
    }
}

/// One plane of a raw frame: its bytes and row stride in bytes.
#[derive(Debug, Clone, Copy)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

/// A raw frame borrowed from a source's buffer (a mapped camera buffer, a test pattern).
#[derive(Debug, Clone, Copy)]
pub struct RawFrame<'a> {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    /// `format.planes()` entries are used; the rest are ignored.
    pub planes: [Plane<'a>; 3],
}

impl RawFrame<'_> {
    /// Checks strides and plane sizes (what [`Encoder::encode`] checks first).
    pub fn check(&self) -> Result<(), EncodeError> {
        check_frame(self)
    }
}

/// A raw frame's planes, writable: an encoding worker's own copy of a frame (or its turned
/// copy), which the overlay draws into.
pub struct FrameMut<'a> {
    pub format: PixelFormat,
    pub width: usize,
    pub height: usize,
    /// `format.planes()` entries are used; the rest are empty.
    pub planes: [&'a mut [u8]; 3],
    pub strides: [usize; 3],
}

impl<'a> FrameMut<'a> {
    /// The same planes, read-only, for the encoder.
    pub fn into_raw(self) -> RawFrame<'a> {
        let [p0, p1, p2] = self.planes;
        let s = self.strides;
        RawFrame {
            format: self.format,
            width: self.width,
            height: self.height,
            planes: [
                Plane {
                    data: p0,
                    stride: s[0],
                },
                Plane {
                    data: p1,
                    stride: s[1],
                },
                Plane {
                    data: p2,
                    stride: s[2],
                },
            ],
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    #[error("JPEG quality {0} is outside 1..=100")]
    BadQuality(u8),
    #[error("{format:?} frame {width}x{height}: plane {plane} is too small ({got} bytes, stride {stride}; need {need})")]
    ShortPlane {
        format: PixelFormat,
        width: usize,
        height: usize,
        plane: usize,
        got: usize,
        stride: usize,
        need: usize,
    },
    #[error("{format:?} frame {width}x{height}: plane {plane} stride {stride} is below the row size {min}")]
    BadStride {
        format: PixelFormat,
        width: usize,
        height: usize,
        plane: usize,
        stride: usize,
        min: usize,
    },
    #[error("empty frame ({width}x{height})")]
    Empty { width: usize, height: usize },
    #[error("libjpeg-turbo: {0}")]
    Turbo(#[from] turbojpeg::Error),
}

/// A reusable JPEG encoder. One per encoding thread (`Compressor` is not `Sync`).
pub struct Encoder {
    compressor: Compressor,
    /// JPEG quality 1..=100.
    quality: u8,
    /// Chroma subsampling of RGB input.
    subsampling: Subsampling,
    /// Worst-case sized compressed output, reused across frames.
    out: Vec<u8>,
    /// NV12 chroma split into U and V planes, reused across frames.
    u: Vec<u8>,
    v: Vec<u8>,
    /// The Y plane of an odd-sized 4:2:0 frame padded to even width and height, reused.
    y: Vec<u8>,
}

impl Encoder {
    /// An encoder with the quality and subsampling of `config` (a stream's `[stream.encoder]`).
    pub fn new(config: &EncoderConfig) -> Result<Self, EncodeError> {
        let Quality(quality) = config.quality;
        if !(1..=100).contains(&quality) {
            return Err(EncodeError::BadQuality(quality));
        }
        let mut compressor = Compressor::new()?;
        compressor.set_quality(quality as i32)?;
        compressor.set_subsamp(turbo_subsamp(config.subsampling))?;
        Ok(Self {
            compressor,
            quality,
            subsampling: config.subsampling,
            out: Vec::new(),
            u: Vec::new(),
            v: Vec::new(),
            y: Vec::new(),
        })
    }

    /// JPEG quality 1..=100.
    pub fn quality(&self) -> u8 {
        self.quality
    }

    /// Encodes one frame. The returned bytes are the only per-frame allocation.
    pub fn encode(&mut self, frame: &RawFrame) -> Result<Bytes, EncodeError> {
        check_frame(frame)?;
        let subsamp = match frame.format {
            PixelFormat::Rgb888 | PixelFormat::Bgr888 => turbo_subsamp(self.subsampling),
            PixelFormat::Yuv420 | PixelFormat::Nv12 => Subsamp::Sub2x2,
        };
        let mut out = std::mem::take(&mut self.out);
        grow(
            &mut out,
            turbojpeg::compressed_buf_len(frame.width, frame.height, subsamp)?,
        );
        let len = self.encode_into(frame, &mut out);
        self.out = out;
        Ok(Bytes::copy_from_slice(&self.out[..len?]))
    }

    /// Encodes one frame into `out` (memory lent by the frame's output, such as a slot of the
    /// camera helper's shared memory); returns the JPEG's length. A JPEG longer than `out` is
    /// an error ([`EncodeError::Turbo`], libjpeg-turbo stops at the end of `out`); `out` is
    /// then partly written.
    pub fn encode_into(&mut self, frame: &RawFrame, out: &mut [u8]) -> Result<usize, EncodeError> {
        check_frame(frame)?;
        let (w, h) = (frame.width, frame.height);
        let mut buf = OutputBuf::borrowed(out);
        match frame.format {
            PixelFormat::Rgb888 | PixelFormat::Bgr888 => {
                self.compressor
                    .set_subsamp(turbo_subsamp(self.subsampling))?;
                let image = Image {
                    pixels: frame.planes[0].data,
                    width: w,
                    pitch: frame.planes[0].stride,
                    height: h,
                    format: if frame.format == PixelFormat::Rgb888 {
                        turbojpeg::PixelFormat::RGB
                    } else {
                        turbojpeg::PixelFormat::BGR
                    },
                };
                self.compressor.compress(image, &mut buf)?;
            }
            PixelFormat::Yuv420 | PixelFormat::Nv12 => {
                let [mut y, mut u, mut v] = frame.planes;
                let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
                if w % 2 == 1 || h % 2 == 1 {
                    pad_luma(y, w, h, &mut self.y);
                    y = Plane {
                        data: &self.y,
                        stride: cw * 2,
                    };
                }
                if frame.format == PixelFormat::Nv12 {
                    split_chroma(u, cw, ch, &mut self.u, &mut self.v);
                    u = Plane {
                        data: &self.u,
                        stride: cw,
                    };
                    v = Plane {
                        data: &self.v,
                        stride: cw,
                    };
                }
                let image = yuv_planes(w, h, y, u.data, u.stride, v.data, v.stride);
                self.compressor.compress_yuv_planes(&image, &mut buf)?;
            }
        }
        Ok(buf.len())
    }
}

fn yuv_planes<'a>(
    w: usize,
    h: usize,
    y: Plane<'a>,
    u: &'a [u8],
    u_stride: usize,
    v: &'a [u8],
    v_stride: usize,
) -> YuvPlanesImage<&'a [u8]> {
    YuvPlanesImage {
        y_plane: y.data,
        u_plane: u,
        v_plane: v,
        width: w,
        height: h,
        y_stride: y.stride,
        u_stride,
        v_stride,
        subsamp: Subsamp::Sub2x2,
    }
}

fn grow(buf: &mut Vec<u8>, len: usize) {
    if buf.len() < len {
        buf.resize(len, 0);
    }
}

/// Copies an odd-sized Y plane into `out` padded to even width and height (stride = even
/// width), repeating the last column and row: for 4:2:0, libjpeg-turbo reads the Y plane as
/// `PAD(width, 2)` × `PAD(height, 2)` (`tj3YUVPlaneWidth`), one column/row past an odd frame.
fn pad_luma(y: Plane, w: usize, h: usize, out: &mut Vec<u8>) {
    let (pw, ph) = (w.div_ceil(2) * 2, h.div_ceil(2) * 2);
    out.resize(pw * ph, 0);
    for row in 0..ph {
        let src = &y.data[row.min(h - 1) * y.stride..][..w];
        let dst = &mut out[row * pw..][..pw];
        dst[..w].copy_from_slice(src);
        dst[w..].fill(src[w - 1]);
    }
}

/// Splits NV12's interleaved UV rows into tight U and V planes (`cw`×`ch`).
fn split_chroma(uv: Plane, cw: usize, ch: usize, u: &mut Vec<u8>, v: &mut Vec<u8>) {
    u.resize(cw * ch, 0);
    v.resize(cw * ch, 0);
    for row in 0..ch {
        let src = &uv.data[row * uv.stride..row * uv.stride + cw * 2];
        let (du, dv) = (&mut u[row * cw..][..cw], &mut v[row * cw..][..cw]);
        for ((pair, pu), pv) in src.chunks_exact(2).zip(du).zip(dv) {
            *pu = pair[0];
            *pv = pair[1];
        }
    }
}

/// Checks strides and plane sizes so libjpeg-turbo never reads past a buffer.
fn check_frame(frame: &RawFrame) -> Result<(), EncodeError> {
    let (width, height, format) = (frame.width, frame.height, frame.format);
    if width == 0 || height == 0 {
        return Err(EncodeError::Empty { width, height });
    }
    let mins = format.min_strides(width);
    let rows = format.plane_rows(height);
    for plane in 0..format.planes() {
        let p = frame.planes[plane];
        if p.stride < mins[plane] {
            return Err(EncodeError::BadStride {
                format,
                width,
                height,
                plane,
                stride: p.stride,
                min: mins[plane],
            });
        }
        // Saturating: an absurd stride is a short plane, not an overflow (panic or wrap).
        let need = p
            .stride
            .saturating_mul(rows[plane] - 1)
            .saturating_add(mins[plane]);
        if p.data.len() < need {
            return Err(EncodeError::ShortPlane {
                format,
                width,
                height,
                plane,
                got: p.data.len(),
                stride: p.stride,
                need,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
