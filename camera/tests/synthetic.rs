//! The helper's protocol conversation, on the real binary with its synthetic camera (no
//! libcamera needed): handshake, Start, frames that decode at the asked size, Demand and the
//! Alive pacing, Stop and the end of stdin, bad settings (stills and controls:
//! `synthetic_requests.rs`).

mod common;

use std::time::{Duration, SystemTime};

use common::bars::decode;
use common::{settings, Helper};
use streamserver::config::PixelFormat;
use streamserver::source::camera::protocol::{FailureKind, Message, ALIVE_INTERVAL};

const WAIT: Duration = Duration::from_secs(10);

/// A synthetic helper of this test process, started with `settings`.
fn started(width: u32, height: u32, format: PixelFormat) -> Helper {
    let pid = std::process::id().to_string();
    let (mut helper, hello) = Helper::spawn(&["run", "--synthetic", "--parent-pid", &pid]);
    assert_eq!(hello.helper_version, env!("CARGO_PKG_VERSION"));
    helper
        .commands()
        .start(&settings(width, height, format))
        .unwrap();
    match helper.next(WAIT) {
        Message::Started(s) => {
            assert_eq!((s.width, s.height, s.fps), (width, height, 30.0));
            assert_eq!(s.camera_id, "synthetic");
            let name = match format {
                PixelFormat::Nv12 => "NV12",
                PixelFormat::Yuv420 => "YUV420",
                PixelFormat::Rgb888 => "BGR888",
                PixelFormat::Bgr888 => "RGB888",
            };
            assert_eq!(s.format, name);
        }
        other => panic!("expected Started, got {other:?}"),
    }
    helper
}

fn frame_seq(m: &Message) -> Option<u64> {
    match m {
        Message::Frame(f) => Some(f.info.seq),
        _ => None,
    }
}

#[test]
fn frames_decode_at_the_asked_size_in_every_format_and_stop_exits_zero() {
    for format in PixelFormat::ALL {
        let mut helper = started(320, 240, format);
        let mut last = 0;
        for _ in 0..8 {
            let Message::Frame(f) = helper.next(WAIT) else {
                panic!("expected frames")
            };
            assert!(f.info.seq > last, "seq {} after {last}", f.info.seq);
            last = f.info.seq;
            assert_eq!((f.info.width, f.info.height), (320, 240));
            let (w, h, pixels) = decode(&f.jpeg);
            assert_eq!((w, h), (320, 240), "{format:?}");
            // The test pattern's first bar is white, its last one (on the right) black.
            let px = |x: usize| pixels[(60 * w + x) * 3];
            assert!(
                px(5) > 200 && px(w - 5) < 40,
                "{format:?}: {} {}",
                px(5),
                px(w - 5)
            );
            let age = SystemTime::now()
                .duration_since(f.info.captured_at())
                .unwrap();
            assert!(age < WAIT, "captured {age:?} ago");
        }
        helper.commands().stop().unwrap();
        let (_, end) = helper.until_end(WAIT);
        assert!(end.is_closed(), "{end}");
        let status = helper.wait_exit(WAIT);
        assert_eq!(status.code(), Some(0), "stderr: {}", helper.stderr());
    }
}

#[test]
fn not_wanted_means_alives_only_at_their_interval_then_frames_again() {
    let mut helper = started(160, 120, PixelFormat::Yuv420);
    let first = frame_seq(&helper.next(WAIT)).expect("a frame");
    helper.commands().demand(false).unwrap();
    // Frames already being encoded may still come; then only Alives.
    let window = ALIVE_INTERVAL * 6;
    let t = std::time::Instant::now();
    let mut seen = Vec::new();
    while t.elapsed() < window {
        seen.push(helper.next(WAIT));
    }
    let alive_at = seen
        .iter()
        .position(|m| matches!(m, Message::Alive { .. }))
        .unwrap_or_else(|| panic!("no Alive while idle: {seen:?}"));
    assert!(alive_at <= 2, "frames kept coming: {seen:?}");
    let alives: Vec<u64> = seen[alive_at..]
        .iter()
        .map(|m| match m {
            Message::Alive { seq } => *seq,
            other => panic!("not only Alives while idle: {other:?}"),
        })
        .collect();
    // At 30 fps one Alive per frame would be ~45; paced, one per ALIVE_INTERVAL.
    assert!((3..=7).contains(&alives.len()), "{alives:?}");
    assert!(alives.windows(2).all(|w| w[1] > w[0] + 3), "{alives:?}");
    assert!(alives[0] > first);
    helper.commands().demand(true).unwrap();
    let again = loop {
        match helper.next(WAIT) {
            Message::Alive { .. } => continue,
            m => break frame_seq(&m).expect("a frame"),
        }
    };
    assert!(again > *alives.last().unwrap());
}

