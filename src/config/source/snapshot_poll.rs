//! `[stream.http]`: the snapshot URL a `source = "http"` stream polls, its rate and checks.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::super::values::{check_http_url, check_max_pixels, DEFAULT_MAX_PIXELS};
use super::OnStale;

/// `[stream.http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SnapshotPollConfig {
    /// The snapshot URL (required): `http://` or `https://`, may carry `user:password@`.
    pub url: String,
    /// Basic-auth credentials (override any in the URL).
    pub username: Option<String>,
    pub password: Option<String>,
    /// Requests per second while someone watches.
    pub fetch_max_fps: f64,
    /// Requests per second while nobody watches (0 = none).
    pub fetch_min_fps: f64,
    /// Whole-request limit: connect, headers and body.
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub validate: Validate,
    /// Larger responses are rejected without being read past this (bytes).
    pub max_frame_bytes: usize,
    /// Largest picture accepted (width × height), checked from the header before any decode
    /// buffer is allocated; `convert` also bounds its decoder's memory by it.
    pub max_pixels: u64,
    /// Redirects followed per request (0 = none).
    pub max_redirects: u32,
    /// Accept any TLS certificate (self-signed cameras). Insecure: logged loudly.
    pub accept_invalid_certs: bool,
    /// No good frame for this long (while fetching) makes the stream stale.
    #[serde(with = "humantime_serde")]
    pub stale_after: Duration,
    pub on_stale: OnStale,
    /// JPEG shown by `on_stale = "placeholder"` (the built-in picture if unset).
    pub placeholder_image: Option<PathBuf>,
}

impl Default for SnapshotPollConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: None,
            password: None,
            fetch_max_fps: 5.0,
            fetch_min_fps: 0.0,
            timeout: Duration::from_secs(5),
            validate: Validate::ValidJpeg,
            max_frame_bytes: 16 * 1024 * 1024,
            max_pixels: DEFAULT_MAX_PIXELS,
            max_redirects: 5,
            accept_invalid_certs: false,
            stale_after: Duration::from_secs(10),
            on_stale: OnStale::Placeholder,
            placeholder_image: None,
        }
    }
}

impl SnapshotPollConfig {
    /// Checks values serde cannot: `(key, message)` of the first bad one.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.url.is_empty() {
            return Err(("url", "is required: the snapshot URL".into()));
        }
        check_http_url(&self.url).map_err(|m| ("url", m))?;
        if !(self.fetch_max_fps > 0.0 && self.fetch_max_fps <= 120.0) {
            return Err(("fetch_max_fps", "must be above 0 and at most 120".into()));
        }
        if !(0.0..=self.fetch_max_fps).contains(&self.fetch_min_fps) {
            return Err((
                "fetch_min_fps",
                "must be between 0 and fetch_max_fps".into(),
            ));
        }
        if self.timeout.is_zero() {
            return Err(("timeout", "must be above 0".into()));
        }
        if self.max_frame_bytes == 0 {
            return Err(("max_frame_bytes", "must be at least 1".into()));
        }
        check_max_pixels(self.max_pixels).map_err(|m| ("max_pixels", m))?;
        if self.stale_after.is_zero() {
            return Err(("stale_after", "must be above 0".into()));
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(("password", "needs a username".into()));
        }
        Ok(())
    }
}

/// `validate`: what a response must be to go on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Validate {
    /// A JPEG that decodes completely.
    ValidJpeg,
    /// A JPEG (decoded completely) or any picture the `image` crate reads (PNG, GIF, BMP,
    /// WebP), re-encoded to JPEG with the stream's `[stream.encoder]` settings.
    Convert,
    /// Any non-empty body whose `Content-Type` is `image/*` (or absent / octet-stream).
    NonEmpty,
    /// Any 2xx body, unchecked.
    None,
}
