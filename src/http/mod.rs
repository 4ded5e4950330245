//! The HTTP side: a hyper 1 server on tokio that serves the streams' latest frames.
//!
//! - [`routes`]: request → route (streams, snapshots, viewer, health, state, metrics, camera
//!   requests), its methods and permission, 4xx.
//! - [`camera`]: stills, controls and pause of a camera stream.
//! - [`stream_body`]: the multipart body of a stream client (pacing, slow clients).
//! - [`snapshot`]: one fresh JPEG.
//! - [`status`]: the JSON state, health and Prometheus text.
//! - [`responses`]: text/JSON/HTML/JPEG responses and their headers.
//! - [`conn`]: socket options that keep slow clients current, and the write timeout.
//!
//! [`HttpServer::run`] accepts connections until shutdown, then lets open connections finish
//! (stream bodies end at once) until the hard deadline, and aborts what is left.

pub mod camera;
pub mod conn;
pub mod responses;
pub mod routes;
pub mod snapshot;
pub mod status;
pub mod stream_body;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tracing::{debug, info, info_span, warn, Instrument};

use crate::config::ServerConfig;
use crate::pipeline::demand::Demand;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;
use crate::shutdown::Shutdown;
use crate::supervise::StatusBoard;
use crate::systemd::vitals::{Heartbeat, BEAT_EVERY};

/// Connections allowed beyond `max_clients` for snapshots, state polls and the viewer.
pub const EXTRA_CONNECTIONS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
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
}

impl AppState {
    pub fn stream(&self, id: &str) -> Option<&StreamHandle> {
        self.streams.iter().find(|s| s.id == id)
    }
}

pub struct HttpServer {
    listener: TcpListener,
    state: Arc<AppState>,
}

impl HttpServer {
    pub async fn bind(state: Arc<AppState>) -> Result<Self, HttpError> {
        let addr = state.config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| HttpError::Bind { addr, source })?;
        Ok(Self { listener, state })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound listener has an address")
    }

    /// Serves until shutdown, then drains connections until the shutdown deadline. The accept
    /// loop beats `heart` every second while it runs (the systemd watchdog checks it).
    pub async fn run(self, heart: Heartbeat) {
        let state = self.state;
        let max_conns = state.config.max_clients + EXTRA_CONNECTIONS;
        let conn_permits = Arc::new(Semaphore::new(max_conns));
        let mut conns = JoinSet::new();
        info!(addr = %self.listener.local_addr().map(|a| a.to_string()).unwrap_or_default(), "listening");
        let mut beat = tokio::time::interval(BEAT_EVERY);
        loop {
            let accepted = tokio::select! {
                _ = state.shutdown.triggered() => break,
                _ = beat.tick() => {
                    heart.beat();
                    continue;
                }
                accepted = self.listener.accept() => accepted,
                Some(_) = conns.join_next(), if !conns.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(a) => a,
                Err(err) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    warn!(%err, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(permit) = conn_permits.clone().try_acquire_owned() else {
                conns.spawn(refuse(stream));
                continue;
            };
            let state = state.clone();
            conns.spawn(
                async move {
                    serve_connection(stream, state).await;
                    drop(permit);
                }
                .instrument(info_span!("client", %peer)),
            );
        }
        drop(self.listener);
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
    }
}

async fn serve_connection(stream: TcpStream, state: Arc<AppState>) {
    let cfg = &state.config;
    if let Err(err) = conn::tune_socket(&stream, cfg.send_buffer_bytes, cfg.notsent_lowat_bytes) {
        warn!(%err, "cannot set socket options");
    }
    let socket = conn::ClientSocket(std::os::fd::AsRawFd::as_raw_fd(&stream));
    let io = TokioIo::new(conn::TimeoutStream::new(stream, cfg.write_timeout));
    let svc_state = state.clone();
    let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        req.extensions_mut().insert(socket);
        let state = svc_state.clone();
        async move { Ok::<_, std::convert::Infallible>(routes::handle(req, &state).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_timeout)
        // One frame at most waits in hyper's write buffer: the next part is chosen only when
        // this one has gone to the kernel. The read side doubles as the request head limit.
        .max_buf_size(cfg.max_header_bytes.max(8192))
        .serve_connection(io, service);
    tokio::pin!(conn);
    tokio::select! {
        res = conn.as_mut() => if let Err(err) = res { debug!(%err, "connection ended") },
        _ = state.shutdown.triggered() => {
            conn.as_mut().graceful_shutdown();
            if let Err(err) = conn.await { debug!(%err, "connection ended during shutdown") }
        }
    }
}

/// Over the connection limit: a short 503 instead of an unbounded backlog.
async fn refuse(mut stream: TcpStream) {
    let body = "server busy: too many connections\n";
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\nRetry-After: 5\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        stream.write_all(resp.as_bytes()),
    )
    .await;
}
