//! The `relay` source: re-streams another MJPEG URL under one stable URL of ours.
//!
//! For cameras that already serve MJPEG (mjpg-streamer, ESP32-CAM, IP cameras, another
//! streamserver): one upstream connection, however many clients watch us. The stream is read with
//! the shared [`crate::mjpeg_client`] (hyper http1, Basic auth from the URL or from
//! `username`/`password`) and the tolerant [`crate::multipart`] parser, so any boundary (quoted or
//! not, with or without the leading `--`) and parts with or without `Content-Length` work. Each
//! part is checked like a folder frame ([`super::jpeg_check`]: markers, header, optionally a full
//! decode) before it goes on air; a bad one is skipped and counted as dropped.
//!
//! Bounded: a part over `max_frame_bytes` ends the connection without being buffered, the
//! response head and read-ahead are capped by hyper's read buffer, connecting and the response
//! head get `connect_timeout`, and every read of the body `read_timeout` (a stall mid-frame).
//!
//! Reconnecting is the supervisor's job: any upstream failure (refused, HTTP 500, not multipart,
//! a truncated body, a stall, the stream ending, too many bad frames in a row) returns an error
//! from [`RelaySource::run`], and the supervisor restarts us with capped backoff, showing its
//! placeholder meanwhile. The async client runs on a small current-thread runtime inside the
//! source's own thread, and stops within [`STOP_POLL`] of the stop flag being raised.

use std::time::{Duration, SystemTime};

use serde::Deserialize;
use tracing::{info, warn};

use super::jpeg_check::{JpegChecker, JpegError, JpegLimits};
use super::{FrameSink, FrameSource, SourceError, StopFlag};
use crate::mjpeg_client::{self, error_chain, ClientError, OpenOptions, Target};
use crate::multipart::{Limits, DEFAULT_MAX_HEADER_BYTES};

/// How often the running relay looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// hyper's read buffer: caps the response head (an endless header fails here) and read-ahead.
const MAX_READ_BUF_BYTES: usize = 64 * 1024;
/// This many rejected frames in a row end the connection (the error names the last reason).
const MAX_INVALID_IN_A_ROW: u32 = 50;
/// Largest accepted `max_frame_bytes` (the parser holds at most about one frame).
const MAX_FRAME_BYTES_LIMIT: usize = 256 * 1024 * 1024;
const USER_AGENT_VALUE: &str = concat!("streamserver-relay/", env!("CARGO_PKG_VERSION"));

/// `[stream.relay]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RelayConfig {
    /// The upstream MJPEG URL (required): `http://[user:password@]host[:port]/path`.
    pub url: String,
    /// Basic-auth credentials (override any in the URL).
    pub username: Option<String>,
    pub password: Option<String>,
    /// A part larger than this (bytes) ends the connection; it is never buffered whole.
    pub max_frame_bytes: usize,
    /// Limit for connecting and for the response head.
    #[serde(with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest wait for more bytes while streaming (a stall, also mid-frame, is an error).
    #[serde(with = "humantime_serde")]
    pub read_timeout: Duration,
    /// Decode every frame completely before publishing (catches corrupt image data; costs a
    /// full decode per frame). Off: markers and header are checked.
    pub full_decode: bool,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            url: String::new(),
            username: None,
            password: None,
            max_frame_bytes: 16 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            read_timeout: Duration::from_secs(5),
            full_decode: false,
        }
    }
}

