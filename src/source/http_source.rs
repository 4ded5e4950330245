//! The `http` source: polls a snapshot URL (an IP camera's or a tablet's `snapshot.jpg`).
//!
//! The rate adapts to demand: `fetch_max_fps` while a client watches (or asked for a snapshot
//! recently), `fetch_min_fps` otherwise (0 = no requests at all while nobody watches). Requests
//! are strictly sequential (never more than one in flight) and each is bounded by `timeout`.
//! A failed or rejected fetch is counted and logged (first of a streak, then at most every
//! [`LOG_EVERY`]); the previous frame stays on air, and after `stale_after` without a good
//! frame `on_stale` applies ([`super::stale`]). After repeated failures the request rate backs
//! off up to [`MAX_ERROR_BACKOFF`] so a broken camera is not hammered.
//!
//! Stopping waits for the request in flight, which ends within `timeout`.

use std::path::PathBuf;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant, SystemTime};

use serde::Deserialize;
use tracing::{info, warn};

use super::http_fetch::{FetchSettings, Fetcher, Validate};
use super::stale::{OnStale, PlaceholderError, PlaceholderImage, StaleGuard};
use super::{FrameSink, FrameSource, SourceError, StopFlag};
use crate::encoder::{EncodeError, EncoderSettings};

/// A snapshot request within this window counts as demand (like a watching client).
const DEMAND_WINDOW: Duration = Duration::from_secs(5);
/// Longest sleep before the loop looks at its stop flag and at demand again.
const TICK: Duration = Duration::from_millis(50);
/// A failure streak is logged at its start and then at most this often.
const LOG_EVERY: Duration = Duration::from_secs(30);
/// Back-off per consecutive failure (added to the fetch interval), capped.
const ERROR_BACKOFF_STEP: Duration = Duration::from_millis(250);
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(2);

/// `[stream.http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HttpSourceConfig {
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

impl Default for HttpSourceConfig {
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
            max_redirects: 5,
            accept_invalid_certs: false,
            stale_after: Duration::from_secs(10),
            on_stale: OnStale::Placeholder,
            placeholder_image: None,
        }
    }
}

impl HttpSourceConfig {
    /// Checks values serde cannot: `(key, message)` of the first bad one.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        check_url(&self.url).map_err(|m| ("url", m))?;
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
        if self.stale_after.is_zero() {
            return Err(("stale_after", "must be above 0".into()));
        }
        if self.password.is_some() && self.username.is_none() {
            return Err(("password", "needs a username".into()));
        }
        Ok(())
    }
}

/// An `http`/`https` URL with a host; the message says what is wrong.
fn check_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Err("is required: the snapshot URL".into());
    }
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    match uri.scheme_str() {
        Some("http" | "https") => {}
        _ => return Err("must start with http:// or https://".into()),
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    Ok(())
}

