//! An MJPEG client connection, shared by the [`crate::probe`] and the `relay` source
//! ([`crate::source::relay`]): the parsed `http://` target (Basic auth from `user:pass@` or set
//! explicitly), connecting (with an optional small receive buffer), the hyper 1 http1 request,
//! and reading `multipart/x-mixed-replace` parts through the tolerant [`crate::multipart`] parser.
//!
//! Everything is bounded: connecting and the response head by one timeout, every read of the body
//! by another (a stall mid-frame is an error), the response head and read-ahead by hyper's read
//! buffer ([`OpenOptions::max_read_buf_bytes`]), and parts and their headers by the parser's
//! [`Limits`].

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use crate::mjpeg::parser::{
    boundary_from_content_type, Limits, MultipartError, MultipartParser, Part,
};
use crate::util::redact_url as redact;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
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
    #[error("timed out {0}")]
    Timeout(&'static str),
    #[error("cannot send the request")]
    Write(#[source] std::io::Error),
    #[error("HTTP error")]
    Http(#[from] hyper::Error),
    #[error("server answered HTTP {status}")]
    Status { status: u16 },
    #[error("not a multipart stream (Content-Type {content_type:?})")]
    NotMultipart { content_type: String },
    #[error(transparent)]
    Multipart(#[from] MultipartError),
    #[error("the server ended the stream")]
    StreamEnded,
}

impl ClientError {
    /// Whether reconnecting soon can help (a 404 or a bad URL will not change).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::InvalidUrl { .. } | Self::NotMultipart { .. } => false,
            Self::Status { status } => *status >= 500 || *status == 408 || *status == 429,
            _ => true,
        }
    }
}

/// Where to connect and what to ask for.
#[derive(Debug, Clone)]
pub struct Target {
    pub(crate) host: String,
    pub(crate) port: u16,
    /// `host[:port]` as written in the URL (the Host header).
    pub(crate) authority: String,
    /// Path and query.
    pub(crate) path: String,
    /// `Basic …` from `user:pass@` in the URL or [`Target::with_credentials`].
    pub(crate) authorization: Option<String>,
}

impl Target {
    /// Parses an `http://[user[:pass]@]host[:port][/path]` URL.
    pub fn parse(url: &str) -> Result<Self, ClientError> {
        let bad = |reason: &str| ClientError::InvalidUrl {
            url: redact(url),
            reason: reason.to_string(),
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("only http:// URLs are supported"));
        }
        let auth = uri.authority().ok_or_else(|| bad("no host"))?;
        let (userinfo, authority) = match auth.as_str().rsplit_once('@') {
            Some((u, a)) => (Some(u), a),
            None => (None, auth.as_str()),
        };
        let host = auth.host().trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let authorization = userinfo.map(|u| {
            let (user, pass) = u.split_once(':').unwrap_or((u, ""));
            basic_auth(&percent_decode(user), &percent_decode(pass))
        });
        Ok(Self {
            host: host.to_string(),
            port: auth.port_u16().unwrap_or(80),
            authority: authority.to_string(),
            path: uri
                .path_and_query()
                .map_or("/".to_string(), |p| p.as_str().to_string()),
            authorization,
        })
    }

    /// Sends these Basic-auth credentials (overriding any in the URL).
    pub fn with_credentials(mut self, user: &str, password: &str) -> Self {
        self.authorization = Some(basic_auth(user, password));
        self
    }

    /// `http://host:port/path` without credentials, for logs and errors.
    pub fn display_url(&self) -> String {
        format!("http://{}{}", self.authority, self.path)
    }

    /// The `Authorization` header value, if any.
    pub(crate) fn authorization(&self) -> Option<&str> {
        self.authorization.as_deref()
    }
}

/// How one connection is opened and read.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Limit for resolving, connecting, and for the response head.
    pub connect_timeout: Duration,
    /// hyper's read buffer: bounds the response head and how far we read ahead of the parser.
    pub max_read_buf_bytes: usize,
    /// `SO_RCVBUF` (None: kernel default, which auto-tunes to MBs).
    pub recv_buffer_bytes: Option<usize>,
    pub limits: Limits,
    pub user_agent: &'static str,
}

/// Resolves the target and connects to its first address that answers, each within `limit`.
pub async fn connect(
    target: &Target,
    limit: Duration,
    recv_buffer_bytes: Option<usize>,
) -> Result<TcpStream, ClientError> {
    let resolve = tokio::net::lookup_host((target.host.as_str(), target.port));
    let addrs: Vec<SocketAddr> = timeout(limit, resolve)
        .await
        .map_err(|_| ClientError::Timeout("resolving the host"))?
        .map_err(|source| ClientError::Resolve {
            host: target.host.clone(),
            source,
        })?
        .collect();
    let mut last = ClientError::Resolve {
        host: target.host.clone(),
        source: std::io::Error::other("no address"),
    };
    for addr in addrs {
        match timeout(limit, connect_to(addr, recv_buffer_bytes)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(source)) => last = ClientError::Connect { addr, source },
            Err(_) => last = ClientError::Timeout("connecting"),
        }
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
        socket.set_recv_buffer_size(n.min(u32::MAX as usize) as u32)?;
    }
    let stream = socket.connect(addr).await?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// An open MJPEG response: its parts, one at a time.
