//! `streamserver` without a subcommand: load the config, set up logging and signals, run the
//! server ([`crate::app`]) until shutdown, and turn the outcome into an exit code.

use std::process::ExitCode;

use anyhow::Context;

use super::{load_config, Cli, CliSource};
use crate::config::{SourceConfig, StreamConfig};
use crate::shutdown::Shutdown;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (mut config, path) = load_config(cli.config.as_deref())?;
    if !cli.listen.is_empty() {
        config.server.listen = crate::config::ListenAddrs(cli.listen.clone());
    }
    if let Some(source) = cli.source {
        config.streams = vec![only(&config.streams, source)];
    }
    // Like check-config: a source missing from this build is one line on stderr, before logging.
    for stream in &config.streams {
        crate::source::preflight(stream).with_context(|| format!("stream {}", stream.id))?;
    }
    let _log_guard = crate::logging::init(&config.logging).context("cannot set up logging")?;
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
        .worker_threads(worker_threads()?)
        .enable_all()
        .thread_name("async")
        .build()
        .context("cannot start the async runtime")?;
    let result = rt.block_on(async {
        let running = crate::app::start(config, shutdown).await?;
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

/// Threads of the async runtime (HTTP clients and the app's own tasks): one unless
/// `TOKIO_WORKER_THREADS` says otherwise.
///
/// With two or more, every frame a source publishes wakes a second worker that has nothing to
/// do (tokio's multi-thread scheduler keeps a worker searching): a quarter of the CPU per frame
/// at one client. One worker is enough for what a Pi's network link can carry (the kernel does
/// most of the work of a plain HTTP stream, in the writing thread); blocking work (sources,
/// encoding, password hashing) runs on threads of its own.
fn worker_threads() -> anyhow::Result<usize> {
    match std::env::var("TOKIO_WORKER_THREADS") {
        Err(_) => Ok(1),
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .with_context(|| format!("TOKIO_WORKER_THREADS={v:?}: use a whole number ≥ 1")),
    }
}

/// The one stream `--source test|camera` serves: the config's first stream of that kind (an
/// `auto` stream counts as both, with its own settings), else one at the defaults.
fn only(streams: &[StreamConfig], source: CliSource) -> StreamConfig {
    let pick = |s: &StreamConfig| match (&s.source, source) {
        (SourceConfig::Test(_), CliSource::Test) | (SourceConfig::Camera(_), CliSource::Camera) => {
            Some(s.source.clone())
        }
        (SourceConfig::Auto { test, .. }, CliSource::Test) => {
            Some(SourceConfig::Test(test.clone()))
        }
        (SourceConfig::Auto { camera, .. }, CliSource::Camera) => {
            Some(SourceConfig::Camera(camera.clone()))
        }
        _ => None,
    };
    match streams
        .iter()
        .find_map(|s| pick(s).map(|source| (s, source)))
    {
        Some((s, source)) => StreamConfig {
            source,
            ..s.clone()
        },
        None => StreamConfig {
            source: match source {
                CliSource::Test => SourceConfig::Test(Default::default()),
                CliSource::Camera => SourceConfig::Camera(Default::default()),
            },
            ..StreamConfig::test_pattern()
        },
    }
}