/// The URL without its password, for logs and the status page.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s && !url[s + 3..at].contains('/') => {
            let userinfo = &url[s + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..s + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpSourceError {
    #[error("source = \"http\" needs a [stream.http] table with `url`")]
    NoConfig,
    #[error("http source url {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(transparent)]
    Placeholder(#[from] PlaceholderError),
    #[error("http source: {0}")]
    Encode(#[from] EncodeError),
}

impl HttpSourceError {
    /// Only a failing encoder set-up may heal; settings do not.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::Encode(_))
    }
}

/// Start-up check: URL well-formed, placeholder image readable.
pub fn check(config: Option<&HttpSourceConfig>) -> Result<(), HttpSourceError> {
    let config = config.ok_or(HttpSourceError::NoConfig)?;
    check_url(&config.url).map_err(|reason| HttpSourceError::BadUrl {
        url: redact(&config.url),
        reason,
    })?;
    if let Some(p) = &config.placeholder_image {
        PlaceholderImage::load(p)?;
    }
    Ok(())
}

pub struct HttpSource {
    stream_id: String,
    config: HttpSourceConfig,
    fetcher: Fetcher,
    stale: StaleGuard,
}

impl HttpSource {
    pub fn new(
        stream_id: String,
        config: HttpSourceConfig,
        encoder: EncoderSettings,
        attempt: u32,
    ) -> Result<Self, HttpSourceError> {
        check(Some(&config))?;
        if config.accept_invalid_certs && attempt == 0 {
            warn!(stream = %stream_id, url = %redact(&config.url),
                "accept_invalid_certs is ON: TLS certificates are NOT verified; anyone on the path can impersonate this camera");
        }
        let image = config
            .placeholder_image
            .as_deref()
            .map(PlaceholderImage::load)
            .transpose()?;
        let settings = FetchSettings {
            url: config.url.clone(),
            basic_auth: config
                .username
                .clone()
                .map(|u| (u, config.password.clone().unwrap_or_default())),
            timeout: config.timeout,
            max_redirects: config.max_redirects,
            max_bytes: config.max_frame_bytes,
            accept_invalid_certs: config.accept_invalid_certs,
            validate: config.validate,
        };
        Ok(Self {
            fetcher: Fetcher::new(settings, encoder)?,
            stale: StaleGuard::new(
                stream_id.clone(),
                config.stale_after,
                config.on_stale,
                image,
            ),
            stream_id,
            config,
        })
    }
}

impl FrameSource for HttpSource {
    fn describe(&self) -> String {
        format!("http {}", redact(&self.config.url))
    }

    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        let url = redact(&self.config.url);
        let why = format!(
            "no good frame from {url} for {}s",
            self.config.stale_after.as_secs()
        );
        let mut last_start: Option<Instant> = None;
        let mut failures = 0u32;
        let mut last_log: Option<Instant> = None;
        loop {
            if stop.is_raised() {
                return Ok(());
            }
            sink.alive();
            let now = Instant::now();
            let fps = if sink.in_demand(DEMAND_WINDOW) {
                self.config.fetch_max_fps
            } else {
                self.config.fetch_min_fps
            };
            // Idle mode (shown on /api/state, and /health does not count the age then).
            sink.stats.idle.store(fps <= 0.0, Relaxed);
            if fps <= 0.0 {
                // Idle: nothing is fetched, so nothing can go stale.
                self.stale.restart_clock(now);
                if stop.sleep(TICK) {
                    return Ok(());
                }
                continue;
            }
            let backoff = (ERROR_BACKOFF_STEP * failures).min(MAX_ERROR_BACKOFF);
            let due = last_start.map_or(now, |t| t + Duration::from_secs_f64(1.0 / fps) + backoff);
            if now < due {
                self.stale.check(sink, now, &why);
                if stop.sleep((due - now).min(TICK)) {
                    return Ok(());
                }
                continue;
            }
            if last_start.is_none_or(|t| now - t > self.config.stale_after) {
                // Fetching (re)starts after idle: staleness counts from now.
                self.stale.restart_clock(now);
            }
            last_start = Some(now);
            match self.fetcher.fetch() {
                Ok(frame) => {
                    sink.publish_jpeg(frame.jpeg, SystemTime::now(), frame.width, frame.height);
                    self.stale.fresh(Instant::now());
                    if failures > 0 {
                        info!(stream = %self.stream_id, %url, failures, "snapshot URL works again");
                    }
                    failures = 0;
                }
                Err(err) => {
                    sink.frame_dropped();
                    failures = failures.saturating_add(1);
                    if failures == 1 || last_log.is_none_or(|t| t.elapsed() >= LOG_EVERY) {
                        warn!(stream = %self.stream_id, %url, %err, failures, "snapshot fetch failed; previous frame stays on air");
                        last_log = Some(Instant::now());
                    }
                }
            }
            self.stale.check(sink, Instant::now(), &why);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_passwords_redacted() {
        assert!(check_url("http://cam.local/snap.jpg").is_ok());
        assert!(check_url("https://u:p@10.0.0.2:8443/cgi?x=1").is_ok());
        assert!(check_url("").unwrap_err().contains("required"));
        assert!(check_url("ftp://cam/snap.jpg")
            .unwrap_err()
            .contains("http"));
        assert!(check_url("cam.local/snap.jpg").is_err());
        assert_eq!(redact("http://u:secret@cam/x@y"), "http://u:***@cam/x@y");
        assert_eq!(redact("http://cam/a@b"), "http://cam/a@b");
    }

    #[test]
    fn config_errors_name_key_and_line() {
        let parse = |t: &str| {
            crate::config::Config::parse(t, std::path::Path::new("c.toml"))
                .map_err(|e| e.to_string())
        };
        let head = "[[stream]]\nid = \"c\"\nsource = \"http\"\n";
        let e = parse(head).unwrap_err();
        assert!(e.starts_with("c.toml:3: stream[0].http:"), "{e}");
        let e = parse(&format!("{head}[stream.http]\nfetch_max_fps = 2.0\n")).unwrap_err();
        assert!(
            e.starts_with("c.toml:4: stream[0].http.url: is required"),
            "{e}"
        );
        let e = parse(&format!(
            "{head}[stream.http]\nurl = \"http://cam/s.jpg\"\ntimeout = \"20s\"\n"
        ))
        .unwrap_err();
        assert!(
            e.starts_with("c.toml:6: stream[0].http.timeout:") && e.contains("stall_timeout"),
            "{e}"
        );
        let e = parse(&format!(
            "{head}[stream.http]\nurl = \"http://cam/s.jpg\"\nvalidate = \"maybe\"\n"
        ))
        .unwrap_err();
        assert!(
            e.contains("stream[0].http.validate") && e.contains("valid_jpeg"),
            "{e}"
        );
    }

    #[test]
    fn config_checks_name_the_key() {
        let ok = HttpSourceConfig {
            url: "http://cam/snap.jpg".into(),
            ..Default::default()
        };
        assert!(ok.validate().is_ok());
        let bad_min = HttpSourceConfig {
            fetch_min_fps: 9.0,
            ..ok.clone()
        };
        assert_eq!(bad_min.validate().unwrap_err().0, "fetch_min_fps");
        let no_user = HttpSourceConfig {
            password: Some("x".into()),
            ..ok.clone()
        };
        assert_eq!(no_user.validate().unwrap_err().0, "password");
        assert_eq!(HttpSourceConfig::default().validate().unwrap_err().0, "url");
    }
}
