//! One snapshot request of the `http` source, and what makes its answer a frame.
//!
//! [`Fetcher`] runs one GET at a time through the shared [`crate::http_client`] (https with
//! rustls, bounded redirects, one total timeout per request covering connect, headers and body,
//! a response-header cap) on a small current-thread runtime of its own, so the source's thread
//! simply blocks on it, and turns the answer into a JPEG according to the validation mode: `valid_jpeg` decodes it completely, `convert` also
//! accepts PNG/GIF/BMP/WebP and re-encodes them with our encoder, `non_empty` takes any
//! non-empty `image/*` body as is, `none` takes any 2xx body. A body over the size cap is never
//! read past the cap.

use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{EncoderConfig, Validate};
use crate::http_client::{self, ConnectOptions, GetOptions, HttpClientError, Target};
use crate::pipeline::encoder::{EncodeError, Encoder, PixelFormat, Plane, RawFrame};
use crate::source::jpeg_check::{JpegChecker, JpegError, JpegLimits};

/// Largest response head accepted (an endless header is cut here).
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest side `convert` decodes (pixels), whatever `max_pixels` allows.
const MAX_CONVERT_SIDE: u32 = 16384;
/// Decoder memory `convert` allows per pixel of `max_pixels`: RGBA at 8 bits per channel (a
/// 16-bit picture needs twice that and must be half the size).
const CONVERT_BYTES_PER_PIXEL: u64 = 4;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request failed: {}", crate::util::error_chain(.0))]
    Request(#[from] HttpClientError),
    #[error("content type {0:?} is not an image")]
    ContentType(String),
    #[error("not a valid JPEG: {0}")]
    Jpeg(#[from] JpegError),
    #[error("cannot decode the picture: {0}")]
    Convert(#[from] image::ImageError),
    #[error("picture {width}x{height} is larger than max_pixels ({max_pixels})")]
    TooManyPixels {
        width: u32,
        height: u32,
        max_pixels: u64,
    },
    #[error("cannot re-encode the picture: {0}")]
    Encode(#[from] EncodeError),
}

/// A frame fetched and checked.
#[derive(Debug)]
pub struct Fetched {
    pub jpeg: Bytes,
    /// 0 when unknown (`non_empty`/`none` of a body that is not a readable JPEG).
    pub width: u32,
    pub height: u32,
}

/// What a [`Fetcher`] needs to know.
#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub url: String,
    /// `(user, password)` sent as basic auth (overrides credentials in the URL).
    pub basic_auth: Option<(String, String)>,
    pub timeout: Duration,
    pub max_redirects: u32,
    pub max_bytes: usize,
    pub accept_invalid_certs: bool,
    pub validate: Validate,
    /// Largest picture (width × height), checked from the header before decoding.
    pub max_pixels: u64,
}

pub struct Fetcher {
    target: Target,
    options: GetOptions,
    runtime: tokio::runtime::Runtime,
    settings: FetchSettings,
    checker: JpegChecker,
    /// Only for `convert`.
    encoder: Option<Encoder>,
}

/// Why a [`Fetcher`] cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum FetcherError {
    #[error(transparent)]
    Url(#[from] HttpClientError),
    #[error(transparent)]
    Encode(#[from] EncodeError),
    #[error("cannot start the fetcher's runtime")]
    Runtime(#[source] std::io::Error),
}

impl Fetcher {
    pub fn new(settings: FetchSettings, encoder: EncoderConfig) -> Result<Self, FetcherError> {
        let mut target = Target::parse(&settings.url)?;
        if let Some((user, password)) = &settings.basic_auth {
            target = target.with_credentials(user, password);
        }
        let options = GetOptions {
            connect: ConnectOptions {
                timeout: settings.timeout,
                recv_buffer_bytes: None,
                accept_invalid_certs: settings.accept_invalid_certs,
            },
            total_timeout: settings.timeout,
            max_redirects: settings.max_redirects,
            max_body_bytes: settings.max_bytes,
            max_head_bytes: MAX_HEADER_BYTES,
            accept: "image/jpeg, image/*;q=0.9",
            user_agent: concat!("streamserver/", env!("CARGO_PKG_VERSION")),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(FetcherError::Runtime)?;
        let encoder = match settings.validate {
            Validate::Convert => Some(Encoder::new(&encoder)?),
            _ => None,
        };
        Ok(Self {
            target,
            options,
            runtime,
            checker: JpegChecker::new(JpegLimits {
                max_bytes: settings.max_bytes,
                full_decode: true,
                max_pixels: settings.max_pixels,
            }),
            settings,
            encoder,
        })
    }

    /// One GET, bounded by the timeout; `Ok` is a frame ready to publish.
    pub fn fetch(&mut self) -> Result<Fetched, FetchError> {
        let got = self
            .runtime
            .block_on(http_client::get(&self.target, &self.options))?;
        self.accept(got.body, got.content_type.as_deref())
    }

    /// Applies the validation mode to a response body.
    pub fn accept(&mut self, body: Vec<u8>, ctype: Option<&str>) -> Result<Fetched, FetchError> {
        match self.settings.validate {
            Validate::ValidJpeg => {
                let info = self.checker.check(&body)?;
                Ok(fetched(body, info.width, info.height))
            }
            Validate::Convert if body.starts_with(&[0xFF, 0xD8]) => {
                let info = self.checker.check(&body)?;
                Ok(fetched(body, info.width, info.height))
            }
            Validate::Convert => self.convert(&body),
            Validate::NonEmpty => {
                if let Some(t) = ctype {
                    if !(t.starts_with("image/") || t == "application/octet-stream") {
                        return Err(FetchError::ContentType(t.to_string()));
                    }
                }
                if body.is_empty() {
                    return Err(JpegError::Empty.into());
                }
                let (w, h) = jpeg_size(&body);
                Ok(fetched(body, w, h))
            }
            Validate::None => {
                let (w, h) = jpeg_size(&body);
                Ok(fetched(body, w, h))
            }
        }
    }

    /// Decodes any picture the `image` crate reads and re-encodes it. Memory: the size is read
    /// from the header first and checked against `max_pixels`; the decoder may then allocate
    /// at most [`CONVERT_BYTES_PER_PIXEL`] × `max_pixels`, the RGB copy 3 bytes per pixel.
    fn convert(&mut self, body: &[u8]) -> Result<Fetched, FetchError> {
        if body.is_empty() {
            return Err(JpegError::Empty.into());
        }
        let reader = || {
            image::ImageReader::new(Cursor::new(body))
                .with_guessed_format()
                .map_err(image::ImageError::IoError)
        };
        let max_pixels = self.settings.max_pixels;
        let (width, height) = reader()?.into_dimensions()?;
        if u64::from(width) * u64::from(height) > max_pixels {
            return Err(FetchError::TooManyPixels {
                width,
                height,
                max_pixels,
            });
        }
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_CONVERT_SIDE);
        limits.max_image_height = Some(MAX_CONVERT_SIDE);
        limits.max_alloc = Some(max_pixels.saturating_mul(CONVERT_BYTES_PER_PIXEL));
        let mut reader = reader()?;
        reader.limits(limits);
        let rgb = reader.decode()?.into_rgb8();
        let (w, h) = rgb.dimensions();
        let encoder = self.encoder.as_mut().expect("convert mode has an encoder");
        let empty = Plane {
            data: &[],
            stride: 0,
        };
        let jpeg = encoder.encode(&RawFrame {
            format: PixelFormat::Rgb888,
            width: w as usize,
            height: h as usize,
            planes: [
                Plane {
                    data: rgb.as_raw(),
                    stride: w as usize * 3,
                },
                empty,
                empty,
            ],
        })?;
        Ok(Fetched {
            jpeg,
            width: w,
            height: h,
        })
    }
}

/// The picture size from a JPEG header, (0, 0) when the body is not a readable JPEG.
fn jpeg_size(body: &[u8]) -> (u32, u32) {
    turbojpeg::read_header(body).map_or((0, 0), |h| (h.width as u32, h.height as u32))
}

fn fetched(body: Vec<u8>, width: u32, height: u32) -> Fetched {
    Fetched {
        jpeg: Bytes::from(body),
        width,
        height,
    }
}

#[cfg(test)]
mod tests;
