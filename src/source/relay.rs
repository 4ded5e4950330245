//! The `relay` source: re-streams another MJPEG URL under one stable URL of ours.
//!
//! For cameras that already serve MJPEG (mjpg-streamer, ESP32-CAM, IP cameras, another
//! streamserver): one upstream connection, however many clients watch us. The stream is read with
//! the shared [`crate::mjpeg::client`] (hyper http1, Basic auth from the URL or from
//! `username`/`password`) and the tolerant [`crate::mjpeg::parser`], so any boundary (quoted or
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

use tracing::{info, warn};

use super::jpeg_check::{JpegChecker, JpegError, JpegLimits};
use super::{FrameSink, FrameSource, SourceError, StopFlag};
use crate::config::RelayConfig;
use crate::http_client::{ConnectOptions, Scheme};
use crate::mjpeg::client::{self as mjpeg_client, ClientError, OpenOptions, Target};
use crate::mjpeg::parser::{Limits, DEFAULT_MAX_HEADER_BYTES};
use crate::util::error_chain;

/// How often the running relay looks at its stop flag.
const STOP_POLL: Duration = Duration::from_millis(50);
/// hyper's read buffer: caps the response head (an endless header fails here) and read-ahead.
const MAX_READ_BUF_BYTES: usize = 64 * 1024;
/// This many rejected frames in a row end the connection (the error names the last reason).
const MAX_INVALID_IN_A_ROW: u32 = 50;
const USER_AGENT_VALUE: &str = concat!("streamserver-relay/", env!("CARGO_PKG_VERSION"));

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
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
        !matches!(self, Self::BadUrl(_))
    }
}

/// Start-up check: the URL parses into a target.
pub fn preflight(config: &RelayConfig) -> Result<(), RelayError> {
    target(config).map(drop).map_err(RelayError::BadUrl)
}

/// The upstream target with the configured credentials applied.
fn target(config: &RelayConfig) -> Result<Target, ClientError> {
    let target = Target::parse(&config.url)?;
    Ok(match &config.username {
        Some(user) => target.with_credentials(user, config.password.as_deref().unwrap_or("")),
        None => target,
    })
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
        let target = target(&config).map_err(RelayError::BadUrl)?;
        if config.accept_invalid_certs && target.scheme() == Scheme::Https {
            warn!(stream = %stream_id, url = %target.display_url(),
                "accept_invalid_certs is ON: TLS certificates are NOT verified; anyone on the path can impersonate this camera");
        }
        Ok(Self {
            stream_id,
            target,
            read_timeout: config.read_timeout,
            open: OpenOptions {
                connect: ConnectOptions {
                    timeout: config.connect_timeout,
                    recv_buffer_bytes: None,
                    accept_invalid_certs: config.accept_invalid_certs,
                },
                max_read_buf_bytes: MAX_READ_BUF_BYTES,
                limits: Limits {
                    max_part_bytes: config.max_frame_bytes,
                    max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
                },
                user_agent: USER_AGENT_VALUE,
            },
            checker: JpegChecker::new(JpegLimits {
                max_bytes: config.max_frame_bytes,
                full_decode: config.full_decode,
                max_pixels: config.max_pixels,
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
mod tests;
