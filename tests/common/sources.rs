//! Helpers of the folder and http source tests (`source_folder.rs`, `source_http.rs`): a
//! one-stream server on 127.0.0.1:0, a minimal MJPEG client (HTTP/1.0, so the body is not
//! chunked) that also reads `X-Frame-Seq`, fixture JPEGs from the real encoder.

use std::net::SocketAddr;
use std::time::Duration;

use streamserver::app::{self, Running};
use streamserver::config::EncoderConfig;
use streamserver::config::{Config, StreamConfig};
use streamserver::pipeline::canvas::{Canvas, Yuv};
use streamserver::pipeline::encoder::{Encoder, PixelFormat};
use streamserver::shutdown::Shutdown;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// A JPEG `w`×`h` showing `label` (distinct labels give distinct bytes).
pub fn jpeg(w: usize, h: usize, label: &str) -> Vec<u8> {
    let mut canvas = Canvas::new(w, h);
    canvas.fill_rect(0, 0, w / 3, h / 3, Yuv::GREY);
    canvas.draw_text(4, 4, 1, label, Yuv::WHITE);
    let mut enc = Encoder::new(&EncoderConfig::default()).unwrap();
    enc.encode(&canvas.raw_frame(PixelFormat::Yuv420))
        .unwrap()
        .to_vec()
}

/// Starts the real server on 127.0.0.1:0 with one stream.
pub async fn start_stream(stream: StreamConfig) -> Running {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.server.shutdown_timeout = Duration::from_millis(500);
    config.streams = vec![stream];
    app::start(config, Shutdown::new())
        .await
        .expect("server starts")
}

pub async fn stop_stream(running: Running) {
    running.shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(5), running.wait())
        .await
        .expect("server stops in time")
        .expect("server stops cleanly");
}

/// One multipart part.
#[derive(Debug)]
pub struct Part {
    pub jpeg: Vec<u8>,
    pub seq: u64,
    /// `X-Timestamp` (Unix seconds).
    pub timestamp: f64,
}

pub struct MjpegClient {
    reader: BufReader<TcpStream>,
}

impl MjpegClient {
    pub async fn connect(addr: SocketAddr, path: &str) -> Self {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut reader = BufReader::new(tcp);
        let mut status = String::new();
        reader.read_line(&mut status).await.unwrap();
        assert!(status.contains(" 200 "), "status line {status:?}");
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).await.unwrap();
            if line == "\r\n" || line.is_empty() {
                break;
            }
        }
        Self { reader }
    }

    /// The next part, or `None` when the server ended the stream.
    pub async fn next_part(&mut self) -> Option<Part> {
        let (mut len, mut seq, mut timestamp) = (None, 0, 0.0);
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await.ok()? == 0 {
                return None;
            }
            let line = line.trim_end();
            if line.is_empty() && len.is_some() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                match k.to_ascii_lowercase().as_str() {
                    "content-length" => len = v.trim().parse::<usize>().ok(),
                    "x-frame-seq" => seq = v.trim().parse().unwrap(),
                    "x-timestamp" => timestamp = v.trim().parse().unwrap(),
                    _ => {}
                }
            }
        }
        let mut jpeg = vec![0; len?];
        self.reader.read_exact(&mut jpeg).await.ok()?;
        Some(Part {
            jpeg,
            seq,
            timestamp,
        })
    }

    /// The next part within `limit` (panics on timeout).
    pub async fn next_within(&mut self, limit: Duration) -> Option<Part> {
        tokio::time::timeout(limit, self.next_part())
            .await
            .expect("a part or the end of the stream in time")
    }
}

/// Polls `cond` every 5 ms for up to `limit`.
pub async fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
