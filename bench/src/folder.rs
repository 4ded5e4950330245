//! Benchmark of the folder source: file close → client receive latency with N clients.
//!
//! A feeder thread writes `width`×`height` JPEGs at `fps` under a temporary name, closes each,
//! notes the wall-clock time, and renames it into the watched folder (the safe way a producer
//! should write). Every file carries its number in a JPEG comment (`COM` segment), so a client
//! knows exactly which file a part is. The real server runs in-process on 127.0.0.1:0 and
//! `clients` MJPEG clients read `/stream.mjpg` over TCP; each first receipt of a file counts.
//! The report gives p50/p90/p99/max latency and the files each client missed.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

use streamserver::config::{Config, FolderConfig, SourceConfig, StreamConfig, StreamId};
use streamserver::pipeline::canvas::{Canvas, Yuv};
use streamserver::pipeline::encoder::{Encoder, PixelFormat};
use streamserver::shutdown::Shutdown;

/// What to run.
#[derive(Debug, Clone)]
pub struct FolderBenchOptions {
    pub clients: usize,
    pub fps: u32,
    pub seconds: u32,
    pub width: usize,
    pub height: usize,
    /// Where the frames are written (a fresh subdirectory is made and removed).
    pub dir: std::path::PathBuf,
    /// The server's `max_client_fps` (0 = clients are not paced).
    pub max_client_fps: u32,
}

impl Default for FolderBenchOptions {
    fn default() -> Self {
        Self {
            clients: 10,
            fps: 30,
            seconds: 10,
            width: 1280,
            height: 720,
            dir: std::env::temp_dir(),
            max_client_fps: 0,
        }
    }
}

/// Results, latencies in milliseconds.
#[derive(Debug, Clone)]
pub struct FolderBenchReport {
    pub files: usize,
    pub frame_bytes: usize,
    pub samples: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Files a client never received (skipped), summed over clients.
    pub missed: usize,
}

