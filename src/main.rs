//! The `streamserver` command line: run the server, check a config, probe a stream.
//!
//! This is the only place that uses `anyhow` and decides the exit code: 0 after a clean
//! shutdown, 1 when the config is bad or a stream cannot recover (systemd then restarts us),
//! 2 for usage errors (clap).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

use streamserver::config::{Config, StreamConfig};
use streamserver::shutdown::Shutdown;
use streamserver::source::SourceKind;

const DEFAULT_CONFIG: &str = "config.toml";

/// MJPEG camera streaming server for the Raspberry Pi (and any Linux machine).
///
/// Serves /stream.mjpg (multipart MJPEG for browsers, VLC, ffmpeg, OctoPrint, go2rtc),
/// /snapshot.jpg, a viewer page at /, /health, /api/state and /metrics.
/// Without a config file it serves the built-in test pattern.
#[derive(Parser, Debug)]
#[command(version, about, long_about)]
struct Cli {
    /// Config file (TOML). Default: ./config.toml if it exists, else built-in defaults.
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Address to listen on, overriding [server] listen (e.g. 127.0.0.1:8080, [::]:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// Serve one stream from this source, ignoring the config's [[stream]]s.
    #[arg(long, value_enum)]
    source: Option<CliSource>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum CliSource {
    /// The built-in moving test pattern.
    Test,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a config file and print a summary; exit 1 with the error if it is invalid.
    CheckConfig,
    /// Measure an MJPEG stream: fps, sizes, sequence gaps, latency from X-Timestamp.
    Probe(streamserver::probe::ProbeArgs),
}

fn main() -> ExitCode {
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
        Some(Command::CheckConfig) => {
            let (config, path) = load_config(cli.config.as_deref())?;
            for stream in &config.streams {
                streamserver::source::check_available(stream)
                    .with_context(|| format!("stream {}", stream.id))?;
            }
            println!(
                "{}: ok ({} stream(s): {}; listen {})",
                path.map(|p| p.display().to_string())
                    .unwrap_or_else(|| "built-in defaults".into()),
                config.streams.len(),
                config
                    .streams
                    .iter()
                    .map(|s| format!("{} = {}", s.id, s.source.name()))
                    .collect::<Vec<_>>()
                    .join(", "),
                config.server.listen
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Probe(args)) => {
            let rt = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
            let ok = rt.block_on(streamserver::probe::run(args))?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        None => serve(cli),
    }
}

/// Loads `--config`, or ./config.toml if present, or the built-in defaults.
fn load_config(path: Option<&Path>) -> anyhow::Result<(Config, Option<PathBuf>)> {
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

fn serve(cli: Cli) -> anyhow::Result<ExitCode> {
    let (mut config, path) = load_config(cli.config.as_deref())?;
    if let Some(listen) = cli.listen {
        config.server.listen = listen;
    }
    if let Some(CliSource::Test) = cli.source {
        let mut stream = StreamConfig::test_pattern();
        if let Some(first) = config.streams.first() {
            if first.source == SourceKind::Test {
                stream = first.clone();
            }
        }
        config.streams = vec![stream];
    }
    // Like check-config: a source missing from this build is one line on stderr, before logging.
    for stream in &config.streams {
        streamserver::source::check_available(stream)
            .with_context(|| format!("stream {}", stream.id))?;
    }
    let _log_guard =
        streamserver::logging::init(&config.logging).context("cannot set up logging")?;
    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        config = %path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "built-in defaults".into()),
        "streamserver starting"
    );
    let shutdown = Shutdown::new();
    shutdown
        .listen_for_signals()
        .context("cannot install signal handlers")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("async")
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(async {
        let running = streamserver::app::start(config, shutdown).await?;
        running.wait().await
    });
    // Don't wait for abandoned (hung) source threads or blocking tasks.
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    match result {
        Ok(()) => {
            tracing::info!("streamserver stopped");
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            let err = anyhow::Error::from(err);
            tracing::error!(error = format!("{err:#}"), "streamserver failed");
            Err(err)
        }
    }
}
