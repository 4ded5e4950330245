//! Unit tests of the test pattern: rate, pool, faults, idle mode; and the whole server on it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;
use crate::config::Config;
use crate::pipeline::demand::Demand;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;
use crate::shutdown::Shutdown;

fn sink() -> FrameSink {
    FrameSink::new(
        LatestFrame::new(),
        Arc::new(StreamStats::new("t", "test")),
        Arc::new(Demand::new()),
    )
}

fn pattern(config: TestPatternConfig, encoder: EncoderConfig) -> TestPattern {
    TestPattern::new("t".into(), config, encoder, 0).unwrap()
}

const NOT_IDLE: EncoderConfig = EncoderConfig {
    quality: crate::config::Quality(80),
    subsampling: crate::config::Subsampling::S420,
    workers: 0,
    idle: false,
    idle_after: Duration::from_secs(10),
};

#[test]
fn frames_go_through_the_pool_promptly_and_at_the_configured_rate() {
    let sink = sink();
    let stop = StopFlag::new();
    let config = TestPatternConfig {
        fps: 20,
        ..Default::default()
    };
    let mut source = pattern(config, NOT_IDLE);
    let runner = {
        let (sink, stop) = (sink.clone(), stop.clone());
        std::thread::spawn(move || source.run(&sink, &stop))
    };
    let t0 = Instant::now();
    let mut rx = sink.slot.subscribe();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_millis(500), rx.changed()).await })
        .expect("a first frame within 500 ms")
        .unwrap();
    let first = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    stop.raise();
    runner.join().unwrap().unwrap();
    let n = sink.stats.frames_captured.total();
    assert!((14..=24).contains(&n), "{n} frames in ~1 s at 20 fps");
    assert!(first < Duration::from_millis(500), "{first:?}");
    let latest = sink.slot.latest().unwrap();
    assert_eq!((latest.width, latest.height), (640, 480));
    assert_eq!(&latest.jpeg[..2], &[0xFF, 0xD8]);
}

#[test]
fn fault_injection_still_fails_and_stalls() {
    let stop = StopFlag::new();
    let config = TestPatternConfig {
        fps: 100,
        fail_after_frames: 5,
        ..Default::default()
    };
    let err = pattern(config, NOT_IDLE).run(&sink(), &stop).unwrap_err();
    assert!(matches!(err, SourceError::Injected(_)), "{err}");

    let config = TestPatternConfig {
        fps: 100,
        fail_starts: 1,
        ..Default::default()
    };
    let err = pattern(config, NOT_IDLE).run(&sink(), &stop).unwrap_err();
    assert!(matches!(err, SourceError::Injected(_)), "{err}");

    // A stall: no frames and no sign of life after 3 frames, until stopped.
    let sink = sink();
    let config = TestPatternConfig {
        fps: 100,
        stall_after_frames: 3,
        ..Default::default()
    };
    let mut source = pattern(config, NOT_IDLE);
    let runner = {
        let (sink, stop) = (sink.clone(), stop.clone());
        std::thread::spawn(move || source.run(&sink, &stop))
    };
    std::thread::sleep(Duration::from_millis(200));
    let progress = sink.stats.progress.load(Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sink.stats.progress.load(Relaxed), progress, "stalled");
    assert!(sink.stats.frames_captured.total() <= 3);
    stop.raise();
    runner.join().unwrap().unwrap();
}

/// GETs `path` from the server over loopback; returns the status line and headers.
async fn get_head(addr: std::net::SocketAddr, path: &str) -> String {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut buf))
        .await
        .expect("response within 10 s")
        .unwrap();
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    String::from_utf8_lossy(&buf[..end]).to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_while_idle_gets_a_fresh_frame() {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.streams[0].encoder.idle_after = Duration::from_millis(200);
    let running = crate::app::start(config, Shutdown::new()).await.unwrap();
    let stream = &running.state.streams[0];
    // Idle, and the last frame is older than the snapshot's "fresh enough" second.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let old = stream
            .slot
            .latest()
            .is_some_and(|f| f.published_at.elapsed() > Duration::from_millis(1200));
        if stream.stats.idle.load(Relaxed) && old {
            break;
        }
        assert!(Instant::now() < deadline, "the stream never went idle");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let before = stream.slot.latest().unwrap().seq;
    let health = get_head(running.addr, "/health").await;
    assert!(
        health.starts_with("http/1.1 200"),
        "idle is healthy: {health}"
    );

    let t0 = Instant::now();
    let head = get_head(running.addr, "/snapshot.jpg").await;
    let took = t0.elapsed();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let seq: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("x-frame-seq: "))
        .expect("x-frame-seq header")
        .trim()
        .parse()
        .unwrap();
    assert!(
        seq > before,
        "a fresh frame (seq {seq}), not the idle one ({before})"
    );
    assert!(took < Duration::from_secs(1), "snapshot took {took:?}");
    running.shutdown.trigger();
    running.wait().await.unwrap();
}