#[test]
fn closing_stdin_stops_the_helper_before_and_after_start() {
    let (mut helper, _) = Helper::spawn(&["run", "--synthetic"]);
    helper.commands = None; // the server closes the pipe before Start
    let (seen, end) = helper.until_end(WAIT);
    assert!(seen.is_empty() && end.is_closed(), "{seen:?} {end}");
    assert_eq!(helper.wait_exit(WAIT).code(), Some(0));

    let mut helper = started(160, 120, PixelFormat::Yuv420);
    helper.next(WAIT);
    helper.commands = None;
    let (_, end) = helper.until_end(WAIT);
    assert!(end.is_closed(), "{end}");
    assert_eq!(
        helper.wait_exit(WAIT).code(),
        Some(0),
        "{}",
        helper.stderr()
    );
}

#[test]
fn settings_the_helper_cannot_use_fail_with_kind_config() {
    let (mut helper, _) = Helper::spawn(&["run", "--synthetic"]);
    let mut bad = serde_json::to_value(settings(160, 120, PixelFormat::Nv12)).unwrap();
    bad["camera"]["fps"] = 1000.into();
    helper.commands().start(&bad).unwrap();
    match helper.next(WAIT) {
        Message::Failed(f) => {
            assert_eq!(f.kind, FailureKind::Config);
            assert!(f.message.contains("camera.fps"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(helper.wait_exit(WAIT).code(), Some(1));

    // Valid settings, but more than the synthetic camera draws: a configuration failure too.
    let (mut helper, _) = Helper::spawn(&["run", "--synthetic"]);
    helper
        .commands()
        .start(&settings(10_000, 120, PixelFormat::Nv12))
        .unwrap();
    match helper.next(WAIT) {
        Message::Failed(f) => assert_eq!(f.kind, FailureKind::Config, "{}", f.message),
        other => panic!("{other:?}"),
    }
    assert_eq!(helper.wait_exit(WAIT).code(), Some(1));
}

#[test]
fn rotation_90_turns_the_frame_and_the_overlay_stands_upright_on_it() {
    use common::overlay_ref::{luma, mean_diff, reference};
    use streamserver::config::{OverlayConfig, OverlayPosition, Rotation};
    let overlay = OverlayConfig {
        text: "LAB 7".into(),
        position: OverlayPosition::BottomRight,
        scale: 3,
        background: true,
        utc: true,
    };
    let mut s = settings(320, 240, PixelFormat::Yuv420);
    s.camera.rotation = Rotation::R90;
    s.overlay = overlay.clone();
    let pid = std::process::id().to_string();
    let (mut helper, _) = Helper::spawn(&["run", "--synthetic", "--parent-pid", &pid]);
    helper.commands().start(&s).unwrap();
    match helper.next(WAIT) {
        // Started says what the camera delivers; the turn comes after it.
        Message::Started(st) => assert_eq!((st.width, st.height), (320, 240)),
        other => panic!("expected Started, got {other:?}"),
    }
    let Message::Frame(f) = helper.next(WAIT) else {
        panic!("expected a frame")
    };
    assert_eq!(
        (f.info.width, f.info.height),
        (240, 320),
        "width and height swap"
    );
    let (w, h, got) = luma(&f.jpeg);
    assert_eq!((w, h), (240, 320));
    // The test pattern's bars run white (left) to black (right); turned clockwise, source row
    // 60 becomes column 240 - 1 - 60 and runs white at the top to black at the bottom.
    let at = |x: usize, y: usize| got[y * w + x];
    assert!(at(179, 5) > 200, "white at the top: {}", at(179, 5));
    assert!(at(179, 315) < 40, "black at the bottom: {}", at(179, 315));
    // The overlay: its box compared with a reference rendering of the same text at 240×320.
    let (rect, want) = reference(&overlay, w, h, f.info.captured_at());
    let diff = mean_diff(&got, &want, w, rect, 2);
    assert!(
        diff < 12.0,
        "overlay differs from the reference by {diff:.1} on average"
    );
    // Another text of the same length does not match: the comparison can fail.
    let other = OverlayConfig {
        text: "-----".into(),
        ..overlay
    };
    let (_, other) = reference(&other, w, h, f.info.captured_at());
    let wrong = mean_diff(&got, &other, w, rect, 2);
    assert!(wrong > 12.0, "another text matches too ({wrong:.1})");
    helper.commands().stop().unwrap();
    assert_eq!(
        helper.wait_exit(WAIT).code(),
        Some(0),
        "stderr: {}",
        helper.stderr()
    );
}
