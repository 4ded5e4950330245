//! A minimal HTTP/1 client for the integration tests (the multipart reader on top of it is
//! [`super::mjpeg`]).
//!
//! It is deliberately independent of the server's code: it parses the status line and headers,
//! de-chunks `Transfer-Encoding: chunked` bodies (hyper's default for HTTP/1.1 streams), reads
//! `Content-Length` and read-to-close bodies (HTTP/1.0), and checks the chunk framing on the way.
//! Every read is bounded by [`IO_TIMEOUT`].

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Upper bound for any single read.
pub const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// Status line and headers of a response.
#[derive(Debug, Clone)]
pub struct Head {
    pub version: String,
    pub status: u16,
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
}

impl Head {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// How the body of the current response is framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    /// Waiting for a chunk-size line.
    ChunkSize,
    /// Inside a chunk: bytes left.
    ChunkData(usize),
    /// After a chunk's data: expecting CRLF.
    ChunkEnd,
    /// After the zero-size chunk: expecting the final CRLF (no trailers are sent).
    ChunkTrailer,
    /// `Content-Length`: bytes left.
    Length(usize),
    /// Read until the server closes the connection.
    Close,
    /// The body is complete.
    Done,
}

/// How a body ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyEnd {
    /// The terminating zero-size chunk, or all `Content-Length` bytes.
    Complete,
    /// The server closed the connection (for a chunked body: without the terminating chunk).
    Eof,
}

/// One HTTP/1 connection.
pub struct HttpConn {
    pub stream: TcpStream,
    raw: Vec<u8>,
    body: Vec<u8>,
    framing: Framing,
    end: Option<BodyEnd>,
    /// Read from the socket only the bytes the current call needs (a client that takes one
    /// part at a time leaves the rest in the kernel), instead of everything available.
    pub exact_reads: bool,
}

