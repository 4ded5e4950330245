//! The one HTTP client of the program: hyper 1 (http1) over tokio, with rustls for `https://`.
//! The `http` source polls snapshot URLs with it ([`get`]), the `relay` source and the `probe`
//! read MJPEG streams with it ([`crate::mjpeg::client`] on top of [`request`]).
//!
//! - [`Target`]: a parsed `http[s]://[user[:pass]@]host[:port][/path]` URL with its Basic-auth
//!   header.
//! - [`connect`]: resolve, connect (optionally with a small receive buffer), and for https the
//!   TLS handshake ([`tls`]: Mozilla's roots from `webpki-roots`, or — `accept_invalid_certs` —
//!   no verification at all).
//! - [`request`]: one GET on a fresh connection, the response head within the connect timeout.
//! - [`get`]: a whole GET for a snapshot: redirects followed up to a limit, the body read up to a
//!   size cap, everything within one total timeout.
//!
//! Bounded everywhere: resolving, connecting, the TLS handshake and the response head by a
//! timeout; the response head and read-ahead by hyper's read buffer; bodies by a size cap.

mod fetch;
mod target;
pub mod tls;

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, HOST, USER_AGENT};
use http::{Request, Response};
use http_body_util::Empty;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

pub use fetch::{get, GetOptions, Got};
pub use target::{Scheme, Target};

#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot resolve {host}")]
    Resolve {
        host: String,
        source: std::io::Error,
    },
    #[error("cannot connect to {addr}")]
    Connect {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS with {host} failed")]
    Tls {
        host: String,
        source: std::io::Error,
    },
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("cannot send the request")]
    Write(#[source] std::io::Error),
    #[error("HTTP error")]
    Http(#[from] hyper::Error),
    #[error("server answered HTTP {status}")]
    Status { status: u16 },
    #[error("response too large: over {max} bytes")]
    TooLarge { max: usize },
    #[error("more than {max} redirects")]
    TooManyRedirects { max: u32 },
    #[error("redirect to an unusable location {location:?}")]
    BadRedirect { location: String },
}

impl HttpClientError {
    /// Whether trying again soon can help (a 404 or a bad URL will not change).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::InvalidUrl { .. } => false,
            Self::Status { status } => *status >= 500 || *status == 408 || *status == 429,
            _ => true,
        }
    }
}

/// How a connection is made.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// Limit for resolving, connecting, the TLS handshake, and (in [`request`]) the response head.
    pub timeout: Duration,
    /// `SO_RCVBUF` (None: kernel default, which auto-tunes to MBs).
    pub recv_buffer_bytes: Option<usize>,
    /// Accept any TLS certificate (self-signed cameras). Insecure; callers log it loudly.
    pub accept_invalid_certs: bool,
}

/// A connected socket, plain or TLS.
pub enum Connection {
    Plain(TcpStream),
    Tls(Box<tokio_rustls::client::TlsStream<TcpStream>>),
}

/// Resolves the target and connects to its first address that answers, then (https) completes
/// the TLS handshake; each step within `opts.timeout`.
pub async fn connect(
    target: &Target,
    opts: &ConnectOptions,
) -> Result<Connection, HttpClientError> {
    let limit = opts.timeout;
    let resolve = tokio::net::lookup_host((target.host(), target.port()));
    let addrs: Vec<SocketAddr> = timeout(limit, resolve)
        .await
        .map_err(|_| HttpClientError::Timeout("resolving the host"))?
        .map_err(|source| HttpClientError::Resolve {
            host: target.host().to_string(),
            source,
        })?
        .collect();
    let mut last = HttpClientError::Resolve {
        host: target.host().to_string(),
        source: std::io::Error::other("no address"),
    };
    for addr in addrs {
        let tcp = match timeout(limit, connect_to(addr, opts.recv_buffer_bytes)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(source)) => {
                last = HttpClientError::Connect { addr, source };
                continue;
            }
            Err(_) => {
                last = HttpClientError::Timeout("connecting");
                continue;
            }
        };
        if target.scheme() == Scheme::Http {
            return Ok(Connection::Plain(tcp));
        }
        let tls_error = |source| HttpClientError::Tls {
            host: target.host().to_string(),
            source,
        };
        let name = tls::server_name(target.host()).map_err(tls_error)?;
        let handshake = tls::connector(opts.accept_invalid_certs).connect(name, tcp);
        let stream = timeout(limit, handshake)
            .await
            .map_err(|_| HttpClientError::Timeout("in the TLS handshake"))?
            .map_err(tls_error)?;
        return Ok(Connection::Tls(Box::new(stream)));
    }
    Err(last)
}

async fn connect_to(
    addr: SocketAddr,
    recv_buffer_bytes: Option<usize>,
) -> std::io::Result<TcpStream> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(n) = recv_buffer_bytes {
        socket.set_recv_buffer_size(u32::try_from(n).unwrap_or(u32::MAX))?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// Keeps a hyper client connection running; aborts it when the response's reader goes away.
pub struct ConnectionTask(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for ConnectionTask {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sends `GET target` on a fresh connection and returns the response head (any status) with
/// the task that drives the connection; the body is read from the response while the task
/// lives. `max_read_buf_bytes` bounds the response head and how far hyper reads ahead.
pub async fn request(
    target: &Target,
    opts: &ConnectOptions,
    max_read_buf_bytes: usize,
    accept: &str,
    user_agent: &str,
) -> Result<(Response<Incoming>, ConnectionTask), HttpClientError> {
    let io = TokioIo::new(connect(target, opts).await?);
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(max_read_buf_bytes)
        .handshake::<_, Empty<Bytes>>(io)
        .await?;
    let task = ConnectionTask(tokio::spawn(conn));
    let mut req = Request::get(target.path())
        .header(HOST, target.authority())
        .header(USER_AGENT, user_agent)
        .header(ACCEPT, accept);
    if let Some(auth) = target.authorization() {
        req = req.header(AUTHORIZATION, auth);
    }
    let req = req
        .body(Empty::new())
        .map_err(|_| HttpClientError::InvalidUrl {
            url: target.display_url(),
            reason: "not a valid request".into(),
        })?;
    let resp = timeout(opts.timeout, sender.send_request(req))
        .await
        .map_err(|_| HttpClientError::Timeout("waiting for the response"))??;
    Ok((resp, task))
}

impl AsyncRead for Connection {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_read(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write(cx, buf),
            Self::Tls(s) => Pin::new(s).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_write_vectored(cx, bufs),
            Self::Tls(s) => Pin::new(s).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Self::Plain(s) => s.is_write_vectored(),
            Self::Tls(s) => s.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_flush(cx),
            Self::Tls(s) => Pin::new(s).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Self::Plain(s) => Pin::new(s).poll_shutdown(cx),
            Self::Tls(s) => Pin::new(s).poll_shutdown(cx),
        }
    }
}

#[cfg(test)]
mod tests;
