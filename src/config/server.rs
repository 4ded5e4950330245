//! `[server]` (the HTTP side: addresses, client and connection limits, timeouts, socket bounds,
//! CORS), `[server.tls]` and `[logging]`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::values::ListenAddrs;

/// HTTP server settings and client limits.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// One address or several (`["0.0.0.0:8080", "[::]:8080"]`).
    pub listen: ListenAddrs,
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
    /// A client whose socket accepts nothing for this long is disconnected, as is one that is
    /// behind and reads nothing for this long.
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
    /// Connections open at once from one IPv4 address or IPv6 /64; one more is closed at once.
    pub max_connections_per_address: usize,
    /// Connections still in their TLS handshake or sending their first request head, over all
    /// addresses; one more closes the oldest such connection of the address that has the most.
    pub max_pending_connections: usize,
    /// Origins whose scripts may read responses (CORS), e.g. `"https://dash.example.org"`;
    /// `"*"` allows any origin (without credentials). Empty: no CORS headers.
    pub cors_origins: Vec<String>,
    /// `[server.tls]`: serve HTTPS instead of HTTP.
    pub tls: Option<TlsConfig>,
}

/// `[server.tls]`: the certificate chain and private key (PEM files), reloaded when either file
/// changes or on SIGHUP.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first (PEM).
    pub cert: PathBuf,
    /// The private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

impl ServerConfig {
    /// Checks values serde cannot: `(key, message)` of the first bad one, `key` relative to
    /// `server`.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.max_clients == 0 {
            return Err(("max_clients", "must be at least 1".into()));
        }
        if self.max_connections_per_address == 0 {
            return Err(("max_connections_per_address", "must be at least 1".into()));
        }
        if self.max_pending_connections == 0 {
            return Err(("max_pending_connections", "must be at least 1".into()));
        }
        for origin in &self.cors_origins {
            check_origin(origin).map_err(|m| ("cors_origins", m))?;
        }
        if let Some(tls) = &self.tls {
            if tls.cert.as_os_str().is_empty() {
                return Err(("tls.cert", "must name the certificate file (PEM)".into()));
            }
            if tls.key.as_os_str().is_empty() {
                return Err(("tls.key", "must name the private key file (PEM)".into()));
            }
        }
        Ok(())
    }
}

/// An origin as browsers send it: `scheme://host[:port]`, nothing after; or `*`.
fn check_origin(origin: &str) -> Result<(), String> {
    if origin == "*" {
        return Ok(());
    }
    let ok = origin.split_once("://").is_some_and(|(scheme, rest)| {
        matches!(scheme, "http" | "https")
            && !rest.is_empty()
            && !rest.contains(['/', '?', '#', '@', ' '])
    });
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{origin:?} is not an origin: write scheme://host[:port] with nothing after, e.g. \
             \"https://dash.example.org\", or \"*\" for any"
        ))
    }
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
            max_connections_per_address: 32,
            max_pending_connections: 64,
            cors_origins: Vec::new(),
            tls: None,
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