impl RelayConfig {
    /// Checks values serde cannot: `(key, message)` of the first bad one.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.url.is_empty() {
            return Err(("url", "is required: the upstream MJPEG URL".into()));
        }
        Target::parse(&self.url).map_err(|e| ("url", e.to_string()))?;
        if !(1..=MAX_FRAME_BYTES_LIMIT).contains(&self.max_frame_bytes) {
            return Err((
                "max_frame_bytes",
                format!("must be between 1 and {MAX_FRAME_BYTES_LIMIT}"),
            ));
        }
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

    /// The upstream target with the configured credentials applied.
    fn target(&self) -> Result<Target, ClientError> {
        let target = Target::parse(&self.url)?;
        Ok(match &self.username {
            Some(user) => target.with_credentials(user, self.password.as_deref().unwrap_or("")),
            None => target,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("source = \"relay\" needs a [stream.relay] table with `url`")]
    NoConfig,
    #[error("relay url: {0}")]
    BadUrl(#[source] ClientError),
    #[error("upstream {url}: {}", error_chain(.source))]
    Upstream { url: String, source: ClientError },
    #[error("upstream {url}: {count} invalid frames in a row, the last: {last}")]
    InvalidFrames {
        url: String,
        count: u32,
        last: JpegError,
    },
    #[error("cannot start the relay's runtime")]
    Runtime(#[source] std::io::Error),
}

impl RelayError {
    /// Every upstream failure may heal (the camera reboots, the network returns); settings do not.
    pub fn is_retryable(&self) -> bool {
        !matches!(self, Self::NoConfig | Self::BadUrl(_))
    }
}

/// Start-up check: the table is there and its URL parses.
pub fn check(config: Option<&RelayConfig>) -> Result<(), RelayError> {
    config
        .ok_or(RelayError::NoConfig)?
        .target()
        .map(drop)
        .map_err(RelayError::BadUrl)
}

pub struct RelaySource {
    stream_id: String,
    target: Target,
    read_timeout: Duration,
    open: OpenOptions,
    checker: JpegChecker,
}

impl RelaySource {
    pub fn new(stream_id: String, config: RelayConfig) -> Result<Self, RelayError> {
        let target = config.target().map_err(RelayError::BadUrl)?;
        Ok(Self {
            stream_id,
            target,
            read_timeout: config.read_timeout,
            open: OpenOptions {
                connect_timeout: config.connect_timeout,
                max_read_buf_bytes: MAX_READ_BUF_BYTES,
                recv_buffer_bytes: None,
                limits: Limits {
                    max_part_bytes: config.max_frame_bytes,
                    max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
                },
                user_agent: USER_AGENT_VALUE,
            },
            checker: JpegChecker::new(JpegLimits {
                max_bytes: config.max_frame_bytes,
                full_decode: config.full_decode,
            }),
        })
    }

    fn upstream(&self, source: ClientError) -> RelayError {
        RelayError::Upstream {
            url: self.target.display_url(),
            source,
        }
    }

    /// One upstream connection, until it fails (the supervisor reconnects).
    async fn relay(&mut self, sink: &FrameSink) -> RelayError {
        let mut parts = match mjpeg_client::open(&self.target, &self.open).await {
            Ok(parts) => parts,
            Err(err) => return self.upstream(err),
        };
        info!(stream = %self.stream_id, url = %self.target.display_url(), "relay connected");
        let mut invalid = 0u32;
        loop {
            let part = match parts.next_part(self.read_timeout).await {
                Ok(part) => part,
                Err(err) => return self.upstream(err),
            };
            match self.checker.check(&part.body) {
                Ok(info) => {
                    if invalid > 0 {
                        info!(stream = %self.stream_id, skipped = invalid, "valid frames again");
                    }
                    invalid = 0;
                    // Arrival time: the upstream's clock may be anything.
                    sink.publish_jpeg(part.body, SystemTime::now(), info.width, info.height);
                }
                Err(err) => {
                    sink.frame_dropped();
                    invalid += 1;
                    if invalid == 1 {
                        warn!(stream = %self.stream_id, %err, bytes = part.body.len(), "skipping an invalid frame from upstream");
                    }
                    if invalid >= MAX_INVALID_IN_A_ROW {
                        return RelayError::InvalidFrames {
                            url: self.target.display_url(),
                            count: invalid,
                            last: err,
                        };
                    }
                }
            }
        }
    }
}

impl FrameSource for RelaySource {
    fn describe(&self) -> String {
        format!("relay {}", self.target.display_url())
    }

    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RelayError::Runtime)?;
        runtime.block_on(async {
            tokio::select! {
                err = self.relay(sink) => Err(err.into()),
                _ = stopped(stop) => Ok(()),
            }
        })
    }
}

async fn stopped(stop: &StopFlag) {
    while !stop.is_raised() {
        tokio::time::sleep(STOP_POLL).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Result<RelayConfig, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn defaults_and_durations() {
        let c = config("url = \"http://cam/stream\"\nread_timeout = \"750ms\"").unwrap();
        assert_eq!(c.read_timeout, Duration::from_millis(750));
        assert_eq!(c.connect_timeout, Duration::from_secs(5));
        assert_eq!(c.max_frame_bytes, 16 * 1024 * 1024);
        assert!(!c.full_decode);
        assert_eq!(c.validate(), Ok(()));
        assert!(config("url = \"http://cam/\"\nbogus = 1").is_err());
    }

    #[test]
    fn validate_names_the_bad_key() {
        let key = |text: &str| config(text).unwrap().validate().unwrap_err().0;
        assert_eq!(key(""), "url");
        assert_eq!(key("url = \"https://cam/\""), "url");
        assert_eq!(
            key("url = \"http://cam/\"\nmax_frame_bytes = 0"),
            "max_frame_bytes"
        );
        assert_eq!(
            key("url = \"http://cam/\"\nread_timeout = \"0s\""),
            "read_timeout"
        );
        assert_eq!(key("url = \"http://cam/\"\npassword = \"x\""), "password");
    }

    #[test]
    fn configured_credentials_override_the_url() {
        let c =
            config("url = \"http://a:b@cam/\"\nusername = \"user\"\npassword = \"p@ss\"").unwrap();
        assert_eq!(
            c.target().unwrap().authorization(),
            Some("Basic dXNlcjpwQHNz")
        );
        let c = config("url = \"http://a:b@cam/\"").unwrap();
        assert_eq!(c.target().unwrap().authorization(), Some("Basic YTpi"));
    }

    #[test]
    fn relay_without_its_table_or_url_is_a_config_error_naming_the_key() {
        let parse = |text: &str| {
            crate::config::Config::parse(text, std::path::Path::new("c.toml"))
                .unwrap_err()
                .to_string()
        };
        let head = "[[stream]]\nid = \"cam\"\nsource = \"relay\"\n";
        let err = parse(head);
        assert!(err.starts_with("c.toml:3: stream[0].relay: "), "{err}");
        let err = parse(&format!("{head}[stream.relay]\nread_timeout = \"1s\"\n"));
        assert!(
            err.starts_with("c.toml:4: stream[0].relay.url: is required"),
            "{err}"
        );
        let err = parse(&format!(
            "{head}[stream.relay]\nurl = \"http://h/\"\nretry = 1\n"
        ));
        assert!(err.contains("stream[0].relay"), "{err}");
    }

    #[test]
    fn only_bad_settings_are_final() {
        assert!(!RelayError::NoConfig.is_retryable());
        let upstream = RelayError::Upstream {
            url: "http://cam/".into(),
            source: ClientError::NotMultipart {
                content_type: "text/html".into(),
            },
        };
        assert!(upstream.is_retryable());
        assert!(upstream.to_string().contains("text/html"), "{upstream}");
    }
}
