//! The HTTP side: a hyper 1 server on tokio that serves the streams' latest frames.
//!
//! - [`routes`]: request → route (streams, snapshots, viewer, health, state, metrics, camera
//!   requests), the methods and the permission each needs, 4xx.
//! - [`camera`]: stills, controls (and the controls page) and pause of a camera stream.
//! - [`access`]: who may use a route (`[[user]]`, through [`crate::auth`]): 401/403/429.
//! - [`stream_body`]: the multipart body of a stream client (pacing, slow clients).
//! - [`snapshot`]: one fresh JPEG.
//! - [`status`]: the JSON state, health and Prometheus text.
//! - [`responses`]: text/JSON/HTML/JPEG responses and their headers (no-cache, nosniff, CORS).
//! - [`connection`]: one connection: TLS handshake, hyper, pending/busy bookkeeping.
//! - [`admission`]: limits per address, on connections waiting for their head, on all.
//! - [`listen`]: the listening sockets (one or several addresses, IPv4 and IPv6).
//! - [`tls`]: `[server.tls]` certificates, reloaded on change or SIGHUP.
//! - [`conn`]: socket options that keep slow clients current, and the write timeout.
//! - [`log_budget`]: at most a few log lines per second about what clients cause.
//! - [`memory`]: memory goes back to the system after a burst of connections or logins.
//! - [`wakeups`]: which of the things a connection waits on woke it (poll only those).
//!
//! [`HttpServer::run`] accepts connections until shutdown, then lets open connections finish
//! (stream bodies end at once) until the hard deadline, and aborts what is left.

pub mod access;
pub mod admission;
pub mod camera;
pub mod conn;
pub mod connection;
pub mod listen;
pub mod log_budget;
pub mod memory;
pub mod responses;
pub mod routes;
pub mod snapshot;
pub mod status;
pub mod stream_body;
pub mod tls;
pub mod wakeups;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{info, warn};

use crate::auth::Authenticator;
use crate::config::ServerConfig;
use crate::pipeline::demand::Demand;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;
use crate::shutdown::Shutdown;
use crate::supervise::StatusBoard;
use crate::systemd::vitals::{Heartbeat, BEAT_EVERY};
use admission::{Admission, AdmissionLimits, Refused};
use listen::Listeners;
use log_budget::LogBudget;
use tls::{Reloader, TlsCerts, TlsError};

/// Connections allowed beyond `max_clients` for snapshots, state polls and the viewer.
pub const EXTRA_CONNECTIONS: usize = 64;

/// Refused-connection log lines per second.
static REFUSED_LOG: LogBudget = LogBudget::new(2, Duration::from_secs(1));

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("[server.tls]")]
    Tls(#[from] TlsError),
}

/// What the routes can see of one stream.
#[derive(Clone)]
pub struct StreamHandle {
    pub id: String,
    pub slot: LatestFrame,
    /// Stream clients and snapshots note their demand here (idle mode).
    pub demand: Arc<Demand>,
    pub stats: Arc<StreamStats>,
    /// The source's state as its supervisor sees it.
    pub status: Arc<StatusBoard>,
    /// Frame age beyond which `/health` reports the stream unhealthy.
    pub stale_after: std::time::Duration,
    /// A camera stream's stills, controls and pause (None: not a camera).
    pub camera: Option<Arc<crate::source::camera::CameraLink>>,
}

/// Shared, read-mostly state of the server.
pub struct AppState {
    pub config: ServerConfig,
    /// The first is the default stream (`/stream.mjpg`).
    pub streams: Vec<StreamHandle>,
    pub started: Instant,
    /// One permit per stream client; 503 when none is left.
    pub stream_permits: Arc<Semaphore>,
    pub shutdown: Shutdown,
    /// Decides every request (empty, and skipped, without `[[user]]`).
    pub auth: Authenticator,
    /// Which connections are kept; see [`admission`].
    pub admission: Arc<Admission>,
    /// The certificate of `[server.tls]`, if set.
    pub tls: Option<Arc<TlsCerts>>,
}

