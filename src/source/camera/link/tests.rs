use std::sync::Arc;
use std::time::Duration;

use super::serve::Serving;
use super::*;
use crate::config::{CameraConfig, StreamConfig};
use crate::source::camera::protocol::requests::RejectReason;
use crate::source::camera::protocol::{
    Command, CommandReader, CommandWriter, HelperSettings, Message,
};

fn link(still_timeout: Duration) -> Arc<CameraLink> {
    let config = CameraConfig {
        still_timeout,
        ..CameraConfig::default()
    };
    Arc::new(CameraLink::new("cam", &config))
}

/// A command writer past its Start (requests may follow).
fn writer() -> CommandWriter<Vec<u8>> {
    let stream = StreamConfig::test_pattern();
    let settings = HelperSettings {
        stream: "cam".into(),
        camera: CameraConfig::default(),
        encoder: stream.encoder,
        overlay: stream.overlay,
        controls: Default::default(),
        max_frame_bytes: 1 << 20,
        shared_frames: None,
    };
    let mut w = CommandWriter::new(Vec::new());
    w.start(&settings).unwrap();
    w
}

/// The requests written after the Start.
fn requests(w: &CommandWriter<Vec<u8>>) -> Vec<Command> {
    let mut r = CommandReader::new(w.get_ref().as_slice());
    let mut out = Vec::new();
    while let Ok(c) = r.read_command() {
        if !matches!(c, Command::Start { .. }) {
            out.push(c);
        }
    }
    out
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
}

/// Lets the spawned handlers run for `ms`.
fn settle(rt: &tokio::runtime::Runtime, ms: u64) {
    rt.block_on(async { tokio::time::sleep(Duration::from_millis(ms)).await });
}

#[test]
fn statuses_say_whose_fault_it_is() {
    let r = Rejection::new("AfMode", RejectReason::Unsupported, "no autofocus");
    assert_eq!(LinkError::Rejected(r).http_status(), 400);
    assert_eq!(LinkError::Unavailable("x".into()).http_status(), 503);
    assert_eq!(
        LinkError::Timeout(Duration::from_secs(1)).http_status(),
        504
    );
}

#[test]
fn no_helper_and_paused_are_unavailable_at_once() {
    let l = link(Duration::from_secs(5));
    let e = rt().block_on(l.still()).unwrap_err();
    assert!(
        matches!(&e, LinkError::Unavailable(m) if m.contains("not running")),
        "{e}"
    );
    let serving = Serving::new(&l);
    serving.started();
    assert!(l.pause());
    assert!(!l.pause(), "already paused");
    let e = rt().block_on(l.list_controls()).unwrap_err();
    assert!(
        matches!(&e, LinkError::Unavailable(m) if m.contains("paused")),
        "{e}"
    );
    assert!(l.resume() && !l.is_paused());
}

#[test]
fn ten_concurrent_stills_cost_one_capture_and_share_the_picture() {
    let l = link(Duration::from_secs(5));
    let rt = rt();
    let asks: Vec<_> = (0..10)
        .map(|_| {
            let l = l.clone();
            rt.spawn(async move { l.still().await })
        })
        .collect();
    let mut w = writer();
    {
        let mut serving = Serving::new(&l);
        serving.started();
        // Let every handler queue its request.
        settle(&rt, 50);
        serving.poll(&mut w).unwrap();
        let sent = requests(&w);
        assert_eq!(sent, [Command::Still { id: 1 }], "one capture for ten");
        let jpeg = bytes::Bytes::from_static(b"\xff\xd8picture");
        let answer = Message::StillResult {
            id: 1,
            width: 4,
            height: 3,
            jpeg: jpeg.clone(),
        };
        assert!(serving.answer(answer).is_none());
        for a in asks {
            let still = rt.block_on(a).unwrap().unwrap();
            assert_eq!((still.width, still.height, &still.jpeg), (4, 3, &jpeg));
        }
    }
}

#[test]
fn controls_answers_rejections_and_applied_values_recorded_without_actions() {
    let l = link(Duration::from_secs(5));
    let rt = rt();
    let mut w = writer();
    let mut serving = Serving::new(&l);
    serving.started();
    let set = {
        let l = l.clone();
        rt.spawn(async move {
            l.set_controls(r#"{"AfMode":"auto","AfTrigger":"start"}"#.into())
                .await
        })
    };
    let bad = {
        let l = l.clone();
        rt.spawn(async move { l.set_controls(r#"{"AfMode":"auto"}"#.into()).await })
    };
    settle(&rt, 50);
    serving.poll(&mut w).unwrap();
    let ids: Vec<u32> = requests(&w)
        .iter()
        .map(|c| match c {
            Command::SetControls { id, .. } => *id,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(ids.len(), 2);
    let applied = r#"{"applied":{"AfMode":"auto","AfTrigger":"start"}}"#;
    let rejected = r#"{"rejected":{"control":"AfMode","reason":"unsupported","message":"no"}}"#;
    for (id, json) in ids.iter().zip([applied, rejected]) {
        let m = Message::ControlsReply {
            id: *id,
            json: json.into(),
        };
        assert!(serving.answer(m).is_none());
    }
    let v = rt.block_on(set).unwrap().unwrap();
    assert_eq!(v.0.len(), 2);
    let e = rt.block_on(bad).unwrap().unwrap_err();
    assert!(
        matches!(&e, LinkError::Rejected(r) if r.control == "AfMode"),
        "{e}"
    );
    let kept: Vec<String> = l.applied().0.keys().cloned().collect();
    assert_eq!(kept, ["AfMode"], "AfTrigger is an action: not re-applied");
}

#[test]
fn a_helper_that_never_answers_is_a_timeout_and_is_forgotten() {
    let l = link(Duration::from_millis(100));
    let rt = rt();
    let mut w = writer();
    let mut serving = Serving::new(&l);
    serving.started();
    let still = {
        let l = l.clone();
        rt.spawn(async move { l.still().await })
    };
    settle(&rt, 20);
    serving.poll(&mut w).unwrap();
    let e = rt.block_on(still).unwrap().unwrap_err();
    assert!(matches!(e, LinkError::Timeout(_)), "{e}");
    // The next still is a new capture: the first one's waiter is gone.
    let again = {
        let l = l.clone();
        rt.spawn(async move { l.still().await })
    };
    settle(&rt, 20);
    serving.poll(&mut w).unwrap();
    assert_eq!(requests(&w).len(), 2);
    drop(serving);
    let e = rt.block_on(again).unwrap().unwrap_err();
    assert!(
        matches!(&e, LinkError::Unavailable(m) if m.contains("stopped")),
        "{e}"
    );
}

#[test]
fn silence_is_allowed_while_a_still_is_asked_for() {
    let l = link(Duration::from_secs(3));
    let rt = rt();
    let mut w = writer();
    let mut serving = Serving::new(&l);
    serving.started();
    assert_eq!(serving.silence_allowance(), Duration::ZERO);
    let still = {
        let l = l.clone();
        rt.spawn(async move { l.still().await })
    };
    settle(&rt, 20);
    serving.poll(&mut w).unwrap();
    assert_eq!(serving.silence_allowance(), Duration::from_secs(3));
    let answer = Message::StillResult {
        id: 1,
        width: 1,
        height: 1,
        jpeg: bytes::Bytes::from_static(b"\xff\xd8"),
    };
    assert!(serving.answer(answer).is_none());
    assert!(rt.block_on(still).unwrap().is_ok());
    assert_eq!(serving.silence_allowance(), Duration::ZERO);
}
