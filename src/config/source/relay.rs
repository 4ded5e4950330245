//! `[stream.relay]`: the upstream MJPEG URL a `source = "relay"` stream re-serves, and its limits.

use std::time::Duration;

use serde::Deserialize;

use super::super::values::{check_http_url, check_max_pixels, DEFAULT_MAX_PIXELS};

/// Largest accepted `max_frame_bytes` (the parser holds at most about one frame).
const MAX_FRAME_BYTES_LIMIT: usize = 256 * 1024 * 1024;

/// `[stream.relay]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// The upstream MJPEG URL (required): `http[s]://[user:password@]host[:port]/path`.
    pub url: String,
    /// Basic-auth credentials (override any in the URL).
    pub username: Option<String>,
    pub password: Option<String>,
    /// A part larger than this (bytes) ends the connection; it is never buffered whole.
    pub max_frame_bytes: usize,
    /// Largest picture accepted (width × height), checked from the JPEG header before any
    /// decode buffer is allocated.
    pub max_pixels: u64,
    /// Limit for connecting and for the response head.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest wait for more bytes while streaming (a stall, also mid-frame, is an error).
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Decode every frame completely before publishing (catches corrupt image data; costs a
    /// full decode per frame). Off: markers and header are checked.
    pub full_decode: bool,
    /// Accept any TLS certificate of an `https://` upstream (self-signed cameras). Insecure:
    /// logged loudly.
    pub accept_invalid_certs: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: None,
            password: None,
            max_frame_bytes: 16 * 1024 * 1024,
            max_pixels: DEFAULT_MAX_PIXELS,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            full_decode: false,
            accept_invalid_certs: false,
        }
    }
}

impl RelayConfig {
    /// Checks values serde cannot: `(key, message)` of the first bad one.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.url.is_empty() {
            return Err(("url", "is required: the upstream MJPEG URL".into()));
        }
        check_http_url(&self.url).map_err(|m| ("url", m))?;
        if !(1..=MAX_FRAME_BYTES_LIMIT).contains(&self.max_frame_bytes) {
            return Err((
                "max_frame_bytes",
                format!("must be between 1 and {MAX_FRAME_BYTES_LIMIT}"),
            ));
        }
        check_max_pixels(self.max_pixels).map_err(|m| ("max_pixels", m))?;
        if self.connect_timeout.is_zero() {
            return Err(("connect_timeout", "must be above 0".into()));
        }
        if self.read_timeout.is_zero() {
            return Err(("read_timeout", "must be above 0".into()));
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(("password", "needs a username".into()));
        }
        Ok(())
    }
}
