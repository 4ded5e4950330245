//! One `[[stream]]`: its id, its source ([`SourceConfig`]), `[stream.encoder]` and
//! `[stream.supervisor]`.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::overlay::OverlayConfig;
use super::source::{
    CameraConfig, FolderConfig, RelayConfig, SnapshotPollConfig, SourceConfig, SourceKind,
    SourceTables, TestPatternConfig,
};
use super::values::{Quality, StreamId, Subsampling};

/// Upper bound for an explicit `[stream.encoder] workers` setting.
pub const MAX_ENCODE_WORKERS: usize = 8;

/// One named stream: its source, encoding and supervision.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "RawStream")]
pub struct StreamConfig {
    /// URL-safe name: `/streams/<id>/stream.mjpg`.
    pub id: StreamId,
    /// Which source feeds the stream, with that source's settings.
    pub source: SourceConfig,
    pub encoder: EncoderConfig,
    /// Text drawn into the picture before encoding (camera and test pattern).
    pub overlay: OverlayConfig,
    pub supervisor: SupervisorConfig,
}

/// A `[[stream]]` as written: the kind and every source table apart (tables of other kinds are
/// accepted and ignored, so switching `source` back and forth keeps them).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStream {
    id: StreamId,
    source: SourceKind,
    test: Option<TestPatternConfig>,
    camera: Option<CameraConfig>,
    folder: Option<FolderConfig>,
    http: Option<SnapshotPollConfig>,
    relay: Option<RelayConfig>,
    #[serde(default)]
    encoder: EncoderConfig,
    #[serde(default)]
    overlay: OverlayConfig,
    #[serde(default)]
    supervisor: SupervisorConfig,
}

impl TryFrom<RawStream> for StreamConfig {
    type Error = String;

    fn try_from(raw: RawStream) -> Result<Self, String> {
        let tables = SourceTables {
            test: raw.test,
            camera: raw.camera,
            folder: raw.folder,
            http: raw.http,
            relay: raw.relay,
        };
        Ok(StreamConfig {
            id: raw.id,
            source: SourceConfig::from_tables(raw.source, tables)?,
            encoder: raw.encoder,
            overlay: raw.overlay,
            supervisor: raw.supervisor,
        })
    }
}

impl StreamConfig {
    /// Checks serde cannot make: `(key below the stream, message)` of the first bad value.
    pub fn validate(&self) -> Result<(), (String, String)> {
        self.source.validate()?;
        let encodes_raw = matches!(
            self.source,
            SourceConfig::Auto { .. } | SourceConfig::Test(_) | SourceConfig::Camera(_)
        );
        if self.overlay.is_enabled() && !encodes_raw {
            return Err((
                "overlay.text".into(),
                format!(
                    "the overlay is drawn into raw frames before they are encoded (camera, \
                     test pattern); a {} source delivers finished JPEGs, which are passed on \
                     untouched",
                    self.source.kind().name()
                ),
            ));
        }
        // A request must end before the supervisor takes the silence for a stall.
        if let SourceConfig::SnapshotPoll(h) = &self.source {
            if h.timeout >= self.supervisor.stall_timeout {
                return Err((
                    "http.timeout".into(),
                    format!(
                        "{:?} must be below supervisor.stall_timeout ({:?})",
                        h.timeout, self.supervisor.stall_timeout
                    ),
                ));
            }
        }
        Ok(())
    }

    /// The built-in default stream: `main` on `source = "auto"` (the camera if there is one,
    /// else the test pattern), every setting at its default.
    pub fn auto() -> Self {
        StreamConfig {
            source: SourceConfig::Auto {
                camera: Default::default(),
                test: Default::default(),
            },
            ..Self::test_pattern()
        }
    }

    /// `main` on the test pattern at its defaults.
    pub fn test_pattern() -> Self {
        StreamConfig {
            id: StreamId("main".into()),
            source: SourceConfig::Test(TestPatternConfig::default()),
            encoder: EncoderConfig::default(),
            overlay: OverlayConfig::default(),
            supervisor: SupervisorConfig::default(),
        }
    }
}

/// `[stream.encoder]`: JPEG settings of a stream that encodes raw frames (test pattern, camera,
/// `convert`), and its encoding worker pool (`pipeline::encode_pool`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncoderConfig {
    pub quality: Quality,
    pub subsampling: Subsampling,
    /// Encoding threads; 0 = auto (cores − 1, at least 1, at most 3); at most
    /// [`MAX_ENCODE_WORKERS`].
    #[serde(deserialize_with = "deserialize_workers")]
    pub workers: usize,
    /// Idle mode: stop encoding while no client watches and no snapshot asked for `idle_after`.
    pub idle: bool,
    #[serde(with = "humantime_serde")]
    pub idle_after: Duration,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            quality: Quality(80),
            subsampling: Subsampling::S420,
            workers: 0,
            idle: true,
            idle_after: Duration::from_secs(10),
        }
    }
}

impl EncoderConfig {
    /// These settings at JPEG quality `quality` (1..=100).
    pub fn with_quality(quality: u8) -> Self {
        Self {
            quality: Quality(quality.clamp(1, 100)),
            ..Self::default()
        }
    }
}

/// Deserializes a `workers` setting: 0 (auto) ..= [`MAX_ENCODE_WORKERS`].
fn deserialize_workers<'de, D: serde::Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    let n = <i64 as serde::Deserialize>::deserialize(d)?;
    if (0..=MAX_ENCODE_WORKERS as i64).contains(&n) {
        Ok(n as usize)
    } else {
        Err(serde::de::Error::custom(format!(
            "workers {n} is outside 0..={MAX_ENCODE_WORKERS} (0 = auto)"
        )))
    }
}

/// How a stream's source is restarted after errors and stalls.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SupervisorConfig {
    /// No frame for this long counts as a failure (the source is restarted).
    #[serde(with = "humantime_serde")]
    pub stall_timeout: Duration,
    /// First restart delay; doubled after each failure up to `backoff_max`.
    #[serde(with = "humantime_serde")]
    pub backoff_initial: Duration,
    #[serde(with = "humantime_serde")]
    pub backoff_max: Duration,
    /// At most this many restarts within `restart_window`; one more and the process exits non-zero.
    pub restart_budget: u32,
    #[serde(with = "humantime_serde")]
    pub restart_window: Duration,
    /// A source that ran this long without failing has its backoff reset.
    #[serde(with = "humantime_serde")]
    pub healthy_after: Duration,
    /// What clients see while the source is down: `placeholder` (a frame saying why) or
    /// `last_frame` (the last good frame stays on air; /health and /api/state still tell).
    pub while_down: WhileDown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WhileDown {
    #[default]
    Placeholder,
    LastFrame,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            stall_timeout: Duration::from_secs(10),
            backoff_initial: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
            restart_budget: 20,
            restart_window: Duration::from_secs(600),
            healthy_after: Duration::from_secs(30),
            while_down: WhileDown::Placeholder,
        }
    }
}
