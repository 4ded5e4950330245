//! The `relay` source against three upstream shapes, over loopback TCP: another instance of our
//! own server, a scripted mjpg-streamer (HTTP/1.0, `boundarydonotcross`, Content-Length, Basic
//! auth), and a scripted upstream whose parts lack Content-Length under a quoted boundary. A
//! client of the relaying server must get the upstream's JPEGs, byte for byte, decodable.

mod common;
mod relay_support;

use std::time::Duration;

use relay_support::{decode, relay_stream, stream_state, Act, Shape, TlsFront, Upstream};
use streamserver::config::StreamConfig;

/// Reads `n` parts from the relaying server within 10 s.
async fn read_parts(addr: std::net::SocketAddr, n: usize) -> Vec<common::sources::Part> {
    let mut client = common::sources::MjpegClient::connect(addr, "/stream.mjpg").await;
    let mut parts = Vec::new();
    while parts.len() < n {
        parts.push(
            client
                .next_within(Duration::from_secs(10))
                .await
                .expect("the stream goes on"),
        );
    }
    parts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_our_own_server() {
    let upstream = common::sources::start_stream(StreamConfig::test_pattern()).await;
    let url = format!("http://{}/stream.mjpg", upstream.addr);
    let relay = common::sources::start_stream(relay_stream(url, |_| {})).await;
    let parts = read_parts(relay.addr, 10).await;
    // Live frames: distinct, in order, the test pattern's size.
    let upstream_size = decode(&read_parts(upstream.addr, 1).await[0].jpeg);
    for w in parts.windows(2) {
        assert!(w[1].seq > w[0].seq, "sequence numbers increase");
    }
    let distinct: std::collections::HashSet<_> = parts.iter().map(|p| p.jpeg.clone()).collect();
    assert!(
        distinct.len() >= 5,
        "moving pictures, not one re-sent frame"
    );
    for p in &parts {
        assert_eq!(decode(&p.jpeg), upstream_size);
    }
    let state = stream_state(relay.addr).await;
    assert_eq!(state["state"], "running", "{state}");
    assert_eq!(state["source"], "relay");
    assert_eq!(state["restarts"], 0, "{state}");
    common::sources::stop_stream(relay).await;
    common::sources::stop_stream(upstream).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_an_mjpg_streamer_with_credentials() {
    // base64("admin:s3cret")
    let auth = "Basic YWRtaW46czNjcmV0".to_string();
    let upstream = Upstream::start(vec![Act::Serve(Shape::MjpgStreamer)], Some(auth)).await;
    let relay = common::sources::start_stream(relay_stream(upstream.url(), |r| {
        r.username = Some("admin".into());
        r.password = Some("s3cret".into());
    }))
    .await;
    let parts = read_parts(relay.addr, 8).await;
    for p in &parts {
        assert!(upstream.is_upstream_frame(&p.jpeg), "relayed byte for byte");
        assert_eq!(decode(&p.jpeg), (160, 120));
    }
    assert!(parts.iter().any(|p| p.jpeg != parts[0].jpeg));
    let state = stream_state(relay.addr).await;
    assert_eq!(
        (state["state"].as_str(), state["restarts"].as_u64()),
        (Some("running"), Some(0)),
        "{state}"
    );
    let requests = upstream.requests.lock().unwrap().clone();
    assert_eq!(requests.len(), 1, "one upstream connection for all clients");
    assert!(requests[0].starts_with("GET /?action=stream HTTP/1.1\r\n"));
    common::sources::stop_stream(relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_keep_the_placeholder_up_and_say_why() {
    let upstream = Upstream::start(
        vec![Act::Serve(Shape::MjpgStreamer)],
        Some("Basic YWRtaW46czNjcmV0".into()),
    )
    .await;
    // Credentials in the URL (wrong ones).
    let url = upstream.url().replace("http://", "http://admin:nope@");
    let relay = common::sources::start_stream(relay_stream(url, |_| {})).await;
    let parts = read_parts(relay.addr, 1).await;
    assert!(!upstream.is_upstream_frame(&parts[0].jpeg));
    decode(&parts[0].jpeg);
    let state = stream_state(relay.addr).await;
    assert_eq!(state["showing_placeholder"], true, "{state}");
    let err = state["last_error"].as_str().unwrap_or_default();
    assert!(err.contains("HTTP 401"), "{state}");
    assert!(!err.contains("nope"), "no password in errors: {err}");
    common::sources::stop_stream(relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_parts_without_content_length_under_a_quoted_boundary() {
    let upstream = Upstream::start(vec![Act::Serve(Shape::NoLength)], None).await;
    let relay =
        common::sources::start_stream(relay_stream(upstream.url(), |r| r.full_decode = true)).await;
    let parts = read_parts(relay.addr, 8).await;
    for p in &parts {
        assert!(
            upstream.is_upstream_frame(&p.jpeg),
            "trimmed to SOI..EOI exactly"
        );
        assert_eq!(decode(&p.jpeg), (160, 120));
    }
    let state = stream_state(relay.addr).await;
    assert_eq!(state["restarts"], 0, "{state}");
    assert_eq!(state["frames_dropped"], 0, "{state}");
    common::sources::stop_stream(relay).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn relays_an_https_upstream_and_refuses_an_unverifiable_certificate() {
    let upstream = common::sources::start_stream(StreamConfig::test_pattern()).await;
    let front = TlsFront::start(upstream.addr).await;
    let url = format!("https://{}/stream.mjpg", front.addr);
    // The test certificate is self-signed: verified TLS must refuse it, with the reason shown.
    let strict = common::sources::start_stream(relay_stream(url.clone(), |_| {})).await;
    let mut state = stream_state(strict.addr).await;
    for _ in 0..100 {
        if state["last_error"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        state = stream_state(strict.addr).await;
    }
    let error = state["last_error"].as_str().expect("an error").to_string();
    assert!(error.contains("TLS"), "{state}");
    assert!(error.to_lowercase().contains("certificate"), "{error}");
    common::sources::stop_stream(strict).await;
    // With accept_invalid_certs the relay streams through TLS, frames decodable.
    let relay =
        common::sources::start_stream(relay_stream(url, |r| r.accept_invalid_certs = true)).await;
    let parts = read_parts(relay.addr, 5).await;
    let upstream_size = decode(&read_parts(upstream.addr, 1).await[0].jpeg);
    for p in &parts {
        assert_eq!(decode(&p.jpeg), upstream_size);
    }
    assert_eq!(stream_state(relay.addr).await["state"], "running");
    common::sources::stop_stream(relay).await;
    common::sources::stop_stream(upstream).await;
}
