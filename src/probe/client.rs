//! One probe connection: the parsed `http://` target, connecting (with an optional small receive
//! buffer), the hyper 1 client request, and reading parts through the multipart parser; plus the
//! stalled connections that send a request and never read.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HOST, USER_AGENT};
use http::{Request, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::timeout;

use super::report::ClientStats;
use super::ProbeError;
use crate::multipart::{boundary_from_content_type, Limits, MultipartParser};

/// hyper's read buffer: bounds how far the client reads ahead of the parser.
const MAX_READ_BUF_BYTES: usize = 64 * 1024;
/// The same for slow readers (`--read-fps`): hyper's minimum, so that the frames a slow client
/// gets are as old as the server (and the socket buffers) make them, not older.
const SLOW_READER_READ_BUF_BYTES: usize = 8 * 1024;
const USER_AGENT_VALUE: &str = concat!("streamserver-probe/", env!("CARGO_PKG_VERSION"));

/// Where to connect and what to ask for.
#[derive(Debug, Clone)]
pub(crate) struct Target {
    host: String,
    port: u16,
    /// `host[:port]` as written in the URL (the Host header).
    authority: String,
    path: String,
    /// `Basic …` from `user:pass@` in the URL.
    authorization: Option<String>,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, ProbeError> {
        let bad = |reason: &str| ProbeError::InvalidUrl {
            url: url.to_string(),
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
            let pair = format!("{}:{}", percent_decode(user), percent_decode(pass));
            format!("Basic {}", base64(pair.as_bytes()))
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
}

/// How every connection of one probe behaves.
#[derive(Debug, Clone)]
pub(crate) struct ConnSettings {
    pub(crate) target: Target,
    /// Connect, response and per-read timeout.
    pub(crate) timeout: Duration,
    pub(crate) limits: Limits,
    /// `SO_RCVBUF` for the probe's sockets (None: kernel default, which auto-tunes to MBs).
    pub(crate) recv_buffer_bytes: Option<usize>,
    /// Read at most one part per interval (`--read-fps`).
    pub(crate) read_interval: Option<Duration>,
    /// Stop after this many frames.
    pub(crate) frames: Option<u64>,
}

impl ConnSettings {
    async fn connect(&self) -> Result<TcpStream, ProbeError> {
        let t = &self.target;
        let resolve = tokio::net::lookup_host((t.host.as_str(), t.port));
        let addrs: Vec<SocketAddr> = timeout(self.timeout, resolve)
            .await
            .map_err(|_| ProbeError::Timeout("resolving the host"))?
            .map_err(|source| ProbeError::Resolve {
                host: t.host.clone(),
                source,
            })?
            .collect();
        let mut last = ProbeError::Resolve {
            host: t.host.clone(),
            source: std::io::Error::other("no address"),
        };
        for addr in addrs {
            match timeout(self.timeout, self.connect_to(addr)).await {
                Ok(Ok(stream)) => return Ok(stream),
                Ok(Err(source)) => last = ProbeError::Connect { addr, source },
                Err(_) => last = ProbeError::Timeout("connecting"),
            }
        }
        Err(last)
    }

    async fn connect_to(&self, addr: SocketAddr) -> std::io::Result<TcpStream> {
        let socket = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(n) = self.recv_buffer_bytes {
            socket.set_recv_buffer_size(n.min(u32::MAX as usize) as u32)?;
        }
        let stream = socket.connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// One connection: request the stream and count parts until `frames` is reached (Ok) or the
    /// connection fails (Err). The caller races it against the deadline.
    pub(crate) async fn stream_once(&self, stats: &mut ClientStats) -> Result<(), ProbeError> {
        let io = TokioIo::new(self.connect().await?);
        let (mut sender, conn) = hyper::client::conn::http1::Builder::new()
            .max_buf_size(if self.read_interval.is_some() {
                SLOW_READER_READ_BUF_BYTES
            } else {
                MAX_READ_BUF_BYTES
            })
            .handshake::<_, Empty<Bytes>>(io)
            .await?;
        let _conn = AbortOnDrop(tokio::spawn(conn));
        let mut req = Request::get(&self.target.path)
            .header(HOST, &self.target.authority)
            .header(USER_AGENT, USER_AGENT_VALUE);
        if let Some(auth) = &self.target.authorization {
            req = req.header(AUTHORIZATION, auth);
        }
        let req = req.body(Empty::new()).map_err(|_| ProbeError::InvalidUrl {
            url: self.target.path.clone(),
            reason: "not a valid request path".into(),
        })?;
        let resp = timeout(self.timeout, sender.send_request(req))
            .await
            .map_err(|_| ProbeError::Timeout("waiting for the response"))??;
        if !resp.status().is_success() {
            return Err(ProbeError::Status {
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
            .ok_or(ProbeError::NotMultipart { content_type })?;
        let mut parser = MultipartParser::new(&boundary, self.limits)?;
        let mut body = resp.into_body();
        let mut next_read = tokio::time::Instant::now();
        let result = loop {
            match parser.next_part() {
                Ok(Some(part)) => {
                    stats.record_part(&part, Instant::now(), SystemTime::now());
                    if self.frames.is_some_and(|n| stats.frames >= n) {
                        break Ok(());
                    }
                    if let Some(iv) = self.read_interval {
                        // Emulate a slow client: the socket is not read while we sleep.
                        next_read = (next_read + iv).max(tokio::time::Instant::now());
                        tokio::time::sleep_until(next_read).await;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(err) => break Err(err.into()),
            }
            match timeout(self.timeout, body.frame()).await {
                Err(_) => break Err(ProbeError::Timeout("reading the stream")),
                Ok(None) => {
                    if let Some(part) = parser.finish()? {
                        stats.record_part(&part, Instant::now(), SystemTime::now());
                    }
                    break Err(ProbeError::StreamEnded);
                }
                Ok(Some(Err(err))) => break Err(err.into()),
                Ok(Some(Ok(frame))) => {
                    if let Ok(data) = frame.into_data() {
                        parser.push(&data);
                    }
                }
            }
        };
        stats.resyncs += parser.resyncs();
        result
    }

    /// A connection that sends the request and then never reads, until `stop` says so.
    pub(crate) async fn hold_stalled(
        &self,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> Result<(), ProbeError> {
        let mut stream = self.connect().await?;
        let t = &self.target;
        let auth = t
            .authorization
            .as_ref()
            .map_or(String::new(), |a| format!("Authorization: {a}\r\n"));
        let request = format!(
            "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {USER_AGENT_VALUE}\r\n{auth}\r\n",
            t.path, t.authority
        );
        timeout(self.timeout, stream.write_all(request.as_bytes()))
            .await
            .map_err(|_| ProbeError::Timeout("sending the request"))?
            .map_err(ProbeError::Write)?;
        // `stop` is set by the probe; its sender outlives every stalled connection.
        let _ = stop.wait_for(|s| *s).await;
        Ok(())
    }
}

/// Aborts the hyper connection task when the connection's reader goes away.
struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
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
}
