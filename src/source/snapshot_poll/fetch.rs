//! One snapshot request of the `http` source, and what makes its answer a frame.
//!
//! [`Fetcher`] owns a blocking `ureq` agent (rustls, bounded redirects, one total timeout per
//! request covering connect, headers and body, a response-header cap) and turns one GET into a
//! JPEG according to the validation mode: `valid_jpeg` decodes it completely, `convert` also
//! accepts PNG/GIF/BMP/WebP and re-encodes them with our encoder, `non_empty` takes any
//! non-empty `image/*` body as is, `none` takes any 2xx body. A body over the size cap is never
//! read past the cap.

use std::io::Cursor;
use std::time::Duration;

use bytes::Bytes;

use crate::config::{EncoderConfig, Validate};
use crate::pipeline::encoder::{EncodeError, Encoder, PixelFormat, Plane, RawFrame};
use crate::source::jpeg_check::{JpegChecker, JpegError, JpegLimits};

/// Largest response head accepted (an endless header is cut here).
const MAX_HEADER_BYTES: usize = 64 * 1024;
/// Largest picture `convert` decodes (each side, pixels) and its decode memory cap.
const MAX_CONVERT_SIDE: u32 = 8192;
const MAX_CONVERT_ALLOC: u64 = 512 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("request failed: {0}")]
    Request(#[from] ureq::Error),
    #[error("HTTP status {0}")]
    Status(u16),
    #[error("content type {0:?} is not an image")]
    ContentType(String),
    #[error("response too large: over {max} bytes")]
    TooLarge { max: usize },
    #[error("not a valid JPEG: {0}")]
    Jpeg(#[from] JpegError),
    #[error("cannot decode the picture: {0}")]
    Convert(#[from] image::ImageError),
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
}

pub struct Fetcher {
    agent: ureq::Agent,
    settings: FetchSettings,
    authorization: Option<String>,
    checker: JpegChecker,
    /// Only for `convert`.
    encoder: Option<Encoder>,
}

impl Fetcher {
    pub fn new(settings: FetchSettings, encoder: EncoderConfig) -> Result<Self, EncodeError> {
        let tls = ureq::tls::TlsConfig::builder()
            .disable_verification(settings.accept_invalid_certs)
            .build();
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(settings.max_redirects)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::SameHost)
            .timeout_global(Some(settings.timeout))
            .max_response_header_size(MAX_HEADER_BYTES)
            .max_idle_connections(1)
            .max_idle_connections_per_host(1)
            .user_agent(concat!("streamserver/", env!("CARGO_PKG_VERSION")))
            .accept("image/jpeg, image/*;q=0.9")
            .tls_config(tls)
            .build()
            .into();
        let encoder = match settings.validate {
            Validate::Convert => Some(Encoder::new(&encoder)?),
            _ => None,
        };
        Ok(Self {
            agent,
            authorization: settings
                .basic_auth
                .as_ref()
                .map(|(u, p)| format!("Basic {}", base64(format!("{u}:{p}").as_bytes()))),
            checker: JpegChecker::new(JpegLimits {
                max_bytes: settings.max_bytes,
                full_decode: true,
            }),
            settings,
            encoder,
        })
    }

    /// One GET, bounded by the timeout; `Ok` is a frame ready to publish.
    pub fn fetch(&mut self) -> Result<Fetched, FetchError> {
        let mut req = self.agent.get(&self.settings.url);
        if let Some(auth) = &self.authorization {
            req = req.header("Authorization", auth);
        }
        let mut resp = req.call()?;
        let status = resp.status().as_u16();
        if !(200..300).contains(&status) {
            return Err(FetchError::Status(status));
        }
        let ctype = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            });
        let max = self.settings.max_bytes;
        if resp.body().content_length().is_some_and(|n| n > max as u64) {
            return Err(FetchError::TooLarge { max });
        }
        let body = match resp
            .body_mut()
            .with_config()
            .limit(max as u64)
            .read_to_vec()
        {
            Ok(b) => b,
            Err(ureq::Error::BodyExceedsLimit(_)) => return Err(FetchError::TooLarge { max }),
            Err(e) => return Err(e.into()),
        };
        self.accept(body, ctype.as_deref())
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

    fn convert(&mut self, body: &[u8]) -> Result<Fetched, FetchError> {
        if body.is_empty() {
            return Err(JpegError::Empty.into());
        }
        let mut reader = image::ImageReader::new(Cursor::new(body))
            .with_guessed_format()
            .map_err(image::ImageError::IoError)?;
        let mut limits = image::Limits::default();
        limits.max_image_width = Some(MAX_CONVERT_SIDE);
        limits.max_image_height = Some(MAX_CONVERT_SIDE);
        limits.max_alloc = Some(MAX_CONVERT_ALLOC);
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

/// Standard base64 with padding (for the basic-auth header).
fn base64(data: &[u8]) -> String {
    const ABC: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ABC[(n >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests;
