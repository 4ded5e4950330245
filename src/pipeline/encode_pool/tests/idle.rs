//! Idle mode: pausing while nobody wants frames, resuming for a snapshot or a client, and the
//! wake-up latency with a test-pattern-like capture thread.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime};

use super::{noise, published, sink, stamp, wait_all_free};
use crate::config::EncoderConfig;
use crate::pipeline::canvas::{Canvas, Yuv};
use crate::pipeline::encode_pool::{EncodePool, Offer};
use crate::pipeline::encoder::Encoder;
use crate::pipeline::encoder::PixelFormat;
use crate::pipeline::sink::FrameSink;

#[test]
fn idle_mode_pauses_encoding_until_a_snapshot_or_client_asks() {
    let sink = sink();
    let window = Duration::from_millis(100);
    let config = EncoderConfig {
        workers: 1,
        idle: true,
        idle_after: window,
        ..EncoderConfig::default()
    };
    let mut pool = EncodePool::new("idle", config, sink.clone()).unwrap();
    let frame = noise(64, 48, 10);
    let mut offer = |n| {
        let res = pool.offer(&frame.raw(), stamp(n)).unwrap();
        wait_all_free(&pool); // the one worker has published (or there was nothing to encode)
        res
    };
    // A fresh pool encodes during its first window, so a (re)started source shows a picture.
    assert!(matches!(offer(1), Offer::Accepted { .. }));
    sleep(window + Duration::from_millis(20));
    let progress = sink.stats.progress.load(Relaxed);
    assert_eq!(offer(2), Offer::Idle);
    assert!(sink.stats.idle.load(Relaxed));
    assert!(
        sink.stats.progress.load(Relaxed) > progress,
        "idle offers are signs of life for the stall detection"
    );
    assert_eq!(published(&sink), 1);

    sink.demand.note(); // a snapshot asks
    assert!(matches!(offer(3), Offer::Accepted { .. }));
    assert!(!sink.stats.idle.load(Relaxed));
    sleep(window + Duration::from_millis(20));
    assert_eq!(offer(4), Offer::Idle, "the snapshot's demand has expired");

    let client = sink.slot.subscribe(); // a stream client watches
    sleep(window + Duration::from_millis(20));
    assert!(matches!(offer(5), Offer::Accepted { .. }));
    drop(client);
    sleep(window + Duration::from_millis(20));
    assert_eq!(offer(6), Offer::Idle);
    assert_eq!(published(&sink), 3);
}

#[test]
fn with_idle_mode_off_frames_are_encoded_without_demand() {
    let sink = sink();
    let config = EncoderConfig {
        workers: 1,
        idle: false,
        idle_after: Duration::from_millis(10),
        ..EncoderConfig::default()
    };
    let mut pool = EncodePool::new("busy", config, sink.clone()).unwrap();
    sleep(Duration::from_millis(30));
    assert!(!sink.in_demand(Duration::from_millis(10)));
    let frame = noise(64, 48, 11);
    assert!(matches!(
        pool.offer(&frame.raw(), stamp(1)).unwrap(),
        Offer::Accepted { .. }
    ));
    wait_all_free(&pool);
    assert_eq!(published(&sink), 1);
    assert!(!sink.stats.idle.load(Relaxed));
}

/// A test-pattern-like capture thread: draws 640×480 YUV420 frames at `fps` and offers them.
fn fake_capture(sink: FrameSink, config: EncoderConfig, fps: u32, stop: Arc<AtomicBool>) {
    let mut pool = EncodePool::new("fake", config, sink).unwrap();
    let mut canvas = Canvas::new(640, 480);
    let interval = Duration::from_secs(1) / fps;
    for n in 0..10_000usize {
        canvas.fill_rect(n % 600, 100, 40, 40, Yuv::WHITE);
        pool.offer(&canvas.raw_frame(PixelFormat::Yuv420), SystemTime::now())
            .unwrap();
        if stop.load(Relaxed) {
            break;
        }
        sleep(interval);
    }
}

#[test]
fn after_idle_the_first_client_gets_a_frame_within_one_interval_plus_encode_time() {
    let sink = sink();
    let fps = 30;
    let config = EncoderConfig {
        workers: 1,
        idle: true,
        idle_after: Duration::from_millis(100),
        ..EncoderConfig::default()
    };
    let stop = Arc::new(AtomicBool::new(false));
    let capture = {
        let (sink, stop) = (sink.clone(), stop.clone());
        std::thread::spawn(move || fake_capture(sink, config, fps, stop))
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !sink.stats.idle.load(Relaxed) {
        assert!(Instant::now() < deadline, "never went idle");
        sleep(Duration::from_millis(5));
    }
    let before = sink.slot.latest().expect("a first frame before idle").seq;
    let mut canvas = Canvas::new(640, 480);
    let encode = {
        let mut enc = Encoder::new(&EncoderConfig::default()).unwrap();
        let t = Instant::now();
        enc.encode(&canvas.raw_frame(PixelFormat::Yuv420)).unwrap();
        t.elapsed()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let (latency, seq) = rt.block_on(async {
        let mut rx = sink.slot.subscribe(); // the client arrives
        let t0 = Instant::now();
        tokio::time::timeout(Duration::from_secs(2), rx.changed())
            .await
            .expect("no frame within 2 s")
            .unwrap();
        let seq = rx.borrow().as_ref().unwrap().seq;
        (t0.elapsed(), seq)
    });
    stop.store(true, Relaxed);
    capture.join().unwrap();
    assert!(seq > before);
    // Slack for a loaded 2-core machine; a polled or windowed wake-up would be far slower.
    let bound = Duration::from_secs(1) / fps + encode + Duration::from_millis(60);
    assert!(
        latency <= bound,
        "first frame after {latency:?} (bound {bound:?}, encode {encode:?})"
    );
}
