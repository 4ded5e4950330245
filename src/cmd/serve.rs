//! `streamserver` without a subcommand: load the config, set up logging and signals, run the
//! server ([`crate::app`]) until shutdown, and turn the outcome into an exit code.

use std::process::ExitCode;

use anyhow::Context;

use super::{load_config, Cli, CliSource};
use crate::config::{CameraConfig, SourceConfig, SourceKind, StreamConfig, TestPatternConfig};
use crate::shutdown::Shutdown;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let (mut config, path) = load_config(cli.config.as_deref())?;
    if let Some(listen) = cli.listen {
        config.server.listen = listen;
    }
    if let Some(source) = cli.source {
        let (kind, default) = match source {
            CliSource::Test => (
                SourceKind::Test,
                SourceConfig::Test(TestPatternConfig::default()),
            ),
            CliSource::Camera => (
                SourceKind::Camera,
                SourceConfig::Camera(CameraConfig::default()),
            ),
        };
        let stream = match config.streams.iter().find(|s| s.source.kind() == kind) {
            Some(s) => s.clone(),
            None => StreamConfig {
                source: default,
                ..StreamConfig::test_pattern()
            },
        };
        config.streams = vec![stream];
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
