//! The `streamserver` command line: run the server ([`serve`]), check a config
//! ([`check_config`]), probe a stream, list cameras. `src/main.rs` only calls [`main`].
//!
//! This is the only place that uses `anyhow` and decides the exit code: 0 after a clean
//! shutdown, 1 when the config is bad or a stream cannot recover (systemd then restarts us),
//! 2 for usage errors (clap).

mod check_config;
mod serve;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use crate::config::{Config, SourceConfig};

const DEFAULT_CONFIG: &str = "config.toml";

/// MJPEG camera streaming server for the Raspberry Pi (and any Linux machine).
///
/// Serves /stream.mjpg (multipart MJPEG for browsers, VLC, ffmpeg, OctoPrint, go2rtc),
/// /snapshot.jpg, a viewer page at /, /health, /api/state and /metrics.
/// Without a config file it serves the built-in test pattern.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
pub(crate) struct Cli {
    /// Config file (TOML). Default: ./config.toml if it exists, else built-in defaults.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on, overriding [server] listen (e.g. 127.0.0.1:8080, [::]:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) listen: Option<SocketAddr>,
    /// Serve one stream from this source, ignoring the config's [[stream]]s.
    #[arg(long, value_enum)]
    pub(crate) source: Option<CliSource>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum CliSource {
    /// The built-in moving test pattern.
    Test,
    /// The first camera (libcamera), with the config's first camera stream's settings if any.
    Camera,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a config file and print a summary; exit 1 with the error if it is invalid.
    CheckConfig,
    /// Measure an MJPEG stream: fps, sizes, sequence gaps, latency from X-Timestamp.
    Probe(crate::probe::ProbeArgs),
    /// List the cameras libcamera sees (through the camera helper): index, id, model, pixel
    /// formats and sizes.
    ListCameras,
}

/// Parses the command line, runs it, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("streamserver: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Some(Command::CheckConfig) => check_config::run(cli.config.as_deref()),
        Some(Command::Probe(args)) => {
            let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let ok = rt.block_on(crate::probe::run(args))?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Some(Command::ListCameras) => {
            // The helper of the config's first camera stream, if one names it.
            let (config, _) = load_config(cli.config.as_deref())?;
            let helper = config.streams.iter().find_map(|s| match &s.source {
                SourceConfig::Camera(c) | SourceConfig::Auto { camera: c, .. } => c.helper.clone(),
                _ => None,
            });
            print!(
                "{}",
                crate::source::camera::list_cameras(helper.as_deref())?
            );
            Ok(ExitCode::SUCCESS)
        }
        None => serve::run(cli),
    }
}

/// Loads `--config`, or ./config.toml if present, or the built-in defaults.
pub(crate) fn load_config(path: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
    let path = match path {
        Some(p) => Some(p.to_path_buf()),
        None => Path::new(DEFAULT_CONFIG)
            .exists()
            .then(|| PathBuf::from(DEFAULT_CONFIG)),
    };
    match path {
        Some(p) => Ok((Config::load(&p)?, Some(p))),
        None => Ok((Config::default(), None)),
    }
}
