//! The `streamserver` command line: run the server ([`serve`]), check a config
//! ([`check_config`]), probe a stream, list cameras, make a password hash or a token for a
//! `[[user]]`. `src/main.rs` only calls [`main`].
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
///
/// Without [[user]] entries in the config everything is open to whoever can reach the port.
/// With them, clients log in with HTTP Basic auth (http://user:password@host:8080/…) or a
/// token (…/stream.mjpg?token=…); `hash-password` and `new-token` make the values to paste.
/// [server.tls] serves HTTPS. See the README, section Security.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
pub(crate) struct Cli {
    /// Config file (TOML). Default: ./config.toml if it exists, else built-in defaults.
    #[arg(long, global = true, value_name = "PATH")]
    pub(crate) config: Option<PathBuf>,
    /// Address to listen on, overriding [server] listen (e.g. 127.0.0.1:8080, [::]:8080);
    /// repeat it for several.
    #[arg(long, value_name = "ADDR:PORT")]
    pub(crate) listen: Vec<SocketAddr>,
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
    /// Hash a password for a [[user]] entry and print the line to paste into config.toml
    /// (password_hash = "$argon2id$…"). The password is read from the terminal (asked twice,
    /// not shown), or from the first line of stdin when stdin is not a terminal
    /// (echo "$PASSWORD" | streamserver hash-password).
    HashPassword,
    /// Print a new random access token as the line to paste into a [[user]] entry
    /// (token = "…"). Clients that cannot send a password use it as ?token=… in the URL or
    /// as `Authorization: Bearer …`. Each user needs their own.
    NewToken,
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
        Some(Command::HashPassword) => {
            crate::auth::password::hash_password_command(&mut std::io::stdout().lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::NewToken) => {
            let token = crate::auth::token::generate_token()?;
            println!("{}", crate::auth::token::token_line(&token));
            eprintln!("# paste into a [[user]] entry; clients use http://HOST:PORT/stream.mjpg?token={token}");
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
