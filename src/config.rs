//! The typed configuration (`config.toml`).
//!
//! Everything is checked at load: unknown keys are rejected, addresses, paths, durations
//! (`"500ms"`, `"5s"`) and enums are parsed into their types, and every error is one line naming
//! the file, the line and the key (`config.toml:12: stream[0].fps: …`). Each stage gets only its
//! own sub-struct: [`ServerConfig`] for HTTP, [`LoggingConfig`] for logs, [`StreamConfig`] per
//! stream (source, encoder, supervisor).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

mod lines;
mod values;
use lines::{find_key_line, line_of, source_table_line};
pub use values::{Quality, StreamId};

use crate::encode_pool::EncodePoolConfig;
use crate::encoder::{EncoderSettings, Subsampling};
use crate::source::camera::CameraConfig;
use crate::source::folder::FolderConfig;
use crate::source::http_source::HttpSourceConfig;
use crate::source::relay::RelayConfig;
use crate::source::test_pattern::TestPatternConfig;
use crate::source::SourceKind;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `line` is 1-based; `key` is the dotted path of the offending key (may be empty for syntax).
    #[error("{path}:{line}: {key}{sep}{message}", sep = if key.is_empty() { "" } else { ": " })]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    #[serde(default = "default_streams", rename = "stream")]
    pub streams: Vec<StreamConfig>,
}

/// HTTP server settings and client limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    /// Concurrent stream clients over all streams; beyond it new streams get 503.
    pub max_clients: usize,
    /// Upper bound for a client's `?fps=N` (0 = no cap beyond the source's rate).
    pub max_client_fps: u32,
    /// Re-send the newest frame after this long without a new one (keeps browsers and proxies fresh).
    #[serde(with = "humantime_serde")]
    pub idle_resend: Duration,
    /// How long a snapshot request waits for a first or fresh frame.
    #[serde(with = "humantime_serde")]
    pub snapshot_timeout: Duration,
    /// A client whose socket accepts nothing for this long is disconnected.
    #[serde(with = "humantime_serde")]
    pub write_timeout: Duration,
    /// Time allowed to send the request headers.
    #[serde(with = "humantime_serde")]
    pub header_timeout: Duration,
    /// Largest accepted request head (bytes).
    pub max_header_bytes: usize,
    /// Kernel send buffer per client socket (`SO_SNDBUF`, bytes; 0 = kernel default).
    pub send_buffer_bytes: usize,
    /// `TCP_NOTSENT_LOWAT` (bytes): the socket counts as writable only when fewer unsent bytes wait.
    pub notsent_lowat_bytes: usize,
    /// Graceful shutdown deadline: open connections are dropped after it.
    #[serde(with = "humantime_serde")]
    pub shutdown_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: "0.0.0.0:8080".parse().unwrap(),
            max_clients: 200,
            max_client_fps: 0,
            idle_resend: Duration::from_secs(1),
            snapshot_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            header_timeout: Duration::from_secs(5),
            max_header_bytes: 8192,
            send_buffer_bytes: 0,
            notsent_lowat_bytes: 16 * 1024,
            shutdown_timeout: Duration::from_secs(3),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Rotation {
    Hourly,
    Daily,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoggingConfig {
    /// Directory of `main.log` and `error.log` (created if missing; relative to the working dir).
    pub dir: PathBuf,
    pub level: LogLevel,
    pub rotation: Rotation,
    /// Rotated files kept per log (older ones are deleted).
    pub keep_files: usize,
    /// Also log to stderr.
    pub console: bool,
}

impl Default for LoggingConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("logs"),
            level: LogLevel::Info,
            rotation: Rotation::Daily,
            keep_files: 7,
            console: true,
        }
    }
}

/// One named stream: its source, encoding and supervision.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamConfig {
    /// URL-safe name: `/streams/<id>/stream.mjpg`.
    pub id: StreamId,
    /// Which source feeds the stream; its options live in the `[stream.<kind>]` table.
    pub source: SourceKind,
    #[serde(default)]
    pub test: TestPatternConfig,
    /// `[stream.camera]`: parsed in every build, so a config is valid with or without libcamera.
    #[serde(default)]
    pub camera: CameraConfig,
    /// `[stream.folder]`, required by `source = "folder"`.
    pub folder: Option<FolderConfig>,
    /// `[stream.http]`, required by `source = "http"`.
    pub http: Option<HttpSourceConfig>,
    /// `[stream.relay]`, required by `source = "relay"`.
    pub relay: Option<RelayConfig>,
    #[serde(default)]
    pub encoder: EncoderConfig,
    #[serde(default)]
    pub supervisor: SupervisorConfig,
}

