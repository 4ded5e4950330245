//! Helpers of the relay tests: a scripted upstream on 127.0.0.1 (well-formed MJPEG in three
//! shapes, and every way an upstream misbehaves), the relay stream config, `/api/state`.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use streamserver::config::{RelayConfig, SourceConfig, StreamConfig, StreamId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::common;

/// Nothing a scripted connection does lasts longer than this.
const MAX_CONNECTION_LIFE: Duration = Duration::from_secs(30);
const FRAME_INTERVAL: Duration = Duration::from_millis(40);

/// How well-formed MJPEG is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// mjpg-streamer: HTTP/1.0, `boundary=boundarydonotcross`, `--boundarydonotcross` before each
    /// part, `Content-Length` and `X-Timestamp`.
    MjpgStreamer,
    /// HTTP/1.0, a quoted boundary, parts without `Content-Length`.
    NoLength,
}

/// What one upstream connection does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Act {
    /// Serve frames (at 25 fps) until the peer goes.
    Serve(Shape),
    /// Answer nothing for this long, then close.
    SlowHead(Duration),
    Status500,
    /// 200 with `text/html`.
    Html,
    /// One part whose body is cut in half, then close.
    Truncated,
    /// A response head that never ends.
    EndlessHeader,
    /// A part of 50 MB without `Content-Length`.
    HugeFrame,
    /// One good frame, then half of the next, then silence (connection kept open).
    StallMidFrame,
}

/// A scripted upstream: connection `n` does `script[min(n, len-1)]`.
pub struct Upstream {
    pub addr: SocketAddr,
    /// The distinct JPEGs it serves, in rotation.
    pub frames: Arc<Vec<Vec<u8>>>,
    pub connections: Arc<AtomicUsize>,
    /// Bytes of the 50 MB frame actually written (the peer stops reading).
    pub huge_bytes_written: Arc<AtomicU64>,
    /// The request heads received, in order.
    pub requests: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Upstream {
    /// Starts it; with `authorization`, a request without that exact header value gets a 401.
    pub async fn start(script: Vec<Act>, authorization: Option<String>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let frames: Arc<Vec<_>> = Arc::new(
            (0..4)
                .map(|i| common::sources::jpeg(160, 120, &format!("upstream {i}")))
                .collect(),
        );
        let connections = Arc::new(AtomicUsize::new(0));
        let huge = Arc::new(AtomicU64::new(0));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (f, c, h, r) = (
            frames.clone(),
            connections.clone(),
            huge.clone(),
            requests.clone(),
        );
        let task = tokio::spawn(async move {
            let mut conns = tokio::task::JoinSet::new();
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let n = c.fetch_add(1, Relaxed);
                let act = script[n.min(script.len() - 1)];
                let (f, h, r, auth) = (f.clone(), h.clone(), r.clone(), authorization.clone());
                conns.spawn(async move {
                    let _ = tokio::time::timeout(
                        MAX_CONNECTION_LIFE,
                        serve(tcp, act, &f, &h, &r, auth.as_deref()),
                    )
                    .await;
                });
                while conns.try_join_next().is_some() {}
            }
        });
        Self {
            addr,
            frames,
            connections,
            huge_bytes_written: huge,
            requests,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/?action=stream", self.addr)
    }

    pub fn is_upstream_frame(&self, jpeg: &[u8]) -> bool {
        self.frames.iter().any(|f| f == jpeg)
    }
}

async fn serve(
    mut tcp: TcpStream,
    act: Act,
    frames: &[Vec<u8>],
    huge: &AtomicU64,
    requests: &Mutex<Vec<String>>,
    authorization: Option<&str>,
) -> std::io::Result<()> {
    let head = read_head(&mut tcp).await?;
    requests.lock().unwrap().push(head.clone());
    if let Some(want) = authorization {
        let ok = head
            .lines()
            .any(|l| l.eq_ignore_ascii_case(&format!("authorization: {want}")));
        if !ok {
            return tcp
                .write_all(
                    b"HTTP/1.0 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"cam\"\r\n\r\n",
                )
                .await;
        }
    }
    let multipart = |boundary: &str| {
        format!("HTTP/1.0 200 OK\r\nServer: MJPG-Streamer/0.2\r\nCache-Control: no-cache\r\nContent-Type: multipart/x-mixed-replace;boundary={boundary}\r\n\r\n")
    };
    match act {
        Act::Serve(shape) => {
            let boundary = match shape {
                Shape::MjpgStreamer => "boundarydonotcross",
                Shape::NoLength => "\"frame\"",
            };
            tcp.write_all(multipart(boundary).as_bytes()).await?;
            for i in 0.. {
                tcp.write_all(&part(shape, &frames[i % frames.len()]))
                    .await?;
                tokio::time::sleep(FRAME_INTERVAL).await;
            }
            Ok(())
        }
        Act::SlowHead(wait) => {
            tokio::time::sleep(wait).await;
            Ok(())
        }
        Act::Status500 => {
            tcp.write_all(b"HTTP/1.0 500 Internal Server Error\r\nContent-Length: 4\r\n\r\nfail")
                .await
        }
        Act::Html => {
            tcp.write_all(b"HTTP/1.0 200 OK\r\nContent-Type: text/html\r\n\r\n<html>login</html>")
                .await
        }
        Act::Truncated => {
            tcp.write_all(multipart("boundarydonotcross").as_bytes())
                .await?;
            let p = part(Shape::MjpgStreamer, &frames[0]);
            tcp.write_all(&p[..p.len() - frames[0].len() / 2]).await
        }
        Act::EndlessHeader => {
            tcp.write_all(b"HTTP/1.1 200 OK\r\nX-Junk: ").await?;
            let junk = [b'a'; 4096];
            for _ in 0..4096 {
                tcp.write_all(&junk).await?;
            }
            Ok(())
        }
        Act::HugeFrame => {
            tcp.write_all(multipart("boundarydonotcross").as_bytes())
                .await?;
            tcp.write_all(b"--boundarydonotcross\r\nContent-Type: image/jpeg\r\n\r\n\xFF\xD8")
                .await?;
            let chunk = vec![0x55u8; 64 * 1024];
            for _ in 0..(50 * 1024 * 1024 / chunk.len()) {
                tcp.write_all(&chunk).await?;
                huge.fetch_add(chunk.len() as u64, Relaxed);
            }
            Ok(())
        }
        Act::StallMidFrame => {
            tcp.write_all(multipart("boundarydonotcross").as_bytes())
                .await?;
            tcp.write_all(&part(Shape::MjpgStreamer, &frames[0]))
                .await?;
            let p = part(Shape::MjpgStreamer, &frames[1]);
            tcp.write_all(&p[..p.len() / 2]).await?;
            tokio::time::sleep(MAX_CONNECTION_LIFE).await;
            Ok(())
        }
    }
}

fn part(shape: Shape, jpeg: &[u8]) -> Vec<u8> {
    let mut p = match shape {
        Shape::MjpgStreamer => format!(
            "--boundarydonotcross\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Timestamp: 1700000000.123456\r\n\r\n",
            jpeg.len()
        ),
        Shape::NoLength => "--frame\r\nContent-Type: image/jpeg\r\n\r\n".to_string(),
    }
    .into_bytes();
    p.extend_from_slice(jpeg);
    p.extend_from_slice(b"\r\n");
    p
}

/// Reads a request head (bounded).
async fn read_head(tcp: &mut TcpStream) -> std::io::Result<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && head.len() < 16 * 1024 {
        if tcp.read(&mut byte).await? == 0 {
            break;
        }
        head.push(byte[0]);
    }
    Ok(String::from_utf8_lossy(&head).into_owned())
}

