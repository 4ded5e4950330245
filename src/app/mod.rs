//! The one place that wires source → slot → HTTP, and shuts them down in order.
//!
//! [`start`] checks every stream's source can exist and that the file limit fits `max_clients`,
//! creates each stream's slot and counters, starts its supervisor, binds the HTTP server and
//! tells systemd it is ready. [`Running::wait`] pings the systemd watchdog while every loop beats
//! (`systemd::vitals`) and returns when shutdown was asked for (Ok) or a supervisor ended for any other
//! reason (Err: the process must exit non-zero so systemd restarts it; see [`tasks`]). Shutdown
//! order: stop accepting and end stream bodies, stop the sources, drain connections until the
//! deadline.

mod limits;
pub mod tasks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use crate::auth::{AuthError, Authenticator};
use crate::config::{Config, SourceConfig};
use crate::http::{AppState, HttpError, HttpServer, StreamHandle};
use crate::pipeline::demand::Demand;
use crate::pipeline::sink::FrameSink;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;
use crate::shutdown::{Phase, Shutdown};
use crate::source::camera::CameraLink;
use crate::source::{self, SourceError};
use crate::supervise::{StatusBoard, Supervisor, SupervisorError};
use crate::systemd::vitals::{Vitals, MAX_SILENCE};
use crate::systemd::Notifier;
use tasks::{SupervisorEnd, SupervisorTasks};

