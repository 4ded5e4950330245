//! A multipart/x-mixed-replace reader over [`HttpConn`] for the integration tests.
//!
//! It splits the body into parts and asserts the exact framing on the way: the opening boundary,
//! part headers, a JPEG of exactly `Content-Length` bytes and the closing boundary right after
//! it. It also notes when each JPEG arrived and how long its closing boundary took.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::TcpStream;

use super::client::{BodyEnd, Head, HttpConn};

/// The boundary the server uses.
pub const BOUNDARY: &str = "streamserver-boundary";

/// One part of a multipart stream.
#[derive(Debug)]
pub struct Part {
    /// Names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    pub jpeg: Vec<u8>,
    /// When the last JPEG byte was read.
    pub received_at: SystemTime,
    /// Time between the last JPEG byte and the complete closing boundary.
    pub boundary_wait: Duration,
}

impl Part {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn seq(&self) -> u64 {
        self.header("x-frame-seq")
            .expect("X-Frame-Seq")
            .parse()
            .expect("numeric X-Frame-Seq")
    }

    /// `X-Timestamp` in seconds since the epoch.
    pub fn timestamp(&self) -> f64 {
        self.header("x-timestamp")
            .expect("X-Timestamp")
            .parse()
            .expect("numeric X-Timestamp")
    }

    /// How old the frame was when it arrived (receive time minus `X-Timestamp`), in seconds.
    pub fn age_s(&self) -> f64 {
        let recv = self
            .received_at
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs_f64();
        recv - self.timestamp()
    }
}

/// A multipart/x-mixed-replace stream client.
pub struct MjpegClient {
    pub conn: HttpConn,
    pub head: Head,
    opened: bool,
}

impl MjpegClient {
    /// Requests `path` and reads the response head (any status).
    pub async fn open(addr: SocketAddr, path: &str, http10: bool) -> Self {
        let mut conn = HttpConn::connect(addr).await;
        Self::request(&mut conn, path, http10).await;
        let head = conn.read_head().await;
        Self {
            conn,
            head,
            opened: false,
        }
    }

    async fn request(conn: &mut HttpConn, path: &str, http10: bool) {
        conn.send_get(path, http10).await;
    }

    /// Like [`MjpegClient::open`] on an already connected (e.g. tuned) socket, optionally
    /// reading only the bytes each part needs ([`HttpConn::exact_reads`]).
    pub async fn open_on(stream: TcpStream, path: &str, exact_reads: bool) -> Self {
        let mut conn = HttpConn::from_stream(stream);
        conn.exact_reads = exact_reads;
        Self::request(&mut conn, path, false).await;
        let head = conn.read_head().await;
        Self {
            conn,
            head,
            opened: false,
        }
    }

    /// The next part, asserting its framing; None when the body ended.
    pub async fn next_part(&mut self) -> Option<Part> {
        let delimiter = format!("\r\n--{BOUNDARY}\r\n");
        if !self.opened {
            let open = self.conn.body_exact(BOUNDARY.len() + 4).await?;
            assert_eq!(
                open,
                format!("--{BOUNDARY}\r\n").as_bytes(),
                "the body opens with the boundary"
            );
            self.opened = true;
        }
        let raw = self.conn.body_until(b"\r\n\r\n", 4096).await?;
        let text = String::from_utf8(raw).expect("ASCII part headers");
        let headers: Vec<(String, String)> = text
            .trim_end()
            .split("\r\n")
            .map(|l| {
                let (k, v) = l
                    .split_once(':')
                    .unwrap_or_else(|| panic!("bad part header line {l:?}"));
                (k.trim().to_ascii_lowercase(), v.trim().to_string())
            })
            .collect();
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .expect("part has Content-Length")
            .1
            .parse()
            .expect("numeric part Content-Length");
        let jpeg = self.conn.body_exact(len).await?;
        let received_at = SystemTime::now();
        let t = Instant::now();
        let tail = self.conn.body_exact(delimiter.len()).await?;
        let boundary_wait = t.elapsed();
        assert_eq!(
            String::from_utf8_lossy(&tail),
            delimiter,
            "the closing boundary follows the JPEG's Content-Length bytes"
        );
        Some(Part {
            headers,
            jpeg,
            received_at,
            boundary_wait,
        })
    }

    /// Reads parts for `dur` (bounded: stops at the end of the body); returns them.
    pub async fn parts_for(&mut self, dur: Duration) -> Vec<Part> {
        let t0 = Instant::now();
        let mut parts = Vec::new();
        while t0.elapsed() < dur {
            match tokio::time::timeout(dur - t0.elapsed(), self.next_part()).await {
                Ok(Some(p)) => parts.push(p),
                Ok(None) | Err(_) => break,
            }
        }
        parts
    }

    /// Reads until the body ends; returns how it ended (bounded by `limit`).
    pub async fn until_end(&mut self, limit: Duration) -> Option<BodyEnd> {
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            match tokio::time::timeout(limit - t0.elapsed(), self.next_part()).await {
                Ok(Some(_)) => {}
                Ok(None) => return self.conn.end(),
                Err(_) => return None,
            }
        }
        None
    }
}
