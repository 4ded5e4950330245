//! The test-pattern source in the whole server: idle mode and snapshots, the overlay. A snapshot
//! of an idle stream wakes the encoder and gets a fresh frame within a second, and idle counts as
//! healthy; `[stream.overlay]` text is in the served frames.

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use streamserver::config::Config;
use streamserver::shutdown::Shutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[path = "../camera/tests/common/overlay_ref.rs"]
mod overlay_ref;

/// GETs `path` from the server over loopback; returns the status line and headers.
async fn get_head(addr: std::net::SocketAddr, path: &str) -> String {
    get(addr, path).await.0
}

/// GETs `path` from the server over loopback; returns the status line and headers, and the body.
async fn get(addr: std::net::SocketAddr, path: &str) -> (String, Vec<u8>) {
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    tcp.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut buf))
        .await
        .expect("response within 10 s")
        .unwrap();
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    (
        String::from_utf8_lossy(&buf[..end]).to_lowercase(),
        buf[end + 4..].to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_snapshot_while_idle_gets_a_fresh_frame() {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.streams[0].encoder.idle_after = Duration::from_millis(200);
    let running = streamserver::app::start(config, Shutdown::new())
        .await
        .unwrap();
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overlay_text_is_in_the_served_frames() {
    use streamserver::config::{OverlayConfig, OverlayPosition};
    let overlay = OverlayConfig {
        // A time field that changes every second would make the reference racy: fixed text.
        text: "BENCH 3 %%".into(),
        position: OverlayPosition::TopRight,
        scale: 2,
        background: true,
        utc: true,
    };
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.streams[0].overlay = overlay.clone();
    let running = streamserver::app::start(config, Shutdown::new())
        .await
        .unwrap();
    let (head, jpeg) = get(running.addr, "/snapshot.jpg").await;
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let (w, h, got) = overlay_ref::luma(&jpeg);
    let at = std::time::SystemTime::now();
    let (rect, want) = overlay_ref::reference(&overlay, w, h, at);
    let diff = overlay_ref::mean_diff(&got, &want, w, rect, 2);
    assert!(
        diff < 12.0,
        "the box differs from the reference by {diff:.1} on average"
    );
    // Another text of the same length does not match: the comparison can fail.
    let other = OverlayConfig {
        text: "########".into(),
        ..overlay
    };
    let (_, other) = overlay_ref::reference(&other, w, h, at);
    let wrong = overlay_ref::mean_diff(&got, &other, w, rect, 2);
    assert!(wrong > 12.0, "another text matches too ({wrong:.1})");
    running.shutdown.trigger();
    running.wait().await.unwrap();
}