/// JPEG settings of a stream that encodes raw frames (test pattern, camera, `convert`), and its
/// encoding worker pool ([`crate::encode_pool`]).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EncoderConfig {
    pub quality: Quality,
    pub subsampling: Subsampling,
    /// Encoding threads; 0 = auto (cores − 1, at least 1, at most 3); at most 8.
    #[serde(deserialize_with = "crate::encode_pool::deserialize_workers")]
    pub workers: usize,
    /// Idle mode: stop encoding while no client watches and no snapshot asked for `idle_after`.
    pub idle: bool,
    #[serde(with = "humantime_serde")]
    pub idle_after: Duration,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        let pool = EncodePoolConfig::default();
        Self {
            quality: Quality(80),
            subsampling: Subsampling::S420,
            workers: pool.workers,
            idle: pool.idle,
            idle_after: pool.idle_after,
        }
    }
}

impl EncoderConfig {
    pub fn settings(&self) -> EncoderSettings {
        EncoderSettings {
            quality: self.quality.0,
            subsampling: self.subsampling,
        }
    }

    /// The encoding pool's settings.
    pub fn pool(&self) -> EncodePoolConfig {
        EncodePoolConfig {
            workers: self.workers,
            idle: self.idle,
            idle_after: self.idle_after,
        }
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

fn default_streams() -> Vec<StreamConfig> {
    vec![StreamConfig::test_pattern()]
}

impl StreamConfig {
    /// The built-in default stream: the test pattern at its defaults.
    pub fn test_pattern() -> Self {
        StreamConfig {
            id: StreamId("main".into()),
            source: SourceKind::Test,
            test: TestPatternConfig::default(),
            camera: CameraConfig::default(),
            folder: None,
            http: None,
            relay: None,
            encoder: EncoderConfig::default(),
            supervisor: SupervisorConfig::default(),
        }
    }
}

impl Default for Config {
    /// Built-in defaults: one stream, `main`, on the test pattern.
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            logging: LoggingConfig::default(),
            streams: default_streams(),
        }
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|err| {
            let key = err.path().to_string();
            let inner = err.into_inner();
            let line = inner
                .span()
                .map(|s| line_of(text, s.start))
                .unwrap_or_else(|| find_key_line(text, &key));
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                key: if key == "." { String::new() } else { key },
                message: inner.message().trim().replace('\n', " "),
            }
        })?;
        config.validate(text, path)?;
        Ok(config)
    }

    /// Checks that need the whole file: stream ids unique, at least one stream.
    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line: find_key_line(text, &key),
            key,
            message,
        };
        if self.streams.is_empty() {
            return Err(invalid(
                "stream".into(),
                "at least one [[stream]] is needed".into(),
            ));
        }
        for (i, s) in self.streams.iter().enumerate() {
            if self.streams[..i].iter().any(|o| o.id == s.id) {
                return Err(invalid(
                    format!("stream[{i}].id"),
                    format!("duplicate stream id {:?}", s.id.0),
                ));
            }
        }
        for (i, s) in self.streams.iter().enumerate() {
            if let Err((key, message)) = crate::source::check_config(s) {
                let key = format!("stream[{i}].{key}");
                // A missing key has no line of its own: point at its table, or at `source`.
                let line = [key.as_str(), key.rsplit_once('.').map_or("", |k| k.0)]
                    .iter()
                    .map(|k| find_key_line(text, k))
                    .chain(std::iter::once(source_table_line(text, i, &key)))
                    .find(|&l| l > 1)
                    .unwrap_or(1);
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    line,
                    key,
                    message,
                });
            }
        }
        if self.server.max_clients == 0 {
            return Err(invalid(
                "server.max_clients".into(),
                "must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "config_tests.rs"]
mod tests;
