//! The one place that wires source → slot → HTTP, and shuts them down in order.
//!
//! [`start`] checks every stream's source can exist, creates each stream's slot and counters,
//! starts its supervisor, binds the HTTP server and tells systemd it is ready. [`Running::wait`]
//! returns when shutdown was asked for (Ok) or a supervisor gave up (Err: the process must exit
//! non-zero so systemd restarts it). Shutdown order: stop accepting and end stream bodies, stop
//! the sources, drain connections until the deadline.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{error, info};

use crate::config::Config;
use crate::http::{AppState, HttpError, HttpServer, StreamHandle};
use crate::pipeline::demand::Demand;
use crate::pipeline::sink::FrameSink;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;
use crate::shutdown::{Phase, Shutdown};
use crate::source::{self, SourceError};
use crate::supervise::{StatusBoard, Supervisor, SupervisorError};
use crate::systemd::Notifier;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("stream {stream}")]
    Source { stream: String, source: SourceError },
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
}

/// A started server.
pub struct Running {
    pub addr: SocketAddr,
    pub shutdown: Shutdown,
    pub state: Arc<AppState>,
    http: tokio::task::JoinHandle<()>,
    supervisors: JoinSet<Result<(), SupervisorError>>,
    notifier: Arc<Notifier>,
}

/// Starts every stream and the HTTP server.
pub async fn start(config: Config, shutdown: Shutdown) -> Result<Running, AppError> {
    for stream in &config.streams {
        source::preflight(stream).map_err(|source| AppError::Source {
            stream: stream.id.to_string(),
            source,
        })?;
    }
    let mut handles = Vec::new();
    let mut supervisors = JoinSet::new();
    for stream in &config.streams {
        let slot = LatestFrame::new();
        let stats = Arc::new(StreamStats::new(&stream.id.0, stream.source.kind().name()));
        let demand = Arc::new(Demand::new());
        let status = Arc::new(StatusBoard::default());
        let sink = FrameSink::new(slot.clone(), stats.clone(), demand.clone());
        supervisors.spawn(Supervisor::new(stream, sink, status.clone(), shutdown.clone()).run());
        handles.push(StreamHandle {
            id: stream.id.to_string(),
            slot,
            demand,
            stats,
            status,
            stale_after: stream.supervisor.stall_timeout,
        });
    }
    let state = Arc::new(AppState {
        stream_permits: Arc::new(Semaphore::new(config.server.max_clients)),
        config: config.server.clone(),
        streams: handles,
        started: Instant::now(),
        shutdown: shutdown.clone(),
    });
    let server = match HttpServer::bind(state.clone()).await {
        Ok(s) => s,
        Err(err) => {
            shutdown.trigger();
            while supervisors.join_next().await.is_some() {}
            return Err(err.into());
        }
    };
    let addr = server.local_addr();
    let http = tokio::spawn(server.run());
    let notifier = Arc::new(Notifier::from_env());
    notifier.ready();
    notifier.status(&format!(
        "serving {} stream(s) on {addr}",
        state.streams.len()
    ));
    info!(%addr, streams = state.streams.len(), "streamserver ready");
    Ok(Running {
        addr,
        shutdown,
        state,
        http,
        supervisors,
        notifier,
    })
}

impl Running {
    /// Runs until shutdown or a supervisor gives up; then stops everything in order.
    pub async fn wait(mut self) -> Result<(), AppError> {
        let mut failure = None;
        let watchdog = self.notifier.watchdog_interval();
        let mut ping =
            tokio::time::interval(watchdog.unwrap_or(std::time::Duration::from_secs(3600)));
        loop {
            tokio::select! {
                _ = self.shutdown.triggered() => break,
                Some(res) = self.supervisors.join_next() => {
                    if let Ok(Err(err)) = res {
                        error!(%err, "a stream cannot recover; shutting down so the service manager restarts us");
                        failure = Some(err);
                        self.shutdown.trigger();
                        break;
                    }
                }
                _ = ping.tick(), if watchdog.is_some() => {
                    // Only a live runtime with a running HTTP loop pets the watchdog.
                    if !self.http.is_finished() {
                        self.notifier.watchdog();
                    }
                }
            }
        }
        self.notifier.stopping();
        info!("shutting down");
        let deadline = self.state.config.shutdown_timeout;
        let stop_all = async {
            let _ = (&mut self.http).await;
            while let Some(res) = self.supervisors.join_next().await {
                if let (Ok(Err(err)), None) = (res, &failure) {
                    failure = Some(err);
                }
            }
        };
        tokio::select! {
            res = tokio::time::timeout(deadline + deadline, stop_all) => {
                if res.is_err() {
                    error!("shutdown deadline passed; exiting anyway");
                }
            }
            _ = self.shutdown.reached(Phase::Immediate) => info!("second signal: exiting at once"),
        }
        match failure {
            Some(err) => Err(err.into()),
            None => Ok(()),
        }
    }
}
