//! Unit tests of a stream client's body: the part format, frame skipping, pacing, idle resend.

use super::*;
use crate::mjpeg::format::BOUNDARY;
use crate::pipeline::slot::{LatestFrame, NewFrame};
use http_body_util::BodyExt;
use std::time::SystemTime;
use tokio::sync::Semaphore;

fn body(slot: &LatestFrame, fps: Option<u32>, stats: Arc<StreamStats>) -> MjpegBody {
    let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();
    MjpegBody::new(
        slot,
        fps.map(|f| Duration::from_secs_f64(1.0 / f as f64)),
        Duration::from_secs(1),
        std::future::pending(),
        ClientSlot::new(stats, permit),
        None,
        tracing::Span::none(),
    )
}

fn publish(slot: &LatestFrame, byte: u8) {
    slot.publish(NewFrame {
        jpeg: Bytes::from(vec![byte; 10]),
        captured_at: SystemTime::now(),
        width: 1,
        height: 1,
        kind: FrameKind::Live,
    });
}

/// A slot and a body that has sent the slot's first frame (byte 1).
async fn after_first_part(fps: Option<u32>) -> (LatestFrame, MjpegBody) {
    let slot = LatestFrame::new();
    let mut b = body(&slot, fps, Arc::new(StreamStats::new("t", "test")));
    publish(&slot, 1);
    next_part(&mut b).await;
    (slot, b)
}

async fn next_part(b: &mut MjpegBody) -> Vec<u8> {
    let mut data = b.frame().await.unwrap().unwrap().into_data().unwrap();
    data.copy_to_bytes(data.remaining()).to_vec()
}

#[tokio::test(start_paused = true)]
async fn parts_have_length_timestamp_and_trailing_boundary_and_skip_old_frames() {
    let slot = LatestFrame::new();
    let stats = Arc::new(StreamStats::new("t", "test"));
    let mut b = body(&slot, None, stats.clone());
    publish(&slot, 1);
    let first = String::from_utf8_lossy(&next_part(&mut b).await).to_string();
    assert!(first.starts_with(&format!(
        "--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: 10\r\nX-Timestamp: "
    )));
    assert!(first.ends_with(&format!("\r\n--{BOUNDARY}\r\n")));
    assert_eq!(stats.clients.load(Relaxed), 1);
    for n in 2..=5 {
        publish(&slot, n);
    }
    let second = next_part(&mut b).await;
    assert!(
        second.starts_with(PART_PREFIX),
        "only the first part opens with a boundary; the others with the common prefix"
    );
    assert!(
        second.windows(10).any(|w| w == [5u8; 10]),
        "the newest frame is sent"
    );
    assert_eq!(stats.frames_skipped.load(Relaxed), 3);
    drop(b);
    assert_eq!(stats.clients.load(Relaxed), 0);
}

#[tokio::test(start_paused = true)]
async fn idle_stream_resends_the_newest_frame_about_once_a_second() {
    let slot = LatestFrame::new();
    let mut b = body(&slot, None, Arc::new(StreamStats::new("t", "test")));
    publish(&slot, 7);
    next_part(&mut b).await;
    let t0 = Instant::now();
    let again = next_part(&mut b).await;
    assert!(again.windows(10).any(|w| w == [7u8; 10]));
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(999) && waited < Duration::from_millis(1100),
        "{waited:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn end_of_stream_marker_ends_running_and_new_bodies() {
    let slot = LatestFrame::new();
    let stats = Arc::new(StreamStats::new("t", "test"));
    let mut b = body(&slot, None, stats.clone());
    publish(&slot, 1);
    next_part(&mut b).await;
    slot.publish(NewFrame {
        jpeg: Bytes::from_static(b"placeholder"),
        captured_at: SystemTime::now(),
        width: 1,
        height: 1,
        kind: FrameKind::EndOfStream,
    });
    assert!(b.frame().await.is_none(), "a running body ends");
    let mut late = body(&slot, None, stats.clone());
    assert!(late.frame().await.is_none(), "a new body ends at once");
    publish(&slot, 2);
    let mut fresh = body(&slot, None, stats);
    let part = next_part(&mut fresh).await;
    assert!(part.windows(10).any(|w| w == [2u8; 10]), "live again");
}

#[tokio::test(start_paused = true)]
async fn fps_limit_spaces_parts() {
    let (slot, mut b) = after_first_part(Some(5)).await;
    let t0 = Instant::now();
    publish(&slot, 2);
    next_part(&mut b).await;
    assert!(
        t0.elapsed() >= Duration::from_millis(179),
        "{:?}",
        t0.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn a_body_ends_when_its_slot_goes_away() {
    let (slot, mut b) = after_first_part(None).await;
    let waiting = tokio::spawn(async move { b.frame().await.is_none() });
    tokio::task::yield_now().await;
    drop(slot);
    let ended = tokio::time::timeout(Duration::from_millis(500), waiting)
        .await
        .expect("the body ends at once, without waiting for its idle resend")
        .unwrap();
    assert!(ended, "the body ends (None), it sends nothing more");
}

/// Counts its wakes (the task's waker of a hand-polled body).
struct CountWakes(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Relaxed);
    }
}

#[tokio::test(start_paused = true)]
async fn a_body_held_back_by_its_fps_cap_is_not_woken_by_the_frames_it_skips() {
    let (slot, mut b) = after_first_part(Some(2)).await;
    publish(&slot, 2);
    let wakes = Arc::new(CountWakes(Default::default()));
    let waker = std::task::Waker::from(wakes.clone());
    let mut cx = Context::from_waker(&waker);
    assert!(
        Pin::new(&mut b).poll_frame(&mut cx).is_pending(),
        "2 fps: the next part waits ~450 ms"
    );
    for n in 3..=9 {
        publish(&slot, n);
    }
    assert_eq!(
        wakes.0.load(Relaxed),
        0,
        "frames published while the cap holds the body back do not wake it"
    );
    let part = next_part(&mut b).await;
    assert!(
        part.windows(10).any(|w| w == [9u8; 10]),
        "when the cap allows, the newest frame goes"
    );
    publish(&slot, 10);
    assert!(Pin::new(&mut b).poll_frame(&mut cx).is_pending());
    tokio::time::advance(Duration::from_millis(500)).await;
    assert!(
        wakes.0.load(Relaxed) >= 1,
        "its pacing timer wakes it for the frame it held back"
    );
}
