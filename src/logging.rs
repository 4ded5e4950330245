//! Logging: tracing to the console, `main.log` (everything at the configured level) and
//! `error.log` (warnings and errors only), both rotating.
//!
//! Files are written by `tracing-appender` on a background thread per file (a slow disk never
//! blocks a client); at most [`BUFFERED_LINES`] lines wait for it, more are dropped. With `rotation = "daily"` or `"hourly"` the files are named `main.<date>.log` and
//! `main.log` is a symlink to the current one; `keep_files` old files are kept per log. The
//! returned [`LogGuard`] flushes both files when dropped, so `main` holds it to the very end.

use std::io::IsTerminal;
use std::path::PathBuf;

use tracing::level_filters::LevelFilter;
use tracing_appender::non_blocking::WorkerGuard;
use tracing_appender::rolling::{RollingFileAppender, Rotation as AppenderRotation};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, Layer};

use crate::config::{LogLevel, LogRotation, LoggingConfig};

#[derive(Debug, thiserror::Error)]
pub enum LoggingError {
    #[error("log directory {path}")]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("log file in {path}: {message}")]
    File { path: PathBuf, message: String },
    #[error("a global logger is already installed")]
    AlreadyInstalled,
}

/// Lines that may wait for a log file's writer thread. The library's default (128,000) costs 4 MB
/// of resident memory per file at start (a preallocated channel of 32-byte slots), half the
/// server's memory with one client; a few thousand lines cover any burst (hundreds of clients
/// connecting at once) while the disk keeps up.
pub const BUFFERED_LINES: usize = 4096;

/// Keeps the background writers alive; dropping it flushes the log files.
pub struct LogGuard {
    _guards: Vec<WorkerGuard>,
}

fn level(l: LogLevel) -> LevelFilter {
    match l {
        LogLevel::Error => LevelFilter::ERROR,
        LogLevel::Warn => LevelFilter::WARN,
        LogLevel::Info => LevelFilter::INFO,
        LogLevel::Debug => LevelFilter::DEBUG,
        LogLevel::Trace => LevelFilter::TRACE,
    }
}

/// `dir` must be absolute: tracing-appender points the `main.log` symlink at `dir/<file>`, which
/// for a relative `dir` resolves from the link's own directory and dangles.
fn appender(
    config: &LoggingConfig,
    dir: &std::path::Path,
    name: &str,
) -> Result<RollingFileAppender, LoggingError> {
    let rotation = match config.rotation {
        LogRotation::Hourly => AppenderRotation::HOURLY,
        LogRotation::Daily => AppenderRotation::DAILY,
        LogRotation::Never => AppenderRotation::NEVER,
    };
    let mut builder = RollingFileAppender::builder()
        .rotation(rotation.clone())
        .filename_prefix(name)
        .filename_suffix("log");
    if rotation != AppenderRotation::NEVER {
        builder = builder
            .max_log_files(config.keep_files.max(1))
            .latest_symlink(format!("{name}.log"));
    }
    builder.build(dir).map_err(|e| LoggingError::File {
        path: config.dir.clone(),
        message: e.to_string(),
    })
}

/// Installs the global subscriber. `RUST_LOG` is not consulted: the config file decides.
pub fn init(config: &LoggingConfig) -> Result<LogGuard, LoggingError> {
    std::fs::create_dir_all(&config.dir).map_err(|source| LoggingError::Dir {
        path: config.dir.clone(),
        source,
    })?;
    let dir = std::fs::canonicalize(&config.dir).map_err(|source| LoggingError::Dir {
        path: config.dir.clone(),
        source,
    })?;
    let writer = |name: &str| -> Result<_, LoggingError> {
        Ok(
            tracing_appender::non_blocking::NonBlockingBuilder::default()
                .buffered_lines_limit(BUFFERED_LINES)
                .thread_name(&format!("log-{name}"))
                .finish(appender(config, &dir, name)?),
        )
    };
    let (main_writer, main_guard) = writer("main")?;
    let (err_writer, err_guard) = writer("error")?;
    let lvl = level(config.level);
    let main_layer = fmt::layer()
        .with_ansi(false)
        .with_writer(main_writer)
        .with_filter(lvl);
    let error_layer = fmt::layer()
        .with_ansi(false)
        .with_writer(err_writer)
        .with_filter(LevelFilter::WARN.min(lvl));
    let console_layer = config.console.then(|| {
        fmt::layer()
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(std::io::stderr)
            .with_filter(lvl)
    });
    tracing_subscriber::registry()
        .with(main_layer)
        .with(error_layer)
        .with(console_layer)
        .try_init()
        .map_err(|_| LoggingError::AlreadyInstalled)?;
    Ok(LogGuard {
        _guards: vec![main_guard, err_guard],
    })
}
