//! The JPEG validator shared by the sources that receive ready-made JPEGs (folder, http, relay).
//!
//! A frame from outside is published only if it is one complete JPEG: not empty, not over the
//! size cap, starting with SOI (`FF D8`), ending with EOI (`FF D9`, optionally followed by a
//! little zero/whitespace padding some cameras append), with a header libjpeg-turbo can read
//! and a picture size within the source's `max_pixels` (at most [`MAX_PIXELS`]). The header of
//! a plain JPEG (what cameras and encoders write) is read by a strict walk over its segments
//! ([`header`]); any other header goes to libjpeg-turbo's reader, whose verdict counts.
//! Optionally the whole image is decoded too, which catches corrupt entropy data at the price of
//! a full decode (a few ms for 720p). Everything is bounded: the size is read from the header before any
//! decode buffer exists (a hostile upstream announcing 65535×65535 costs nothing), the decoder's
//! scratch buffer is reused (at most `max_pixels` bytes, 4× for CMYK) and the scan count of
//! progressive files is capped, so a hostile file cannot make the check slow or large.

use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat};

mod header;

/// Largest `max_pixels` there is (width × height): 64 megapixels, well above 8K.
pub const MAX_PIXELS: u64 = crate::config::MAX_PIXELS_LIMIT;
/// The default `max_pixels` of the sources: 16 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = crate::config::DEFAULT_MAX_PIXELS;
/// At most this many bytes of padding may follow EOI.
const MAX_TRAILING_PADDING: usize = 1024;
/// Progressive JPEGs with more scans than this are rejected (libjpeg-turbo's advice against
/// decompression bombs).
const MAX_SCANS: u32 = 500;

/// What a check requires of a JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegLimits {
    /// Largest accepted file, in bytes.
    pub max_bytes: usize,
    /// Decode the whole image (not only the header).
    pub full_decode: bool,
    /// Largest picture (width × height); capped at [`MAX_PIXELS`].
    pub max_pixels: u64,
}

/// Facts about a JPEG that passed the check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JpegInfo {
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JpegError {
    #[error("empty")]
    Empty,
    #[error("too large: {len} bytes (limit {max})")]
    TooLarge { len: usize, max: usize },
    #[error("not a JPEG (no SOI marker at the start)")]
    NoSoi,
    #[error("truncated (no EOI marker at the end)")]
    NoEoi,
    #[error("unreadable JPEG header: {0}")]
    Header(String),
    #[error("picture {width}x{height} is empty or larger than max_pixels ({max_pixels})")]
    BadSize {
        width: usize,
        height: usize,
        max_pixels: u64,
    },
    #[error("corrupt JPEG data: {0}")]
    Decode(String),
}

/// Checks JPEGs against [`JpegLimits`]; keeps its scratch buffer between calls.
///
/// libjpeg-turbo's decoder is fresh for every file it reads: it answers a "tables-only" stream
/// (`FF D8 … FF D9` without a frame header) with success and leaves the previous picture's
/// size in place, so a reused decoder would pass such garbage as the last good picture. Plain
/// JPEGs checked by header only never reach it ([`header::plain_header`]).
pub struct JpegChecker {
    limits: JpegLimits,
    scratch: Vec<u8>,
}

impl JpegChecker {
    pub fn new(limits: JpegLimits) -> Self {
        Self {
            limits,
            scratch: Vec::new(),
        }
    }

    pub fn limits(&self) -> JpegLimits {
        self.limits
    }

    /// Checks one JPEG; `Ok` carries its picture size.
    pub fn check(&mut self, data: &[u8]) -> Result<JpegInfo, JpegError> {
        check_markers(data, self.limits.max_bytes)?;
        if !self.limits.full_decode {
            if let Some(h) = header::plain_header(data) {
                return self.sized(h.width, h.height);
            }
        }
        let dec = &mut new_decompressor()?;
        let header = dec
            .read_header(data)
            .map_err(|e| JpegError::Header(e.to_string()))?;
        let (width, height) = (header.width, header.height);
        let info = self.sized(width, height)?;
        if self.limits.full_decode {
            // Grayscale output decodes every component's data but skips colour conversion and
            // chroma upsampling; it works for every colour space except CMYK/YCCK (and, unlike
            // YUV output, for RGB JPEGs and unusual subsamplings too).
            let format = match header.colorspace {
                Colorspace::CMYK | Colorspace::YCCK => PixelFormat::CMYK,
                _ => PixelFormat::GRAY,
            };
            let pitch = width * format.size();
            self.scratch.resize(pitch * height, 0);
            let image = Image {
                pixels: &mut self.scratch[..],
                width,
                pitch,
                height,
                format,
            };
            // libjpeg-turbo reports corrupt data ("premature end of data segment", bad Huffman
            // codes) as an error even when it could paint something.
            dec.decompress(data, image)
                .map_err(|e| JpegError::Decode(e.to_string()))?;
            if self.scratch.capacity() > 4 * (pitch * height).max(1 << 20) {
                // A one-off huge picture must not pin its buffer forever.
                self.scratch = Vec::new();
            }
        }
        Ok(info)
    }

    /// The picture size, if within the limits' `max_pixels` (at most [`MAX_PIXELS`]) and not
    /// empty.
    fn sized(&self, width: usize, height: usize) -> Result<JpegInfo, JpegError> {
        let max_pixels = self.limits.max_pixels.min(MAX_PIXELS);
        if width == 0 || height == 0 || (width as u64) * (height as u64) > max_pixels {
            return Err(JpegError::BadSize {
                width,
                height,
                max_pixels,
            });
        }
        Ok(JpegInfo {
            width: width as u32,
            height: height as u32,
        })
    }
}

/// One-shot check (builds a decoder each call; sources keep a [`JpegChecker`]).
pub fn check(data: &[u8], limits: JpegLimits) -> Result<JpegInfo, JpegError> {
    JpegChecker::new(limits).check(data)
}

fn new_decompressor() -> Result<Decompressor, JpegError> {
    let mut dec = Decompressor::new().map_err(|e| JpegError::Header(e.to_string()))?;
    dec.set_scan_limit(MAX_SCANS)
        .map_err(|e| JpegError::Header(e.to_string()))?;
    Ok(dec)
}

/// Size, SOI and EOI: the cheap checks that reject most broken input without a decoder.
pub fn check_markers(data: &[u8], max_bytes: usize) -> Result<(), JpegError> {
    if data.is_empty() {
        return Err(JpegError::Empty);
    }
    if data.len() > max_bytes {
        return Err(JpegError::TooLarge {
            len: data.len(),
            max: max_bytes,
        });
    }
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err(JpegError::NoSoi);
    }
    let pad = data
        .iter()
        .rev()
        .take(MAX_TRAILING_PADDING)
        .take_while(|&&b| matches!(b, 0 | b'\r' | b'\n' | b' '))
        .count();
    let body = &data[..data.len() - pad];
    // The SOI itself must not double as the EOI (`FF D8 D9` is not a JPEG).
    if body.len() < 4 || !body.ends_with(&[0xFF, 0xD9]) {
        return Err(JpegError::NoEoi);
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