pub use limits::LimitError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("stream {stream}")]
    Source { stream: String, source: SourceError },
    #[error("cannot decide what the `source = \"auto\"` streams run")]
    Auto(#[source] tokio::task::JoinError),
    #[error(transparent)]
    Limits(#[from] LimitError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("cannot set up the [[user]] logins")]
    Auth(#[from] AuthError),
    #[error("start-up task failed")]
    Join(#[source] tokio::task::JoinError),
    #[error(transparent)]
    Supervisor(#[from] SupervisorError),
    #[error("the supervisor of stream {stream} {how}; the stream is unsupervised")]
    SupervisorLost { stream: String, how: String },
}

/// A started server.
pub struct Running {
    /// The first listening address (`listen`'s first entry, the port of `:0` filled in).
    pub addr: SocketAddr,
    /// Every listening address.
    pub addrs: Vec<SocketAddr>,
    pub shutdown: Shutdown,
    pub state: Arc<AppState>,
    http: tokio::task::JoinHandle<()>,
    supervisors: SupervisorTasks,
    vitals: Vitals,
    notifier: Arc<Notifier>,
}

/// Starts every stream and the HTTP server.
pub async fn start(mut config: Config, shutdown: Shutdown) -> Result<Running, AppError> {
    // `source = "auto"` asks the camera helper (a subprocess): off the async threads.
    let streams = std::mem::take(&mut config.streams);
    config.streams = tokio::task::spawn_blocking(move || {
        streams.into_iter().map(source::resolve_auto).collect()
    })
    .await
    .map_err(AppError::Auto)?;
    for stream in &config.streams {
        source::preflight(stream).map_err(|source| AppError::Source {
            stream: stream.id.to_string(),
            source,
        })?;
    }
    limits::ensure_file_limit(&config.server)?;
    let mut vitals = Vitals::new();
    let mut handles = Vec::new();
    let mut supervisors = SupervisorTasks::default();
    for stream in &config.streams {
        let slot = LatestFrame::new();
        let stats = Arc::new(StreamStats::new(&stream.id.0, stream.source.kind().name()));
        let demand = Arc::new(Demand::new());
        let status = Arc::new(StatusBoard::default());
        let sink = FrameSink::new(slot.clone(), stats.clone(), demand.clone());
        let heart = vitals.register(format!("supervisor of stream {}", stream.id));
        let camera = match &stream.source {
            SourceConfig::Camera(c) => Some(Arc::new(CameraLink::new(&stream.id.0, c))),
            _ => None,
        };
        let supervisor = Supervisor::new(
            stream,
            sink,
            status.clone(),
            shutdown.clone(),
            camera.clone(),
        )
        .with_heartbeat(heart);
        supervisors.spawn(&stream.id.0, supervisor.run());
        handles.push(StreamHandle {
            id: stream.id.to_string(),
            slot,
            demand,
            stats,
            status,
            stale_after: stream.supervisor.stall_timeout,
            camera,
        });
    }
    // argon2 (the dummy hash) and reading the TLS files block: off the async threads.
    let (server_config, users, down) = (
        config.server.clone(),
        config.users.clone(),
        shutdown.clone(),
    );
    let built = tokio::task::spawn_blocking(move || -> Result<AppState, AppError> {
        let auth = Authenticator::new(&users)?;
        Ok(AppState::new(server_config, handles, down, auth)?)
    })
    .await
    .map_err(AppError::Join)
    .and_then(|r| r);
    let bound = match built {
        Ok(state) => {
            let state = Arc::new(state);
            HttpServer::bind(state.clone())
                .await
                .map(|server| (state, server))
                .map_err(AppError::from)
        }
        Err(err) => Err(err),
    };
    let (state, server) = match bound {
        Ok(b) => b,
        Err(err) => {
            shutdown.trigger();
            while supervisors.next_end().await.is_some() {}
            return Err(err);
        }
    };
    let addrs = server.local_addrs();
    let addr = addrs[0];
    log_access(&config, &addrs);
    let http = tokio::spawn(server.run(vitals.register("http accept loop")));
    let notifier = Arc::new(Notifier::from_env());
    notifier.ready();
    notifier.status(&format!(
        "serving {} stream(s) on {addr}",
        state.streams.len()
    ));
    info!(%addr, streams = state.streams.len(), "streamserver ready");
    Ok(Running {
        addr,
        addrs,
        shutdown,
        state,
        http,
        supervisors,
        vitals,
        notifier,
    })
}

impl Running {
    /// Runs until shutdown or a supervisor ends; then stops everything in order.
    pub async fn wait(mut self) -> Result<(), AppError> {
        let mut failure = None;
        let watchdog = self.notifier.watchdog_interval();
        let mut ping = tokio::time::interval(watchdog.unwrap_or(Duration::from_secs(3600)));
        let mut silent_logged = false;
        loop {
            tokio::select! {
                _ = self.shutdown.triggered() => break,
                Some((stream, end)) = self.supervisors.next_end() => {
                    // A supervisor stops by itself only for shutdown; any other end is fatal.
                    if !(self.shutdown.is_triggered() && matches!(end, SupervisorEnd::Stopped)) {
                        failure = Some(lost(stream, end));
                    }
                    self.shutdown.trigger();
                    break;
                }
                _ = ping.tick(), if watchdog.is_some() => {
                    // Only a process whose loops all beat pets the watchdog (see `vitals`).
                    match self.vitals.silent(Instant::now(), MAX_SILENCE) {
                        None if !self.http.is_finished() => {
                            self.notifier.watchdog();
                            silent_logged = false;
                        }
                        silent => {
                            if !silent_logged {
                                let (what, age) = silent.unwrap_or(("http accept loop", Duration::ZERO));
                                error!(loop_name = what, silent_ms = age.as_millis() as u64,
                                    "a loop stopped making progress: withholding the watchdog ping so systemd restarts us");
                                silent_logged = true;
                            }
                        }
                    }
                }
            }
        }
        self.notifier.stopping();
        info!("shutting down");
        let deadline = self.state.config.shutdown_timeout;
        let stop_all = async {
            let _ = (&mut self.http).await;
            while let Some((stream, end)) = self.supervisors.next_end().await {
                if failure.is_none() && !matches!(end, SupervisorEnd::Stopped) {
                    failure = Some(lost(stream, end));
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
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

/// One line at start about who may use the server: without `[[user]]` everything is open, a
/// warning when that reaches beyond this machine.
fn log_access(config: &Config, addrs: &[SocketAddr]) {
    let users = &config.users;
    if users.is_empty() {
        let listed: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        if addrs.iter().all(|a| a.ip().is_loopback()) {
            info!(listen = %listed.join(", "), "no [[user]] configured: open to every client of this machine");
        } else {
            warn!(listen = %listed.join(", "),
                "no [[user]] configured: anyone who can reach this address may watch, read the status and control the cameras; add [[user]] entries (README, Security)");
        }
        return;
    }
    let named = users.iter().filter(|u| !u.is_anonymous()).count();
    let anonymous = users.len() - named;
    let tls = config.server.tls.is_some();
    info!(
        users = named,
        anonymous_entries = anonymous,
        tls,
        "logins required ([[user]])"
    );
    if !tls
        && addrs.iter().any(|a| !a.ip().is_loopback())
        && users.iter().any(|u| u.password_hash.is_some())
    {
        info!("passwords cross the network in clear without [server.tls] (or a reverse proxy with TLS)");
    }
}

/// The error for a supervisor that ended while the server was not shutting down, logged.
fn lost(stream: String, end: SupervisorEnd) -> AppError {
    let err = match end {
        SupervisorEnd::Failed(err) => AppError::Supervisor(err),
        SupervisorEnd::Panicked(msg) => AppError::SupervisorLost {
            stream,
            how: format!("panicked: {msg}"),
        },
        SupervisorEnd::Stopped => AppError::SupervisorLost {
            stream,
            how: "stopped unexpectedly".into(),
        },
        SupervisorEnd::Cancelled => AppError::SupervisorLost {
            stream,
            how: "was cancelled".into(),
        },
    };
    error!(%err, "a stream cannot recover; shutting down so the service manager restarts us");
    err
}