impl std::fmt::Display for FolderBenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "folder: {} files of ~{} KiB, {} receipts: close→receive p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms; missed {}",
            self.files,
            self.frame_bytes / 1024,
            self.samples,
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms,
            self.missed
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum FolderBenchError {
    #[error("bench i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("server: {0}")]
    App(#[from] streamserver::app::AppError),
    #[error("encoder: {0}")]
    Encode(#[from] streamserver::pipeline::encoder::EncodeError),
    #[error("no receipts measured")]
    NoSamples,
}

/// Runs the benchmark (inside a tokio multi-thread runtime).
pub async fn run(opts: FolderBenchOptions) -> Result<FolderBenchReport, FolderBenchError> {
    let dir = opts
        .dir
        .join(format!("folder-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let frames = pictures(opts.width, opts.height)?;
    let frame_bytes = frames[0].len();
    let mut stream = StreamConfig::test_pattern();
    stream.id = StreamId("bench".into());
    stream.source = SourceConfig::Folder(FolderConfig {
        path: dir.clone(),
        max_frame_age: Some(Duration::from_secs(5)),
        ..Default::default()
    });
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().expect("literal address");
    config.server.max_client_fps = opts.max_client_fps;
    config.streams = vec![stream];
    let running = streamserver::app::start(config, Shutdown::new()).await?;
    let addr = running.addr;

    let total = (opts.fps * opts.seconds) as usize;
    let closed: Arc<Vec<AtomicU64>> = Arc::new((0..total).map(|_| AtomicU64::new(0)).collect());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(u64::from(opts.seconds) + 3);
    let mut clients = Vec::new();
    for _ in 0..opts.clients {
        clients.push(tokio::spawn(client(addr, closed.clone(), total, deadline)));
    }
    tokio::time::sleep(Duration::from_millis(300)).await; // let clients connect
    let (d, c, interval) = (
        dir.clone(),
        closed.clone(),
        Duration::from_secs_f64(1.0 / f64::from(opts.fps)),
    );
    let feeder = tokio::task::spawn_blocking(move || feed(&d, &frames, &c, interval));
    feeder.await.expect("feeder thread")?;
    let mut latencies = Vec::new();
    let mut missed = 0;
    for c in clients {
        if let Ok(Ok((lat, seen))) = c.await {
            latencies.extend(lat);
            missed += total.saturating_sub(seen);
        }
    }
    running.shutdown.trigger();
    let _ = running.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
    report(total, frame_bytes, latencies, missed)
}

fn report(
    files: usize,
    frame_bytes: usize,
    mut lat: Vec<f64>,
    missed: usize,
) -> Result<FolderBenchReport, FolderBenchError> {
    if lat.is_empty() {
        return Err(FolderBenchError::NoSamples);
    }
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    Ok(FolderBenchReport {
        files,
        frame_bytes,
        samples: lat.len(),
        p50_ms: pct(0.50),
        p90_ms: pct(0.90),
        p99_ms: pct(0.99),
        max_ms: lat[lat.len() - 1],
        missed,
    })
}

/// A few distinct pictures to cycle through (content changes like a camera's would).
fn pictures(w: usize, h: usize) -> Result<Vec<Vec<u8>>, FolderBenchError> {
    let mut enc = Encoder::new(&Default::default())?;
    let mut out = Vec::new();
    for i in 0..8 {
        let mut canvas = Canvas::new(w, h);
        for band in 0..8 {
            let shade = ((band * 29 + i * 17) % 200 + 30) as u8;
            canvas.fill_rect(band * w / 8, 0, w / 8, h, Yuv(shade, 128, 128));
        }
        // Fine random texture, so a frame is as large as a real camera picture (~100+ KiB).
        let mut seed = 0x9E37_79B9_u32.wrapping_mul(i as u32 + 1);
        for y in (0..h).step_by(4) {
            for x in (0..w).step_by(4) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if seed.is_multiple_of(3) {
                    canvas.fill_rect(x, y, 4, 4, Yuv((seed >> 8) as u8, 128, 128));
                }
            }
        }
        canvas.draw_text(w / 4, h / 2, 4, &format!("folder bench {i}"), Yuv::WHITE);
        out.push(enc.encode(&canvas.raw_frame(PixelFormat::Yuv420))?.to_vec());
    }
    Ok(out)
}

/// Writes file `n` with its number in a COM segment right after SOI.
fn tagged(jpeg: &[u8], n: usize) -> Vec<u8> {
    let text = format!("bench:{n}");
    let len = (text.len() + 2) as u16;
    let mut out = Vec::with_capacity(jpeg.len() + text.len() + 4);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The number in a part written by [`tagged`].
fn tag_of(jpeg: &[u8]) -> Option<usize> {
    let rest = jpeg.get(2..)?.strip_prefix(&[0xFF, 0xFE])?;
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let text = std::str::from_utf8(rest.get(2..len)?).ok()?;
    text.strip_prefix("bench:")?.parse().ok()
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn feed(
    dir: &std::path::Path,
    frames: &[Vec<u8>],
    closed: &[AtomicU64],
    interval: Duration,
) -> std::io::Result<()> {
    use std::io::Write;
    let start = Instant::now();
    let tmp = dir.join(".incoming.tmp");
    for (n, slot) in closed.iter().enumerate() {
        let due = start + interval * n as u32;
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let data = tagged(&frames[n % frames.len()], n);
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&data)?;
        drop(f);
        slot.store(now_ns(), Relaxed);
        std::fs::rename(&tmp, dir.join(format!("frame-{n:06}.jpg")))?;
    }
    Ok(())
}

/// One MJPEG client until it saw the last file or `deadline`: latencies (ms) of first
/// receipts, and how many files it saw.
async fn client(
    addr: SocketAddr,
    closed: Arc<Vec<AtomicU64>>,
    total: usize,
    deadline: tokio::time::Instant,
) -> std::io::Result<(Vec<f64>, usize)> {
    let mut tcp = TcpStream::connect(addr).await?;
    tcp.write_all(b"GET /stream.mjpg HTTP/1.0\r\nHost: bench\r\n\r\n")
        .await?;
    let mut r = BufReader::new(tcp);
    let mut latencies = Vec::with_capacity(total);
    let mut seen = vec![false; total];
    while let Ok(part) = tokio::time::timeout_at(deadline, next_part(&mut r)).await {
        let Some(jpeg) = part? else { break };
        let received = now_ns();
        if let Some(i) = tag_of(&jpeg).filter(|&i| i < total && !seen[i]) {
            seen[i] = true;
            latencies.push(received.saturating_sub(closed[i].load(Relaxed)) as f64 / 1e6);
            if i + 1 == total {
                break;
            }
        }
    }
    Ok((latencies, seen.iter().filter(|&&s| s).count()))
}

/// The JPEG of the next multipart part (`None` at the end of the stream).
async fn next_part(r: &mut BufReader<TcpStream>) -> std::io::Result<Option<Vec<u8>>> {
    let mut line = String::new();
    let mut len = None;
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        let t = line.trim_end();
        if let Some(v) = t.strip_prefix("Content-Length:") {
            len = v.trim().parse::<usize>().ok();
        } else if let (true, Some(n)) = (t.is_empty(), len) {
            let mut jpeg = vec![0; n];
            r.read_exact(&mut jpeg).await?;
            return Ok(Some(jpeg));
        }
    }
}

#[cfg(test)]
mod tests;
