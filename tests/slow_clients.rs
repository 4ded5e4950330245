//! Slow and stalled clients: a client that stops reading must cost a bounded number of frames
//! and bytes, must not grow server memory and must not slow the other clients down; a client
//! that reads slowly must get recent frames, not a backlog (`TCP_NOTSENT_LOWAT` plus hyper's
//! one-frame write buffer bound what waits on the server side).
//!
//! The tests in this file measure rates and memory, so they take turns ([`SERIAL`]).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use tokio::net::{TcpSocket, TcpStream};

use common::client::HttpConn;
use common::mjpeg::MjpegClient;
use common::{config, rss_bytes, start, stop};
use streamserver::app::Running;

static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const STALLED: usize = 20;

/// Parts a healthy client receives in `window` (after its first part).
async fn healthy_parts(addr: SocketAddr, window: Duration) -> usize {
    let mut c = MjpegClient::open(addr, "/stream.mjpg", false).await;
    assert_eq!(c.head.status, 200);
    c.next_part().await.expect("first part");
    c.parts_for(window).await.len()
}

fn frames_sent(running: &Running) -> u64 {
    running.state.streams[0].stats.frames_sent.total()
}

fn clients(running: &Running) -> usize {
    running.state.streams[0].stats.clients.load(Relaxed)
}

/// Waits (at most 5 s) until the stream has `n` clients.
async fn wait_clients(running: &Running, n: usize) {
    let t0 = Instant::now();
    while clients(running) != n {
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "expected {n} clients, have {}",
            clients(running)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_clients_cost_bounded_frames_and_memory_and_do_not_slow_others() {
    let _turn = SERIAL.lock().await;
    let mut cfg = config(640, 480, 30);
    // The stalled clients must stay connected for the whole measurement.
    cfg.server.write_timeout = Duration::from_secs(60);
    let running = start(cfg).await;
    let window = Duration::from_secs(2);

    let baseline = healthy_parts(running.addr, window).await;
    wait_clients(&running, 0).await;

    let rss_before = rss_bytes();
    let sent_before = frames_sent(&running);
    let bytes_before = running.state.streams[0].stats.bytes_sent.load(Relaxed);
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        let mut c = HttpConn::connect(running.addr).await;
        c.send_get("/stream.mjpg", false).await;
        stalled.push(c); // never read from again
    }
    wait_clients(&running, STALLED).await;
    // Three seconds of a 30 fps source: 90 frames each would be sent without a bound.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let stalled_frames = frames_sent(&running) - sent_before;
    let rss_after = rss_bytes();
    let per_client = stalled_frames as f64 / STALLED as f64;
    let frame_bytes = running.state.streams[0]
        .slot
        .latest()
        .map_or(0, |f| f.jpeg.len());
    let bytes_per_client = (running.state.streams[0].stats.bytes_sent.load(Relaxed) - bytes_before)
        as f64
        / STALLED as f64;
    eprintln!(
        "stalled: {per_client:.1} frames/client, {bytes_per_client:.0} B ({frame_bytes} B/frame), \
         rss {} → {} MB",
        rss_before >> 20,
        rss_after >> 20
    );
    assert!(
        per_client <= 15.0,
        "a stalled client was sent {per_client:.1} frames of ~{frame_bytes} B in 3 s"
    );
    // A stalled client's kernel accepts (and acknowledges) up to its receive buffer, 128 KB by
    // default (tcp_rmem); beyond that the server sends nothing more.
    assert!(
        bytes_per_client < 256.0 * 1024.0,
        "a stalled client was sent {bytes_per_client:.0} JPEG bytes"
    );
    let growth = rss_after.saturating_sub(rss_before);
    assert!(
        growth < 20 << 20,
        "RSS grew by {} MB with {STALLED} stalled clients",
        growth >> 20
    );

    let sent_mid = frames_sent(&running);
    let with_stalled = healthy_parts(running.addr, window).await;
    let ratio = with_stalled as f64 / baseline as f64;
    eprintln!("healthy client: {baseline} parts alone, {with_stalled} beside {STALLED} stalled");
    assert!(
        ratio >= 0.8,
        "a healthy client got {with_stalled} parts beside stalled clients vs {baseline} alone"
    );
    // While the healthy client streamed, the stalled ones got (almost) nothing more: a part
    // only when the one before hid in their window's margin (the pacer's probes are single
    // bytes of a part's start, not frames).
    let stalled_more = (frames_sent(&running) - sent_mid).saturating_sub(with_stalled as u64 + 1);
    assert!(
        stalled_more <= 2 * STALLED as u64,
        "stalled clients were sent {stalled_more} more frames"
    );
    wait_clients(&running, STALLED).await; // the healthy client has gone, the stalled stay
    drop(stalled);
    stop(running).await;
}

/// A stalled client is disconnected after `write_timeout` and its slot is freed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_client_is_dropped_after_the_write_timeout() {
    let _turn = SERIAL.lock().await;
    let mut cfg = config(320, 240, 30);
    cfg.server.write_timeout = Duration::from_secs(1);
    let running = start(cfg).await;
    let mut c = HttpConn::connect(running.addr).await;
    c.send_get("/stream.mjpg", false).await;
    wait_clients(&running, 1).await;
    let t0 = Instant::now();
    while clients(&running) != 0 {
        assert!(
            t0.elapsed() < Duration::from_secs(6),
            "stalled client still connected after {:?}",
            t0.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    drop(c);
    stop(running).await;
}

/// Connects with a given receive buffer, which must be set before connect.
async fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: u32) -> TcpStream {
    let sock = TcpSocket::new_v4().unwrap();
    sock.set_recv_buffer_size(rcvbuf).unwrap();
    sock.connect(addr).await.unwrap()
}

/// A client that reads one part a second gets frames less than 1.5 s old once it has run 5 s.
///
/// The client models a slow *link*: it reads only the bytes each part needs and keeps its
/// receive buffer (8 KB; the kernel doubles it) below one frame (~19 kB at 640×480), so what it
/// has not read is not acknowledged. Measured on loopback: ages ~1.0 s; without any pacing they
/// were 2 s. The kernel's default buffer is the next test.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_gets_recent_frames_not_a_backlog() {
    let _turn = SERIAL.lock().await;
    let mut cfg = config(640, 480, 30);
    // Short, so that the 8 s run also shows a slow reader is not mistaken for a stalled one.
    cfg.server.write_timeout = Duration::from_secs(2);
    let running = start(cfg).await;
    let stream = connect_with_rcvbuf(running.addr, 8192).await;
    let ages = read_one_part_a_second(stream, "slow reader").await;
    // Recent frames once it has run 5 s, and it skipped frames rather than reading them in order.
    assert_recent(&ages, 5.0, 1.5, 10);
    stop(running).await;
}

