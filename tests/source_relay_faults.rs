//! The `relay` source against upstreams on 127.0.0.1 that misbehave: slow responses, 500s, an
//! HTML page, truncated bodies, an endless header, a 50 MB "frame", a connection that stalls
//! mid-frame. Each upstream fails twice and then serves well. A client of the relaying server
//! stays connected throughout: it sees the placeholder (or the last good frame) while the source
//! is down, then live upstream frames again; `/api/state` counts the restarts and says why.

mod common;
mod relay_support;

use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use relay_support::{decode, relay_stream, stream_state, Act, Shape, Upstream};

const GOOD: Act = Act::Serve(Shape::MjpgStreamer);

/// What one client saw, with runs of the same kind merged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Seen {
    Live,
    Placeholder,
}

/// Runs `script` upstream and one relay client until it sees live frames after the failures;
/// returns what the client saw and the final `/api/state` entry.
async fn run(script: Vec<Act>, failures: u64) -> (Upstream, Vec<Seen>, serde_json::Value) {
    let upstream = Upstream::start(script, None).await;
    let relay = common::sources::start_stream(relay_stream(upstream.url(), |_| {})).await;
    let mut client = common::sources::MjpegClient::connect(relay.addr, "/stream.mjpg").await;
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen: Vec<Seen> = Vec::new();
    let mut live_after_recovery = 0;
    while live_after_recovery < 5 {
        assert!(Instant::now() < deadline, "no recovery in time: {seen:?}");
        let part = client
            .next_within(Duration::from_secs(5))
            .await
            .expect("the client stays connected");
        decode(&part.jpeg);
        let kind = if upstream.is_upstream_frame(&part.jpeg) {
            Seen::Live
        } else {
            Seen::Placeholder
        };
        if seen.last() != Some(&kind) {
            seen.push(kind);
        }
        let recovered = upstream.connections.load(Relaxed) as u64 > failures;
        if kind == Seen::Live && recovered && seen.contains(&Seen::Placeholder) {
            live_after_recovery += 1;
        }
    }
    let state = stream_state(relay.addr).await;
    common::sources::stop_stream(relay).await;
    (upstream, seen, state)
}

fn assert_failed_with(state: &serde_json::Value, failures: u64, why: &str) {
    assert_eq!(state["state"], "running", "{state}");
    assert_eq!(state["showing_placeholder"], false, "{state}");
    assert!(
        state["restarts"].as_u64().unwrap() >= failures,
        "restarted after each failure: {state}"
    );
    let err = state["last_error"].as_str().unwrap_or_default();
    assert!(err.contains(why), "last_error {err:?} should say {why:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_responses_time_out_and_recover() {
    let slow = Act::SlowHead(Duration::from_secs(2));
    let (_, seen, state) = run(vec![slow, slow, GOOD], 2).await;
    assert_eq!(seen, [Seen::Placeholder, Seen::Live]);
    assert_failed_with(&state, 2, "timed out waiting for the response");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_500_recovers() {
    let (_, seen, state) = run(vec![Act::Status500, Act::Status500, GOOD], 2).await;
    assert_eq!(seen, [Seen::Placeholder, Seen::Live]);
    assert_failed_with(&state, 2, "HTTP 500");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_content_type_recovers() {
    let (_, seen, state) = run(vec![Act::Html, Act::Html, GOOD], 2).await;
    assert_eq!(seen, [Seen::Placeholder, Seen::Live]);
    assert_failed_with(&state, 2, "text/html");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_truncated_body_recovers() {
    let (_, seen, state) = run(vec![Act::Truncated, Act::Truncated, GOOD], 2).await;
    assert_eq!(seen, [Seen::Placeholder, Seen::Live]);
    assert_failed_with(&state, 2, "stream ended after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_header_is_cut_and_recovers() {
    let (_, seen, state) = run(vec![Act::EndlessHeader, Act::EndlessHeader, GOOD], 2).await;
    assert_eq!(seen, [Seen::Placeholder, Seen::Live]);
    assert_failed_with(&state, 2, "message head is too large");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_50_mb_frame_is_rejected_without_being_read_whole() {
    let (upstream, seen, state) = run(vec![Act::HugeFrame, Act::HugeFrame, GOOD], 2).await;
    assert_eq!(seen, [Seen::Placeholder, Seen::Live]);
    assert_failed_with(&state, 2, "larger than 1048576 bytes");
    // Two connections, each cut after about max_frame_bytes (plus socket buffers).
    let written = upstream.huge_bytes_written.load(Relaxed);
    assert!(
        written < 2 * 12 * 1024 * 1024,
        "upstream wrote {written} bytes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_mid_frame_times_out_and_recovers() {
    let (_, seen, state) = run(vec![Act::StallMidFrame, Act::StallMidFrame, GOOD], 2).await;
    // The good frame before each stall, the placeholder while reconnecting, live again.
    assert_eq!(seen.first(), Some(&Seen::Live), "{seen:?}");
    assert_eq!(seen.last(), Some(&Seen::Live), "{seen:?}");
    assert!(seen.contains(&Seen::Placeholder), "{seen:?}");
    assert_failed_with(&state, 2, "timed out reading the stream");
}