pub struct PartStream {
    parser: MultipartParser,
    body: Incoming,
    ended: bool,
    _conn: AbortOnDrop,
}

/// Connects, sends `GET`, checks the answer is a 2xx multipart stream, and returns its parts.
pub async fn open(target: &Target, opts: &OpenOptions) -> Result<PartStream, ClientError> {
    let io = TokioIo::new(connect(target, opts.connect_timeout, opts.recv_buffer_bytes).await?);
    let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
        .max_buf_size(opts.max_read_buf_bytes)
        .handshake::<_, Empty<Bytes>>(io)
        .await?;
    let conn = AbortOnDrop(tokio::spawn(conn));
    let mut req = Request::get(&target.path)
        .header(HOST, &target.authority)
        .header(USER_AGENT, opts.user_agent)
        .header(ACCEPT, "multipart/x-mixed-replace, */*;q=0.5");
    if let Some(auth) = target.authorization() {
        req = req.header(AUTHORIZATION, auth);
    }
    let req = req
        .body(Empty::new())
        .map_err(|_| ClientError::InvalidUrl {
            url: target.path.clone(),
            reason: "not a valid request path".into(),
        })?;
    let resp = timeout(opts.connect_timeout, sender.send_request(req))
        .await
        .map_err(|_| ClientError::Timeout("waiting for the response"))??;
    if !resp.status().is_success() {
        return Err(ClientError::Status {
            status: resp.status().as_u16(),
        });
    }
    let content_type = resp
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let boundary = boundary_from_content_type(&content_type)
        .ok_or(ClientError::NotMultipart { content_type })?;
    Ok(PartStream {
        parser: MultipartParser::new(&boundary, opts.limits)?,
        body: resp.into_body(),
        ended: false,
        _conn: conn,
    })
}

impl PartStream {
    /// The next part; every read of the body must bring bytes within `read_timeout`. After the
    /// server ends the stream (and its last complete part was returned): [`ClientError::StreamEnded`].
    pub async fn next_part(&mut self, read_timeout: Duration) -> Result<Part, ClientError> {
        loop {
            if self.ended {
                return Err(ClientError::StreamEnded);
            }
            if let Some(part) = self.parser.next_part()? {
                return Ok(part);
            }
            match timeout(read_timeout, self.body.frame()).await {
                Err(_) => return Err(ClientError::Timeout("reading the stream")),
                Ok(None) => {
                    self.ended = true;
                    if let Some(part) = self.parser.finish()? {
                        return Ok(part);
                    }
                }
                Ok(Some(Err(err))) => return Err(err.into()),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        self.parser.push(&data);
                    }
                }
            }
        }
    }

    /// How often the parser skipped garbage to find the next delimiter.
    pub fn resyncs(&self) -> u64 {
        self.parser.resyncs()
    }
}

/// Aborts the hyper connection task when the connection's reader goes away.
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// `Basic base64(user:password)`.
pub fn basic_auth(user: &str, password: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{password}").as_bytes()))
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (c, ..) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn base64(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_port_path_credentials_and_ipv6() {
        let t = Target::parse("http://user:p%40ss@cam.local:8081/?action=stream").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("cam.local", 8081));
        assert_eq!(t.authority, "cam.local:8081");
        assert_eq!(t.path, "/?action=stream");
        // base64("user:p@ss")
        assert_eq!(t.authorization.as_deref(), Some("Basic dXNlcjpwQHNz"));
        assert_eq!(t.display_url(), "http://cam.local:8081/?action=stream");
        let t = t.with_credentials("a", "b");
        assert_eq!(t.authorization.as_deref(), Some("Basic YTpi"));
        let t = Target::parse("http://[::1]/stream.mjpg").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.authority.as_str()),
            ("::1", 80, "[::1]")
        );
        assert!(t.authorization.is_none());
        assert_eq!(Target::parse("http://h").unwrap().path, "/");
        for bad in ["https://h/", "h:80/x", "", "http:///x"] {
            assert!(Target::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(base64(b"ab"), "YWI=");
        assert_eq!(base64(b"a"), "YQ==");
        assert_eq!(base64(b"abc"), "YWJj");
    }

    #[test]
    fn url_errors_hide_the_password() {
        let err = Target::parse("ftp://u:secret@h/").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
    }
}
