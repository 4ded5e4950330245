//! Unit tests of `stale`.

use super::*;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;
use std::sync::Arc;

fn sink() -> FrameSink {
    FrameSink::new(
        LatestFrame::new(),
        Arc::new(StreamStats::new("s", "folder")),
        Arc::new(crate::pipeline::demand::Demand::new()),
    )
}

#[test]
fn fires_once_per_quiet_spell_and_rearms_on_a_fresh_frame() {
    let sink = sink();
    let t0 = Instant::now();
    let mut g = StaleGuard::new(
        "s".into(),
        Duration::from_secs(5),
        OnStale::Placeholder,
        None,
    );
    g.fresh(t0);
    assert!(!g.check(&sink, t0 + Duration::from_secs(4), "quiet"));
    assert!(sink.slot.latest().is_none());
    assert!(g.check(&sink, t0 + Duration::from_secs(5), "quiet"));
    let ph = sink.slot.latest().unwrap();
    assert_eq!(ph.kind, FrameKind::Placeholder);
    assert_eq!((ph.width, ph.height), (640, 480));
    assert!(
        !g.check(&sink, t0 + Duration::from_secs(60), "quiet"),
        "once"
    );
    assert_eq!(sink.slot.latest().unwrap().seq, ph.seq);
    g.fresh(t0 + Duration::from_secs(61));
    assert!(!g.is_stale());
    assert!(g.check(&sink, t0 + Duration::from_secs(66), "quiet"));
}

#[test]
fn last_frame_publishes_nothing_and_disconnect_publishes_the_marker() {
    let sink = sink();
    let t0 = Instant::now();
    let mut keep = StaleGuard::new("s".into(), Duration::from_secs(1), OnStale::LastFrame, None);
    assert!(keep.check(&sink, t0 + Duration::from_secs(2), "quiet"));
    assert!(sink.slot.latest().is_none());
    let mut cut = StaleGuard::new(
        "s".into(),
        Duration::from_secs(1),
        OnStale::Disconnect,
        None,
    );
    assert!(cut.check(&sink, t0 + Duration::from_secs(2), "quiet"));
    let marker = sink.slot.latest().unwrap();
    assert_eq!(marker.kind, FrameKind::EndOfStream);
    assert!(
        turbojpeg::read_header(&marker.jpeg).is_ok(),
        "snapshots still get a picture"
    );
}

#[test]
fn restart_clock_postpones_staleness() {
    let sink = sink();
    let t0 = Instant::now();
    let mut g = StaleGuard::new(
        "s".into(),
        Duration::from_secs(5),
        OnStale::Placeholder,
        None,
    );
    g.restart_clock(t0 + Duration::from_secs(10));
    assert!(!g.check(&sink, t0 + Duration::from_secs(12), "quiet"));
    assert!(g.check(&sink, t0 + Duration::from_secs(15), "quiet"));
}

#[test]
fn a_placeholder_image_must_be_a_jpeg() {
    let dir = std::env::temp_dir().join(format!("stale-ph-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.jpg");
    std::fs::write(&bad, b"not a jpeg").unwrap();
    let err = PlaceholderImage::load(&bad).unwrap_err();
    assert!(err.to_string().contains("bad.jpg"), "{err}");
    assert!(matches!(
        PlaceholderImage::load(&dir.join("missing.jpg")),
        Err(PlaceholderError::Read { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