/// The same reader with the kernel's default receive buffer (128 KB, several frames) also gets
/// recent frames: the server sends a part only when the last one was read (probing the client
/// for its window), not whenever the buffer has room. Before that pacing, the same reader got
/// frames 3–4 s old; 50 such readers beside 150 fast ones are in `streamserver-bench fanout`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_reader_with_the_default_buffer_gets_recent_frames() {
    let _turn = SERIAL.lock().await;
    let cfg = config(640, 480, 30);
    let running = start(cfg).await;
    let stream = TcpStream::connect(running.addr).await.unwrap();
    let ages = read_one_part_a_second(stream, "slow reader, default buffer").await;
    assert_recent(&ages, 4.0, 2.0, 20);
    stop(running).await;
}

/// Reads one part a second for 8 s on `stream` (only the bytes each part needs): (time s, the
/// part's frame age s, its sequence number) per part.
async fn read_one_part_a_second(stream: TcpStream, what: &str) -> Vec<(f64, f64, u64)> {
    let mut c = MjpegClient::open_on(stream, "/stream.mjpg", true).await;
    assert_eq!(c.head.status, 200);
    let t0 = Instant::now();
    let mut ages = Vec::new();
    while t0.elapsed() < Duration::from_secs(8) {
        let p = c.next_part().await.expect("a part");
        ages.push((t0.elapsed().as_secs_f64(), p.age_s(), p.seq()));
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    eprintln!("{what} (t s, frame age s, seq): {ages:.2?}");
    ages
}

/// From `after` seconds on, every part was less than `max_age` s old, and the parts skipped at
/// least `skipped` frames in all.
fn assert_recent(ages: &[(f64, f64, u64)], after: f64, max_age: f64, skipped: u64) {
    let late: Vec<_> = ages.iter().filter(|(t, _, _)| *t >= after).collect();
    assert!(late.len() >= 2, "{ages:?}");
    for (t, age, _) in &late {
        assert!(
            *age < max_age,
            "at {t:.1} s the slow reader got a frame {age:.2} s old: {ages:.2?}"
        );
    }
    let (first, last) = (late[0].2, late[late.len() - 1].2);
    assert!(last - first >= skipped, "{ages:.2?}");
}
