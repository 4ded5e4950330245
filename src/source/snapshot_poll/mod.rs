//! The snapshot-URL source (`source = "http"`): polls a snapshot URL (an IP camera's or a tablet's `snapshot.jpg`).
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

mod fetch;

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant, SystemTime};

use tracing::{info, warn};

use super::stale::{PlaceholderError, PlaceholderImage, StaleGuard};
use super::{FrameSink, FrameSource, SourceError, StopFlag};
use crate::config::{check_http_url, EncoderConfig, SnapshotPollConfig};
use crate::util::redact_url;
use fetch::{FetchSettings, Fetcher, FetcherError};

/// A snapshot request within this window counts as demand (like a watching client).
const DEMAND_WINDOW: Duration = Duration::from_secs(5);
/// Longest sleep before the loop looks at its stop flag and at demand again.
const TICK: Duration = Duration::from_millis(50);
/// A failure streak is logged at its start and then at most this often.
const LOG_EVERY: Duration = Duration::from_secs(30);
/// Back-off per consecutive failure (added to the fetch interval), capped.
const ERROR_BACKOFF_STEP: Duration = Duration::from_millis(250);
const MAX_ERROR_BACKOFF: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum SnapshotPollError {
    #[error("http source url {url}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error(transparent)]
    Placeholder(#[from] PlaceholderError),
    #[error("http source: {0}")]
    Fetcher(#[from] FetcherError),
}

impl SnapshotPollError {
    /// Only a failing encoder set-up may heal; settings do not.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Fetcher(FetcherError::Encode(_) | FetcherError::Runtime(_))
        )
    }
}

/// Start-up check: URL well-formed, placeholder image readable.
pub fn preflight(config: &SnapshotPollConfig) -> Result<(), SnapshotPollError> {
    check_http_url(&config.url).map_err(|reason| SnapshotPollError::BadUrl {
        url: redact_url(&config.url),
        reason,
    })?;
    if let Some(p) = &config.placeholder_image {
        PlaceholderImage::load(p)?;
    }
    Ok(())
}

pub struct SnapshotPollSource {
    stream_id: String,
    config: SnapshotPollConfig,
    fetcher: Fetcher,
    stale: StaleGuard,
}

impl SnapshotPollSource {
    pub fn new(
        stream_id: String,
        config: SnapshotPollConfig,
        encoder: EncoderConfig,
        attempt: u32,
    ) -> Result<Self, SnapshotPollError> {
        preflight(&config)?;
        if config.accept_invalid_certs && attempt == 0 {
            warn!(stream = %stream_id, url = %redact_url(&config.url),
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
            max_pixels: config.max_pixels,
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

impl FrameSource for SnapshotPollSource {
    fn describe(&self) -> String {
        format!("http {}", redact_url(&self.config.url))
    }

    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        let url = redact_url(&self.config.url);
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