impl AppState {
    /// The server's state; loads `[server.tls]` (blocking: reads two small files).
    pub fn new(
        config: ServerConfig,
        streams: Vec<StreamHandle>,
        shutdown: Shutdown,
        auth: Authenticator,
    ) -> Result<Self, HttpError> {
        let tls = config.tls.as_ref().map(TlsCerts::load).transpose()?;
        let admission = Admission::new(AdmissionLimits {
            max_connections: config.max_clients + EXTRA_CONNECTIONS,
            per_address: config.max_connections_per_address,
            max_pending: config.max_pending_connections,
        });
        Ok(AppState {
            stream_permits: Arc::new(Semaphore::new(config.max_clients)),
            config,
            streams,
            started: Instant::now(),
            shutdown,
            auth,
            admission,
            tls,
        })
    }

    pub fn stream(&self, id: &str) -> Option<&StreamHandle> {
        self.streams.iter().find(|s| s.id == id)
    }
}

pub struct HttpServer {
    listeners: Listeners,
    state: Arc<AppState>,
}

impl HttpServer {
    pub async fn bind(state: Arc<AppState>) -> Result<Self, HttpError> {
        let listeners = listen::bind_all(&state.config.listen.0, state.config.header_timeout)
            .map_err(|(addr, source)| HttpError::Bind { addr, source })?;
        Ok(Self {
            listeners: Listeners::new(listeners),
            state,
        })
    }

    /// The bound addresses, in `listen` order (the port of `:0` filled in).
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.listeners.local_addrs()
    }

    /// Serves until shutdown, then drains connections until the shutdown deadline. The accept
    /// loop beats `heart` every second while it runs (the systemd watchdog checks it).
    pub async fn run(mut self, heart: Heartbeat) {
        let state = self.state;
        let reloader = match &state.tls {
            Some(certs) => match Reloader::start(Arc::clone(certs)) {
                Ok(r) => Some(r),
                Err(err) => {
                    warn!(error = %crate::util::error_chain(&err), "TLS certificates will not be reloaded");
                    None
                }
            },
            None => None,
        };
        memory::tune();
        let mut trimmer = memory::Trimmer::new(state.admission.stats().admitted, Instant::now());
        let mut conns = JoinSet::new();
        let addrs: Vec<String> = self
            .listeners
            .local_addrs()
            .iter()
            .map(|a| a.to_string())
            .collect();
        let scheme = if state.tls.is_some() { "https" } else { "http" };
        info!(addrs = %addrs.join(", "), scheme, "listening");
        let mut beat = tokio::time::interval(BEAT_EVERY);
        loop {
            let accepted = tokio::select! {
                _ = state.shutdown.triggered() => break,
                _ = beat.tick() => {
                    heart.beat();
                    trimmer.look(state.admission.stats().admitted, Instant::now());
                    continue;
                }
                accepted = self.listeners.accept() => accepted,
                Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(err) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    warn!(%err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let ticket = match state.admission.admit(peer.ip()) {
                Ok(t) => t,
                Err(why) => {
                    refuse(stream, peer, why);
                    continue;
                }
            };
            // Not instrumented: the connection names its client span itself ([`connection`]).
            conns.spawn(connection::serve(stream, peer, ticket, Arc::clone(&state)));
        }
        drop(self.listeners);
        let deadline = state.config.shutdown_timeout;
        info!(
            open = conns.len(),
            deadline_ms = deadline.as_millis() as u64,
            "draining connections"
        );
        let drained = tokio::time::timeout(deadline, async {
            while conns.join_next().await.is_some() {}
        });
        tokio::select! {
            res = drained => if res.is_err() {
                warn!(left = conns.len(), "shutdown deadline reached; dropping connections");
            },
            _ = state.shutdown.reached(crate::shutdown::Phase::Immediate) => {}
        }
        conns.shutdown().await;
        if let Some(r) = reloader {
            let _ = tokio::task::spawn_blocking(move || r.stop()).await;
        }
    }
}

/// A connection that is not admitted: a short 503 if the socket takes it at once (a fresh
/// socket always does), then closed. Nothing waits: under a flood, refusing must cost less than
/// connecting.
fn refuse(stream: TcpStream, peer: SocketAddr, why: Refused) {
    let (body, reason) = match why {
        Refused::PerAddress => (
            "too many connections from your address\n",
            "per-address limit",
        ),
        Refused::Full => ("server busy: too many connections\n", "connection limit"),
    };
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\
         X-Content-Type-Options: nosniff\r\nConnection: close\r\nRetry-After: 5\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.try_write(resp.as_bytes());
    if let Some(suppressed) = REFUSED_LOG.allow() {
        info!(%peer, reason, suppressed, "connection refused");
    }
}
