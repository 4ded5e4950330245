//! Limits and bad requests: the client limit answers 503 and frees its slot when a client
//! leaves; malformed, oversized, wrong-method, unknown and stalled requests get a 4xx (or are
//! closed after the header timeout), and the server keeps serving afterwards.

mod common;

use std::time::{Duration, Instant};

use common::client::{get, raw_request, HttpConn};
use common::mjpeg::MjpegClient;
use common::{config, decode_jpeg, start, stop};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_clients_refuses_the_third_stream_then_admits_after_one_leaves() {
    let mut cfg = config(160, 120, 30);
    cfg.server.max_clients = 2;
    let running = start(cfg).await;
    let mut a = MjpegClient::open(running.addr, "/stream.mjpg", false).await;
    let mut b = MjpegClient::open(running.addr, "/?action=stream", false).await;
    assert_eq!((a.head.status, b.head.status), (200, 200));
    a.next_part().await.expect("a part");
    b.next_part().await.expect("a part");

    let third = get(running.addr, "/stream.mjpg").await;
    assert_eq!(third.head.status, 503);
    assert!(
        third.text().contains("too many clients") && third.text().contains('2'),
        "503 body says why: {:?}",
        third.text()
    );
    assert_eq!(third.head.header("retry-after"), Some("5"));
    // Snapshots do not count against the stream limit.
    assert_eq!(get(running.addr, "/snapshot.jpg").await.head.status, 200);

    drop(a);
    let t0 = Instant::now();
    let mut again = loop {
        let c = MjpegClient::open(running.addr, "/stream.mjpg", false).await;
        if c.head.status == 200 {
            break c;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(5),
            "the slot of a departed client was not freed within 5 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    again.next_part().await.expect("a part for the new client");
    b.next_part()
        .await
        .expect("the remaining client still streams");
    drop((again, b));
    stop(running).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_4xx_and_the_server_keeps_serving() {
    let mut cfg = config(160, 120, 30);
    cfg.server.header_timeout = Duration::from_millis(800);
    cfg.server.max_header_bytes = 8192;
    let running = start(cfg).await;
    let addr = running.addr;

    let garbage = raw_request(addr, b"\x16\x03\x01\x02\x00garbage\x00\xff\r\n\r\n").await;
    assert_eq!(garbage.head.status, 400, "garbage bytes");

    let big = format!(
        "GET /stream.mjpg HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "a".repeat(20_000)
    );
    let big = raw_request(addr, big.as_bytes()).await;
    assert_eq!(big.head.status, 431, "a 20 kB request head (limit 8 kB)");

    let post = raw_request(
        addr,
        b"POST /stream.mjpg HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(post.head.status, 405);
    let allow = post
        .head
        .header("allow")
        .expect("405 names what is allowed");
    assert!(allow.contains("GET"), "Allow: {allow}");

    assert_eq!(get(addr, "/nope").await.head.status, 404);
    assert_eq!(get(addr, "/streams/main/nope").await.head.status, 404);
    let bad_fps = get(addr, "/stream.mjpg?fps=abc").await;
    assert_eq!(bad_fps.head.status, 400);
    assert!(bad_fps.text().contains("fps"), "{}", bad_fps.text());
    let bad_action = get(addr, "/?action=bogus").await;
    assert_eq!(bad_action.head.status, 400);
    assert!(bad_action.text().contains("bogus"), "{}", bad_action.text());

    // Half a request line, then nothing: closed after the header timeout, not before.
    let mut half = HttpConn::connect(addr).await;
    half.send(b"GET /stream.mj").await;
    let t0 = Instant::now();
    assert!(
        half.closed_within(Duration::from_secs(4)).await,
        "a stalled request head was not closed within 4 s (header_timeout 800 ms)"
    );
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(600),
        "closed after {took:?}, before the 800 ms header timeout"
    );

    // After all of that, the server still serves.
    let snap = get(addr, "/snapshot.jpg").await;
    assert_eq!(snap.head.status, 200);
    assert_eq!(decode_jpeg(&snap.body), (160, 120));
    let mut c = MjpegClient::open(addr, "/stream.mjpg", false).await;
    assert_eq!(c.head.status, 200);
    c.next_part().await.expect("a part");
    drop(c);
    stop(running).await;
}
