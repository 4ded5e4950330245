//! The probe against the real server (library API and the real binary with `--json`) and against
//! a scripted mjpg-streamer-style upstream (no Content-Length, a quoted `--myboundary`, HTTP/1.0,
//! connections that end), all over loopback TCP.

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use streamserver::config::Config;
use streamserver::probe::{probe, ProbeOptions, ProbeReport};
use streamserver::shutdown::Shutdown;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

async fn start_server(name: &str) -> streamserver::app::Running {
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.logging.dir =
        std::env::temp_dir().join(format!("streamserver-probe-{name}-{}", std::process::id()));
    streamserver::app::start(config, Shutdown::new())
        .await
        .expect("server starts")
}

async fn stop(running: streamserver::app::Running) {
    running.shutdown.trigger();
    tokio::time::timeout(Duration::from_secs(10), running.wait())
        .await
        .expect("server stops in time")
        .expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_clients_get_thirty_fresh_frames_each_from_the_real_server() {
    let server = start_server("lib").await;
    let mut opts = ProbeOptions::new(format!("http://{}/stream.mjpg", server.addr));
    opts.clients = 3;
    opts.frames = Some(30);
    opts.duration = Some(Duration::from_secs(20));
    opts.stalled = 1;
    let r = probe(opts).await.unwrap();
    stop(server).await;
    assert!(r.ok, "{r:#?}");
    assert_eq!(r.frames, 90);
    assert_eq!((r.reconnects, r.errors), (0, 0), "{r:#?}");
    assert_eq!(r.stalled.connected, 1, "{r:#?}");
    assert_eq!(r.latency_ms.samples, 90);
    let p50 = r.latency_ms.p50.unwrap();
    assert!(p50 < 500.0, "latency p50 {p50} ms");
    assert!(
        r.frame_bytes.min > 1000 && r.frame_bytes.max < 1_000_000,
        "{r:#?}"
    );
    for c in &r.per_client {
        assert_eq!(c.frames, 30);
        // The test pattern runs at 30 fps; a client may get fewer on a loaded machine, never more.
        assert!(
            c.fps > 3.0 && c.fps < 45.0,
            "client {} fps {}",
            c.client,
            c.fps
        );
        assert_eq!(
            (c.seq_repeats, c.seq_backwards),
            (0, 0),
            "seq strictly increasing: {c:#?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_parsable_json() {
    let server = start_server("bin").await;
    let url = format!("http://{}/stream.mjpg", server.addr);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_streamserver"))
            .args([
                "probe",
                &url,
                "--frames",
                "10",
                "--duration",
                "20",
                "--json",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    stop(server).await;
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let value: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    for key in [
        "fps_total",
        "fps_per_client_avg",
        "frame_bytes",
        "seq_gap_events",
        "seq_skipped",
        "reconnects",
        "errors",
        "latency_ms",
        "per_client",
    ] {
        assert!(value.get(key).is_some(), "no {key} in {stdout}");
    }
    let r: ProbeReport = serde_json::from_value(value).unwrap();
    assert!(r.ok);
    assert_eq!((r.clients, r.frames), (1, 10));
    assert!(r.latency_ms.p99.unwrap() < 1000.0, "{r:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_fails_when_no_frame_arrives() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/stream.mjpg");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_streamserver"))
            .args(["probe", &url, "--duration", "1", "--json"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(!out.status.success());
    let r: ProbeReport = serde_json::from_slice(&out.stdout).unwrap();
    assert!(!r.ok && r.frames == 0 && r.errors >= 1, "{r:#?}");
    assert!(r.per_client[0]
        .last_error
        .as_deref()
        .unwrap()
        .contains("connect"));
}

/// A fake JPEG whose bytes never contain the boundary text.
fn fake_jpeg(n: usize) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8];
    v.extend((0..n).map(|i| (i % 200) as u8 + 1));
    v.extend([0xFF, 0xD9]);
    v
}

/// Serves mjpg-streamer-style streams: HTTP/1.0, boundary before each part, no Content-Length,
/// `frames_per_connection` parts at ~50 fps, then the connection closes. At most 20 connections.
async fn scripted_upstream(frames_per_connection: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        for _ in 0..20 {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut req = [0u8; 2048];
                let _ = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut req)).await;
                let head =
                    "HTTP/1.0 200 OK\r\nServer: MJPG-Streamer/0.2\r\nCache-Control: no-cache\r\n\
                    Content-Type: multipart/x-mixed-replace;boundary=\"--myboundary\"\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..frames_per_connection {
                    let ts = SystemTime::now()
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .unwrap()
                        .as_secs_f64();
                    let mut part = format!(
                        "--myboundary\r\nContent-Type: image/jpeg\r\nX-Timestamp: {ts:.6}\r\n\r\n"
                    )
                    .into_bytes();
                    part.extend(fake_jpeg(3000));
                    part.extend(b"\r\n");
                    if sock.write_all(&part).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            });
        }
    });
    addr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tolerates_mjpg_streamer_style_upstreams_and_reconnects() {
    let addr = scripted_upstream(1000).await;
    let mut opts = ProbeOptions::new(format!("http://{addr}/?action=stream"));
    opts.clients = 2;
    opts.frames = Some(20);
    opts.duration = Some(Duration::from_secs(20));
    let r = probe(opts).await.unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!((r.frames, r.reconnects, r.errors), (40, 0, 0), "{r:#?}");
    let len = fake_jpeg(3000).len() as u64;
    assert_eq!((r.frame_bytes.min, r.frame_bytes.max), (len, len));
    assert_eq!(r.latency_ms.samples, 40);
    assert!(r.latency_ms.p50.unwrap() < 500.0, "{r:#?}");

    // Connections that end after 5 frames: the last part before EOF counts, then a reconnect.
    let addr = scripted_upstream(5).await;
    let mut opts = ProbeOptions::new(format!("http://{addr}/"));
    opts.frames = Some(12);
    opts.duration = Some(Duration::from_secs(20));
    let r = probe(opts).await.unwrap();
    assert!(r.ok, "{r:#?}");
    assert_eq!(r.frames, 12);
    assert_eq!(r.reconnects, 2, "{r:#?}");
    assert_eq!(r.errors, 2);
    let last = r.per_client[0].last_error.as_deref().unwrap();
    assert!(last.contains("ended"), "{last}");
}