impl HttpConn {
    pub async fn connect(addr: SocketAddr) -> Self {
        let stream = tokio::time::timeout(IO_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect timed out")
            .expect("connect");
        Self::from_stream(stream)
    }

    pub fn from_stream(stream: TcpStream) -> Self {
        Self {
            stream,
            raw: Vec::new(),
            body: Vec::new(),
            framing: Framing::Done,
            end: None,
            exact_reads: false,
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        tokio::time::timeout(IO_TIMEOUT, self.stream.write_all(bytes))
            .await
            .expect("send timed out")
            .expect("send");
    }

    /// Sends `GET path` (HTTP/1.1 unless `http10`).
    pub async fn send_get(&mut self, path: &str, http10: bool) {
        let req = if http10 {
            format!("GET {path} HTTP/1.0\r\nUser-Agent: itest\r\n\r\n")
        } else {
            format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: itest\r\n\r\n")
        };
        self.send(req.as_bytes()).await;
    }

    /// Reads up to `max` more bytes from the socket into `raw`; 0 at EOF. Panics after
    /// [`IO_TIMEOUT`].
    async fn read_raw(&mut self, max: usize) -> usize {
        // Read straight into the heap buffer: big arrays in async state overflow test stacks.
        let mut limited = (&mut self.stream).take(max as u64);
        self.raw.reserve(max);
        tokio::time::timeout(IO_TIMEOUT, limited.read_buf(&mut self.raw))
            .await
            .expect("read timed out")
            .unwrap_or(0) // a reset counts as the end
    }

    /// Reads the status line and headers and sets up the body framing.
    pub async fn read_head(&mut self) -> Head {
        let end = loop {
            if let Some(i) = find(&self.raw, b"\r\n\r\n") {
                break i;
            }
            assert!(self.raw.len() < 64 * 1024, "response head too large");
            let max = if self.exact_reads { 1 } else { 64 * 1024 };
            if self.read_raw(max).await == 0 {
                panic!(
                    "connection closed before a response head: {:?}",
                    String::from_utf8_lossy(&self.raw)
                );
            }
        };
        let text = String::from_utf8(self.raw[..end].to_vec()).expect("ASCII head");
        self.raw.drain(..end + 4);
        let mut lines = text.split("\r\n");
        let status_line = lines.next().unwrap();
        let mut it = status_line.splitn(3, ' ');
        let version = it.next().unwrap().to_string();
        let status = it.next().and_then(|s| s.parse().ok()).expect("status code");
        let headers: Vec<(String, String)> = lines
            .map(|l| {
                let (k, v) = l.split_once(':').expect("header line has a colon");
                (k.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let head = Head {
            version,
            status,
            headers,
        };
        self.body.clear();
        self.end = None;
        self.framing = if head
            .header("transfer-encoding")
            .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
        {
            Framing::ChunkSize
        } else if let Some(n) = head.header("content-length") {
            Framing::Length(n.parse().expect("numeric Content-Length"))
        } else {
            Framing::Close
        };
        self.decode();
        head
    }

    /// Moves decodable bytes from `raw` to `body`.
    fn decode(&mut self) {
        loop {
            match self.framing {
                Framing::ChunkSize => {
                    let Some(i) = find(&self.raw, b"\r\n") else {
                        return;
                    };
                    let line = String::from_utf8_lossy(&self.raw[..i]).to_string();
                    let size = usize::from_str_radix(line.split(';').next().unwrap().trim(), 16)
                        .unwrap_or_else(|_| panic!("bad chunk size line {line:?}"));
                    self.raw.drain(..i + 2);
                    self.framing = if size == 0 {
                        Framing::ChunkTrailer
                    } else {
                        Framing::ChunkData(size)
                    };
                }
                Framing::ChunkData(left) | Framing::Length(left) => {
                    let n = left.min(self.raw.len());
                    self.body.extend(self.raw.drain(..n));
                    let rest = left - n;
                    self.framing = match (self.framing, rest) {
                        (Framing::ChunkData(_), 0) => Framing::ChunkEnd,
                        (Framing::ChunkData(_), r) => Framing::ChunkData(r),
                        (_, 0) => {
                            self.end = Some(BodyEnd::Complete);
                            Framing::Done
                        }
                        (_, r) => Framing::Length(r),
                    };
                    if rest > 0 {
                        return;
                    }
                }
                Framing::ChunkEnd | Framing::ChunkTrailer => {
                    if self.raw.len() < 2 {
                        return;
                    }
                    assert_eq!(&self.raw[..2], b"\r\n", "chunk not followed by CRLF");
                    self.raw.drain(..2);
                    self.framing = if self.framing == Framing::ChunkEnd {
                        Framing::ChunkSize
                    } else {
                        self.end = Some(BodyEnd::Complete);
                        Framing::Done
                    };
                }
                Framing::Close => {
                    self.body.append(&mut self.raw);
                    return;
                }
                Framing::Done => return,
            }
        }
    }

    /// Reads until at least `n` body bytes are buffered; false if the body ended first.
    async fn fill(&mut self, n: usize) -> bool {
        while self.body.len() < n {
            if self.end.is_some() {
                return false;
            }
            // Body bytes are at most as many as raw bytes (chunk framing only adds), so reading
            // the missing count never reads past what this call needs.
            let max = if self.exact_reads {
                n - self.body.len()
            } else {
                64 * 1024
            };
            if self.read_raw(max).await == 0 {
                self.end.get_or_insert(BodyEnd::Eof);
                self.framing = Framing::Done;
            }
            self.decode();
        }
        true
    }

    /// The next `n` body bytes, or None if the body ended first.
    pub async fn body_exact(&mut self, n: usize) -> Option<Vec<u8>> {
        self.fill(n).await.then(|| self.body.drain(..n).collect())
    }

    /// Body bytes up to and including `pat` (at most `limit` bytes), or None if the body ended.
    pub async fn body_until(&mut self, pat: &[u8], limit: usize) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = find(&self.body, pat) {
                return Some(self.body.drain(..i + pat.len()).collect());
            }
            assert!(self.body.len() <= limit, "no {pat:?} within {limit} bytes");
            let want = self.body.len() + 1;
            if !self.fill(want).await {
                return None;
            }
        }
    }

    /// The rest of the body and how it ended (bounded: at most `limit` bytes, `IO_TIMEOUT`/read).
    pub async fn body_to_end(&mut self, limit: usize) -> (Vec<u8>, BodyEnd) {
        loop {
            let want = self.body.len() + 1;
            if !self.fill(want).await {
                return (std::mem::take(&mut self.body), self.end.unwrap());
            }
            assert!(self.body.len() <= limit, "body longer than {limit} bytes");
        }
    }

    /// How the body ended, once it has.
    pub fn end(&self) -> Option<BodyEnd> {
        self.end
    }

    /// Whether the server closed the connection within `limit` (reads and discards data).
    pub async fn closed_within(&mut self, limit: Duration) -> bool {
        let t0 = Instant::now();
        let mut buf = vec![0u8; 16 * 1024];
        while t0.elapsed() < limit {
            match tokio::time::timeout(limit - t0.elapsed(), self.stream.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
        false
    }
}

/// A complete response of a simple request.
#[derive(Debug)]
pub struct Response {
    pub head: Head,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
}

/// Sends a raw request (the caller writes the whole head) and reads one whole response.
pub async fn raw_request(addr: SocketAddr, request: &[u8]) -> Response {
    let mut c = HttpConn::connect(addr).await;
    c.send(request).await;
    let head = c.read_head().await;
    let (body, end) = c.body_to_end(16 << 20).await;
    if head.header("content-length").is_some() {
        assert_eq!(end, BodyEnd::Complete, "body shorter than Content-Length");
    }
    Response { head, body }
}

/// `GET path` over HTTP/1.1 with `Connection: close`.
pub async fn get(addr: SocketAddr, path: &str) -> Response {
    let req = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    raw_request(addr, req.as_bytes()).await
}

pub(crate) fn find(hay: &[u8], pat: &[u8]) -> Option<usize> {
    hay.windows(pat.len()).position(|w| w == pat)
}

/// Connects to `addr` from the local address `from` (any of 127.0.0.0/8 is this machine).
pub async fn connect_from(from: std::net::IpAddr, addr: SocketAddr) -> HttpConn {
    let socket = tokio::net::TcpSocket::new_v4().expect("a socket");
    socket
        .bind(SocketAddr::new(from, 0))
        .unwrap_or_else(|e| panic!("bind {from}: {e}"));
    let stream = tokio::time::timeout(IO_TIMEOUT, socket.connect(addr))
        .await
        .expect("connect timed out")
        .expect("connect");
    HttpConn::from_stream(stream)
}

/// `method path` from the local address `from` with extra header lines (each ending in
/// `\r\n`), `Connection: close`; the whole response (no body for HEAD).
pub async fn request_from(
    from: std::net::IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &str,
) -> Response {
    let mut c = connect_from(from, addr).await;
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n{headers}\r\n"
    );
    c.send(req.as_bytes()).await;
    let head = c.read_head().await;
    if method == "HEAD" {
        return Response {
            head,
            body: Vec::new(),
        };
    }
    let (body, _) = c.body_to_end(16 << 20).await;
    Response { head, body }
}
