//! A hostile snapshot upstream cannot exhaust the memory of a Pi: it answers every fetch with
//! a JPEG whose header announces 8000×8000 (64 megapixels: the old fixed limit accepted it and
//! a full decode took 64 MB of scratch) or 65000×65000. The picture is refused from its header
//! (`max_pixels`, 16 MP by default) before any decode buffer exists, so the resident memory of
//! the server (this process) stays flat — within what starting the server takes — while the
//! source fetches it again and again.
//!
//! One test in this binary: it measures the RSS of the whole process.

mod common;

use std::time::{Duration, Instant};

use common::client::get;
use common::rss_bytes;
use common::sources::jpeg;
use common::upstream::{Behaviour, Upstream};
use common::{config, start, stop, test_stream};
use streamserver::config::{SnapshotPollConfig, SourceConfig, Validate};

/// `data` with the picture size in its (baseline) frame header replaced.
fn with_size(data: &[u8], width: u16, height: u16) -> Vec<u8> {
    let mut out = data.to_vec();
    let sof = out.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    out[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    out[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn huge_pictures_are_refused_from_their_header_and_memory_stays_flat() {
    let small = jpeg(64, 48, "hostile");
    let upstreams = [
        Upstream::start(Behaviour::Serve(
            "image/jpeg",
            with_size(&small, 8000, 8000),
        )),
        Upstream::start(Behaviour::Serve(
            "image/jpeg",
            with_size(&small, 65000, 65000),
        )),
    ];
    let mut c = config(64, 48, 10);
    c.streams = (upstreams.iter().enumerate())
        .map(|(i, up)| {
            let mut s = test_stream(&format!("hostile{i}"), 64, 48, 10);
            s.source = SourceConfig::SnapshotPoll(SnapshotPollConfig {
                url: up.url("/snap.jpg"),
                validate: Validate::ValidJpeg,
                fetch_max_fps: 20.0,
                fetch_min_fps: 20.0,
                ..SnapshotPollConfig::default()
            });
            s
        })
        .collect();
    // Before the server starts: its first fetch comes at once.
    let before = rss_bytes();
    let running = start(c).await;
    let addr = running.addr;
    let t0 = Instant::now();
    // Failed fetches back off (up to 2 s apart): 8 each take about 10 s.
    while upstreams.iter().any(|u| u.total() < 8) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "the sources did not fetch"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let after = rss_bytes();
    let grown = after.saturating_sub(before);
    assert!(
        grown < 16 << 20,
        "RSS grew by {} KiB with the server started and {} fetches (64 MiB per decode \
         before the limit)",
        grown >> 10,
        upstreams.iter().map(Upstream::total).sum::<usize>()
    );
    let state = get(addr, "/api/state").await.json();
    for s in state["streams"].as_array().unwrap() {
        assert_eq!(s["frames_captured"], 0, "no huge picture went on air: {s}");
        assert!(
            s["frames_dropped"].as_u64().unwrap() >= 6,
            "each was refused: {s}"
        );
    }
    stop(running).await;
}
