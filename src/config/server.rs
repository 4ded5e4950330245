//! `[server]` (the HTTP side: address, client limits, timeouts, socket bounds) and `[logging]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

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
pub enum LogRotation {
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
    pub rotation: LogRotation,
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
            rotation: LogRotation::Daily,
            keep_files: 7,
            console: true,
        }
    }
}
