//! The wire format of `/stream.mjpg` and the snapshots, read byte by byte from a real server
//! over real TCP: response and part headers, the closing boundary right after each JPEG, JPEGs
//! that decode to the configured size, increasing sequence numbers, `?fps=N` pacing and the
//! `max_client_fps` cap, and snapshots before, during and after streaming.

mod common;

use std::time::Duration;

use common::client::get;
use common::mjpeg::{MjpegClient, Part, BOUNDARY};
use common::{config, decode_jpeg, start, stop, test_stream, unix_now};

/// Checks everything a part must carry; returns nothing, panics with the reason.
fn check_part(p: &Part, width: usize, height: usize) {
    assert_eq!(p.header("content-type"), Some("image/jpeg"));
    let len: usize = p.header("content-length").unwrap().parse().unwrap();
    assert_eq!(len, p.jpeg.len());
    assert_eq!(&p.jpeg[..2], [0xFF, 0xD8], "JPEG starts with SOI");
    assert_eq!(&p.jpeg[len - 2..], [0xFF, 0xD9], "JPEG ends with EOI");
    let age = unix_now() - p.timestamp();
    assert!(
        (-0.5..2.0).contains(&age),
        "X-Timestamp {} is {age:.3} s from now",
        p.timestamp()
    );
    let ts = p.header("x-timestamp").unwrap();
    assert_eq!(
        ts.split_once('.').map(|(_, frac)| frac.len()),
        Some(6),
        "X-Timestamp has 6 decimals: {ts}"
    );
    assert_eq!(decode_jpeg(&p.jpeg), (width, height));
}

