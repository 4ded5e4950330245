//! One client connection, from its admission to its end: socket tuning, the TLS handshake (with
//! `[server.tls]`), hyper's HTTP/1 connection, and the bookkeeping that lets [`super::admission`]
//! evict it while it waits for a request head.
//!
//! Each request gets the connection's [`Client`] (peer address, login cache) and
//! [`ClientSocket`] as extensions. A request head marks the connection busy; when a response
//! other than a stream has been sent, it waits again (pending) for the next head.
//!
//! A stream client's connection is polled about 30 times a second, so the per-poll work is kept
//! small: the client's span is entered while a request is handled and named by the connection's
//! own events, not around every poll, and of hyper's connection, the eviction and the shutdown
//! signal only what woke the task is polled again ([`super::wakeups`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpStream;
use tracing::{debug, info_span, Instrument, Span};

use super::access::Client;
use super::admission::Ticket;
use super::conn::{self, ClientSocket, TimeoutStream};
use super::responses::ResponseBody;
use super::routes::{self, Streaming};
use super::wakeups::Wakeups;
use super::AppState;
use crate::mjpeg::format::PartBuf;

/// Serves one admitted connection until it ends, is evicted, or shutdown ends it.
pub async fn serve(stream: TcpStream, peer: SocketAddr, ticket: Arc<Ticket>, state: Arc<AppState>) {
    let span = info_span!("client", %peer);
    let cfg = &state.config;
    if let Err(err) = conn::tune_socket(&stream, cfg.send_buffer_bytes, cfg.notsent_lowat_bytes) {
        debug!(parent: &span, %err, "cannot set socket options");
    }
    let socket = ClientSocket(std::os::fd::AsRawFd::as_raw_fd(&stream));
    let io = TimeoutStream::new(stream, cfg.write_timeout);
    let Some(tls) = &state.tls else {
        return serve_http(io, peer, Some(socket), ticket, state, span).await;
    };
    let handshake = tokio::time::timeout(cfg.header_timeout, tls.acceptor().accept(io));
    let tls_stream = async {
        tokio::select! {
            done = handshake => match done {
                Ok(Ok(s)) => Some(s),
                Ok(Err(err)) => { debug!(%err, "TLS handshake failed"); None }
                Err(_) => { debug!("TLS handshake timed out"); None }
            },
            _ = ticket.evicted() => { debug!("evicted during the TLS handshake"); None }
            _ = state.shutdown.triggered() => None,
        }
    }
    .instrument(span.clone())
    .await;
    if let Some(tls_stream) = tls_stream {
        serve_http(tls_stream, peer, Some(socket), ticket, state, span).await
    }
}

/// HTTP/1 on an established byte stream (TCP, TLS, or an in-memory pipe for the request
/// fuzzer), until it ends, is evicted, or shutdown ends it. `socket` is the TCP socket under
/// it, if any (stream bodies read its backlog).
pub async fn serve_io<I>(
    io: I,
    peer: SocketAddr,
    socket: Option<ClientSocket>,
    ticket: Arc<Ticket>,
    state: Arc<AppState>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    serve_http(io, peer, socket, ticket, state, info_span!("client", %peer)).await
}

/// [`serve_io`] with the client's span (`client` with its `peer`) made by the caller.
async fn serve_http<I>(
    io: I,
    peer: SocketAddr,
    socket: Option<ClientSocket>,
    ticket: Arc<Ticket>,
    state: Arc<AppState>,
    span: Span,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let io = TokioIo::new(io);
    let cfg = &state.config;
    let client = Client::new(peer.ip(), &state.auth);
    let svc_span = span.clone();
    let svc_state = Arc::clone(&state);
    let svc_ticket = Arc::clone(&ticket);
    let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        svc_ticket.head_received();
        if let Some(socket) = socket {
            req.extensions_mut().insert(socket);
        }
        req.extensions_mut().insert(client.clone());
        let state = Arc::clone(&svc_state);
        let ticket = Arc::clone(&svc_ticket);
        async move {
            let resp = routes::handle(req, &state).await;
            let resp = if resp.extensions().get::<Streaming>().is_some() {
                resp
            } else {
                resp.map(|body| IdleWhenSent { body, ticket }.boxed_unsync())
            };
            Ok::<_, std::convert::Infallible>(resp)
        }
        .instrument(svc_span.clone())
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(cfg.header_timeout)
        // One frame at most waits in hyper's write buffer: the next part is chosen only when
        // this one has gone to the kernel. The read side doubles as the request head limit.
        .max_buf_size(cfg.max_header_bytes.max(8192))
        .serve_connection(io, service);
    let (conn_source, evicted_source, shutdown_source) = (0, 1, 2);
    let mut conn = std::pin::pin!(conn);
    let mut evicted = std::pin::pin!(ticket.evicted());
    let mut shutdown = std::pin::pin!(state.shutdown.triggered());
    let mut wakeups = Wakeups::new(3);
    let mut draining = false;
    let ended = std::future::poll_fn(|cx| {
        let woken = wakeups.take(cx);
        if !draining
            && woken.has(evicted_source)
            && evicted
                .as_mut()
                .poll(&mut wakeups.context(evicted_source))
                .is_ready()
        {
            return Poll::Ready(Ended::Evicted);
        }
        if !draining
            && woken.has(shutdown_source)
            && shutdown
                .as_mut()
                .poll(&mut wakeups.context(shutdown_source))
                .is_ready()
        {
            conn.as_mut().graceful_shutdown();
            draining = true;
        } else if !woken.has(conn_source) {
            return Poll::Pending;
        }
        conn.as_mut()
            .poll(&mut wakeups.context(conn_source))
            .map(Ended::Served)
    })
    .await;
    let when = if draining { " during shutdown" } else { "" };
    match ended {
        Ended::Served(Ok(())) => {}
        Ended::Served(Err(err)) => debug!(parent: &span, %err, "connection ended{when}"),
        Ended::Evicted => {
            debug!(parent: &span, waited_ms = ticket.pending_for().as_millis() as u64,
            "closing a connection that waits for its request head: too many are waiting")
        }
    }
}

/// How [`serve_http`]'s connection ended.
enum Ended {
    /// hyper's connection finished (after a graceful shutdown, if one started).
    Served(hyper::Result<()>),
    /// [`super::admission`] evicted it while it waited for a request head.
    Evicted,
}

/// A response body that, once hyper has sent (and dropped) it, marks the connection as waiting
/// for its next request head.
struct IdleWhenSent {
    body: ResponseBody,
    ticket: Arc<Ticket>,
}

impl Drop for IdleWhenSent {
    fn drop(&mut self) {
        self.ticket.idle();
    }
}

impl Body for IdleWhenSent {
    type Data = PartBuf;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<PartBuf>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}
