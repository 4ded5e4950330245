//! `/health`, `/api/state`, `/metrics` and the viewer page of a real server, and what they say
//! while a source is down (health 503, the stream shows the placeholder frame).

mod common;

use std::time::{Duration, Instant};

use common::client::get;
use common::mjpeg::MjpegClient;
use common::{config, decode_jpeg, start, stop, test_stream};
use streamserver::config::SourceConfig;

/// Polls `path` until `pred` holds for its response (at most 5 s).
async fn wait_for(
    addr: std::net::SocketAddr,
    path: &str,
    pred: impl Fn(&common::client::Response) -> bool,
) -> common::client::Response {
    let t0 = Instant::now();
    loop {
        let r = get(addr, path).await;
        if pred(&r) {
            return r;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "{path} never matched: {} {}",
            r.head.status,
            r.text()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the Prometheus sample `name` (exact series text), if present.
fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_state_metrics_and_viewer_describe_a_running_server() {
    let running = start(config(160, 120, 30)).await;
    let addr = running.addr;

    let health = wait_for(addr, "/health", |r| r.head.status == 200).await;
    assert_eq!(health.head.header("content-type"), Some("application/json"));
    let h = health.json();
    assert_eq!(h["status"], "ok");
    assert_eq!(h["streams"]["main"], "running");

    let mut c = MjpegClient::open(addr, "/stream.mjpg", false).await;
    c.parts_for(Duration::from_millis(1200)).await;
    let state = get(addr, "/api/state").await;
    assert_eq!(state.head.status, 200);
    let s = state.json();
    assert!(s["uptime_s"].as_f64().unwrap() > 0.0, "{s}");
    let m = &s["streams"][0];
    assert_eq!(m["id"], "main");
    assert_eq!(m["source"], "test");
    assert_eq!(m["state"], "running");
    assert_eq!(
        (m["width"].as_u64(), m["height"].as_u64()),
        (Some(160), Some(120))
    );
    let fps = m["fps_captured"].as_f64().unwrap();
    assert!((15.0..=40.0).contains(&fps), "fps_captured {fps}");
    assert!(m["fps_sent"].as_f64().unwrap() > 0.0, "{m}");
    assert_eq!(m["clients"], 1);
    let age = m["last_frame_age_s"].as_f64().unwrap();
    assert!((0.0..0.5).contains(&age), "last_frame_age_s {age}");
    assert!(m["frames_dropped"].is_u64(), "{m}");
    assert_eq!(m["showing_placeholder"], false);

    let series = "streamserver_frames_sent_total{stream=\"main\"}";
    let m1 = get(addr, "/metrics").await;
    assert_eq!(m1.head.status, 200);
    assert!(m1
        .head
        .header("content-type")
        .unwrap()
        .starts_with("text/plain"));
    let text = m1.text();
    assert!(
        text.contains("# TYPE streamserver_frames_sent_total counter"),
        "{text}"
    );
    assert!(text.contains("# TYPE streamserver_clients gauge"), "{text}");
    assert_eq!(
        metric(&text, "streamserver_clients{stream=\"main\"}"),
        Some(1.0)
    );
    let before = metric(&text, series).expect("frames_sent_total series");
    c.parts_for(Duration::from_millis(500)).await;
    let after = metric(&get(addr, "/metrics").await.text(), series).unwrap();
    assert!(
        after >= before + 5.0,
        "frames_sent_total {before} → {after}"
    );

    let viewer = get(addr, "/").await;
    assert_eq!(viewer.head.status, 200);
    assert!(viewer
        .head
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let html = viewer.text();
    assert!(
        html.contains("<img") || html.contains("createElement(\"img\")"),
        "the viewer shows an <img>"
    );
    assert!(
        html.contains("stream.mjpg"),
        "the <img> points at a stream URL"
    );
    drop(c);
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_down_source_makes_health_503_and_streams_show_the_placeholder() {
    let mut cfg = config(160, 120, 30);
    let mut down = test_stream("down", 160, 120, 30);
    if let SourceConfig::Test(t) = &mut down.source {
        t.fail_starts = 1000;
    }
    down.supervisor.backoff_initial = Duration::from_secs(60);
    down.supervisor.backoff_max = Duration::from_secs(60);
    cfg.streams.push(down);
    let running = start(cfg).await;
    let addr = running.addr;

    // Both streams settled: the healthy one running (it may still be starting on a busy
    // machine when the failing one already restarts), the failing one restarting.
    let health = wait_for(addr, "/health", |r| {
        let j = r.json();
        r.head.status == 503
            && j["streams"]["down"] == "restarting"
            && j["streams"]["main"] != "starting"
    })
    .await;
    let h = health.json();
    assert_eq!(h["status"], "unhealthy");
    assert_eq!(h["streams"]["main"], "running", "{h}");

    let mut c = MjpegClient::open(addr, "/streams/down/stream.mjpg", false).await;
    assert_eq!(
        c.head.status, 200,
        "clients stay connected to a down stream"
    );
    let p = c.next_part().await.expect("the placeholder part");
    // The source never produced a frame, so the placeholder has its documented default size.
    assert_eq!(decode_jpeg(&p.jpeg), (640, 480));

    let s = get(addr, "/api/state").await.json();
    let d = s["streams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["id"] == "down")
        .unwrap()
        .clone();
    assert_eq!(d["showing_placeholder"], true, "{d}");
    assert_eq!(d["state"], "restarting", "{d}");
    assert!(
        d["last_error"]
            .as_str()
            .unwrap()
            .contains("failed to start"),
        "{d}"
    );
    assert_eq!(d["clients"], 1);
    let metrics = get(addr, "/metrics").await.text();
    assert_eq!(
        metric(&metrics, "streamserver_source_up{stream=\"down\"}"),
        Some(0.0)
    );
    assert_eq!(
        metric(&metrics, "streamserver_source_up{stream=\"main\"}"),
        Some(1.0)
    );
    drop(c);
    stop(running).await;
}