fn check_stream_head(c: &MjpegClient) {
    assert_eq!(c.head.status, 200);
    assert_eq!(
        c.head.header("content-type"),
        Some(format!("multipart/x-mixed-replace;boundary={BOUNDARY}").as_str())
    );
    let cache = c.head.header("cache-control").expect("Cache-Control");
    assert!(
        cache.contains("no-cache") && cache.contains("no-store"),
        "{cache}"
    );
    assert_eq!(c.head.header("pragma"), Some("no-cache"));
    assert_eq!(c.head.header("expires"), Some("0"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_are_well_formed_over_chunked_http11() {
    let running = start(config(320, 240, 30)).await;
    let mut c = MjpegClient::open(running.addr, "/stream.mjpg", false).await;
    check_stream_head(&c);
    assert_eq!(c.head.version, "HTTP/1.1");
    assert_eq!(c.head.header("transfer-encoding"), Some("chunked"));
    let mut last_seq = 0;
    for _ in 0..20 {
        let p = c.next_part().await.expect("a part");
        check_part(&p, 320, 240);
        assert!(p.seq() > last_seq, "seq {} after {last_seq}", p.seq());
        last_seq = p.seq();
    }
    drop(c);
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parts_are_well_formed_over_http10_and_on_the_aliases() {
    let running = start(config(160, 120, 30)).await;
    let mut c = MjpegClient::open(running.addr, "/stream.mjpg", true).await;
    check_stream_head(&c);
    assert_eq!(
        c.head.header("transfer-encoding"),
        None,
        "no chunking for HTTP/1.0"
    );
    let mut last_seq = 0;
    for _ in 0..10 {
        let p = c.next_part().await.expect("a part");
        check_part(&p, 160, 120);
        assert!(p.seq() > last_seq);
        last_seq = p.seq();
    }
    for alias in ["/?action=stream", "/stream", "/streams/main/stream.mjpg"] {
        let mut c = MjpegClient::open(running.addr, alias, false).await;
        check_stream_head(&c);
        check_part(&c.next_part().await.expect("a part"), 160, 120);
    }
    drop(c);
    stop(running).await;
}

/// The closing boundary is sent with the JPEG, not with the next frame: with a source at 2 fps
/// (a part every 500 ms), the boundary after each JPEG arrives at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_boundary_arrives_right_after_the_jpeg() {
    let running = start(config(160, 120, 2)).await;
    let mut c = MjpegClient::open(running.addr, "/stream.mjpg", false).await;
    for _ in 0..3 {
        let p = c.next_part().await.expect("a part");
        assert!(
            p.boundary_wait < Duration::from_millis(150),
            "closing boundary came {:?} after the JPEG (frame interval 500 ms)",
            p.boundary_wait
        );
    }
    drop(c);
    stop(running).await;
}

fn count_in(parts: &[Part]) -> usize {
    parts.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fps_query_and_max_client_fps_cap_a_clients_rate() {
    let mut cfg = config(160, 120, 30);
    cfg.server.max_client_fps = 5;
    let running = start(cfg).await;
    let window = Duration::from_secs(2);

    // Uncapped by the query but capped by max_client_fps = 5; ?fps=3 is below the cap.
    let mut capped = MjpegClient::open(running.addr, "/stream.mjpg?fps=20", false).await;
    let mut slow = MjpegClient::open(running.addr, "/stream.mjpg?fps=3&t=123", false).await;
    capped.next_part().await.expect("first part");
    slow.next_part().await.expect("first part");
    let (a, b) = tokio::join!(capped.parts_for(window), slow.parts_for(window));
    let (n_capped, n_slow) = (count_in(&a), count_in(&b));
    assert!(
        (8..=12).contains(&n_capped),
        "fps=20 capped at 5: {n_capped} parts in 2 s"
    );
    assert!((4..=8).contains(&n_slow), "fps=3: {n_slow} parts in 2 s");
    drop((capped, slow));
    stop(running).await;

    // Without a cap, the query alone paces, and a client without a query gets the source rate.
    let mut cfg = config(160, 120, 30);
    cfg.server.max_client_fps = 0;
    let running = start(cfg).await;
    let mut five = MjpegClient::open(running.addr, "/stream.mjpg?fps=5", false).await;
    let mut full = MjpegClient::open(running.addr, "/stream.mjpg", false).await;
    five.next_part().await.expect("first part");
    full.next_part().await.expect("first part");
    let (a, b) = tokio::join!(five.parts_for(window), full.parts_for(window));
    let (n_five, n_full) = (count_in(&a), count_in(&b));
    assert!((8..=12).contains(&n_five), "fps=5: {n_five} parts in 2 s");
    assert!(
        n_full >= 30,
        "uncapped client at a 30 fps source: {n_full} parts in 2 s"
    );
    drop((five, full));
    stop(running).await;
}

fn check_snapshot(resp: &common::client::Response, width: usize, height: usize) {
    assert_eq!(resp.head.status, 200, "{}", resp.text());
    assert_eq!(resp.head.header("content-type"), Some("image/jpeg"));
    assert_eq!(
        resp.head
            .header("content-length")
            .map(|l| l.parse::<usize>().unwrap()),
        Some(resp.body.len())
    );
    assert!(resp
        .head
        .header("cache-control")
        .unwrap()
        .contains("no-store"));
    assert_eq!(decode_jpeg(&resp.body), (width, height));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_work_before_and_after_streaming_and_per_stream() {
    let mut cfg = config(160, 120, 30);
    cfg.streams.push(test_stream("second", 320, 240, 10));
    let running = start(cfg).await;
    // Right after start: the snapshot waits for the first frame instead of failing.
    check_snapshot(&get(running.addr, "/snapshot.jpg").await, 160, 120);
    check_snapshot(&get(running.addr, "/?action=snapshot").await, 160, 120);

    let mut c = MjpegClient::open(running.addr, "/stream.mjpg", false).await;
    c.parts_for(Duration::from_millis(500)).await;
    check_snapshot(&get(running.addr, "/snapshot.jpg").await, 160, 120);
    drop(c);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = get(running.addr, "/snapshot.jpg").await;
    check_snapshot(&after, 160, 120);
    let age = unix_now()
        - after
            .head
            .header("x-timestamp")
            .unwrap()
            .parse::<f64>()
            .unwrap();
    assert!(age < 1.5, "snapshot after streaming is {age:.2} s old");

    check_snapshot(
        &get(running.addr, "/streams/second/snapshot.jpg").await,
        320,
        240,
    );
    check_snapshot(
        &get(running.addr, "/streams/main/snapshot.jpg").await,
        160,
        120,
    );
    let missing = get(running.addr, "/streams/nope/snapshot.jpg").await;
    assert_eq!(missing.head.status, 404);
    let missing = get(running.addr, "/streams/nope/stream.mjpg").await;
    assert_eq!(missing.head.status, 404);
    stop(running).await;
}