/// An HTTPS front for a plain upstream: terminates TLS with the self-signed test certificate
/// and forwards each connection to `upstream` (a camera that serves MJPEG over https).
pub struct TlsFront {
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl TlsFront {
    pub async fn start(upstream: SocketAddr) -> Self {
        let acceptor = tokio_rustls::TlsAcceptor::from(common::upstream::test_tls_config());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return; // a client that refused our certificate
                    };
                    let Ok(mut up) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let _ = tokio::io::copy_bidirectional(&mut tls, &mut up).await;
                });
            }
        });
        Self { addr, task }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A relay stream with short timeouts and a quick supervisor.
pub fn relay_stream(url: String, tune: impl FnOnce(&mut RelayConfig)) -> StreamConfig {
    let mut relay = RelayConfig {
        url,
        connect_timeout: Duration::from_millis(400),
        read_timeout: Duration::from_millis(400),
        max_frame_bytes: 1024 * 1024,
        ..RelayConfig::default()
    };
    tune(&mut relay);
    let mut stream = StreamConfig::test_pattern();
    stream.id = StreamId("relay".into());
    stream.source = SourceConfig::Relay(relay);
    stream.supervisor.backoff_initial = Duration::from_millis(50);
    stream.supervisor.backoff_max = Duration::from_millis(200);
    stream.supervisor.stall_timeout = Duration::from_secs(3);
    stream.supervisor.restart_budget = 1000;
    stream
}

/// The first stream's entry of `/api/state`.
pub async fn stream_state(addr: SocketAddr) -> serde_json::Value {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(b"GET /api/state HTTP/1.0\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut text = String::new();
    tokio::time::timeout(Duration::from_secs(5), tcp.read_to_string(&mut text))
        .await
        .expect("state in time")
        .unwrap();
    let body = text.split_once("\r\n\r\n").expect("a response").1;
    let state: serde_json::Value = serde_json::from_str(body).unwrap();
    state["streams"][0].clone()
}

/// Decodes a JPEG with libjpeg-turbo: `(width, height)`.
pub fn decode(jpeg: &[u8]) -> (usize, usize) {
    let image = turbojpeg::decompress(jpeg, turbojpeg::PixelFormat::RGB).expect("a decodable JPEG");
    (image.width, image.height)
}
