//! Unit tests of the test pattern: rate, pool, faults, idle mode; and the whole server on it.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use super::*;
use crate::pipeline::demand::Demand;
use crate::pipeline::slot::LatestFrame;
use crate::pipeline::stats::StreamStats;

fn sink() -> FrameSink {
    FrameSink::new(
        LatestFrame::new(),
        Arc::new(StreamStats::new("t", "test")),
        Arc::new(Demand::new()),
    )
}

fn pattern(config: TestPatternConfig, encoder: EncoderConfig) -> TestPattern {
    TestPattern::new("t".into(), config, encoder, OverlayConfig::default(), 0).unwrap()
}

const NOT_IDLE: EncoderConfig = EncoderConfig {
    quality: crate::config::Quality(80),
    subsampling: crate::config::Subsampling::S420,
    workers: 0,
    idle: false,
    idle_after: Duration::from_secs(10),
};

#[test]
fn frames_go_through_the_pool_promptly_and_at_the_configured_rate() {
    let sink = sink();
    let stop = StopFlag::new();
    let config = TestPatternConfig {
        fps: 20,
        ..Default::default()
    };
    let mut source = pattern(config, NOT_IDLE);
    let runner = {
        let (sink, stop) = (sink.clone(), stop.clone());
        std::thread::spawn(move || source.run(&sink, &stop))
    };
    let t0 = Instant::now();
    let mut rx = sink.slot.subscribe();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_millis(500), rx.changed()).await })
        .expect("a first frame within 500 ms")
        .unwrap();
    let first = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    stop.raise();
    runner.join().unwrap().unwrap();
    let n = sink.stats.frames_captured.total();
    assert!((14..=24).contains(&n), "{n} frames in ~1 s at 20 fps");
    assert!(first < Duration::from_millis(500), "{first:?}");
    let latest = sink.slot.latest().unwrap();
    assert_eq!((latest.width, latest.height), (640, 480));
    assert_eq!(&latest.jpeg[..2], &[0xFF, 0xD8]);
}

#[test]
fn fault_injection_still_fails_and_stalls() {
    let stop = StopFlag::new();
    let config = TestPatternConfig {
        fps: 100,
        fail_after_frames: 5,
        ..Default::default()
    };
    let err = pattern(config, NOT_IDLE).run(&sink(), &stop).unwrap_err();
    assert!(matches!(err, SourceError::Injected(_)), "{err}");

    let config = TestPatternConfig {
        fps: 100,
        fail_starts: 1,
        ..Default::default()
    };
    let err = pattern(config, NOT_IDLE).run(&sink(), &stop).unwrap_err();
    assert!(matches!(err, SourceError::Injected(_)), "{err}");

    // A stall: no frames and no sign of life after 3 frames, until stopped.
    let sink = sink();
    let config = TestPatternConfig {
        fps: 100,
        stall_after_frames: 3,
        ..Default::default()
    };
    let mut source = pattern(config, NOT_IDLE);
    let runner = {
        let (sink, stop) = (sink.clone(), stop.clone());
        std::thread::spawn(move || source.run(&sink, &stop))
    };
    std::thread::sleep(Duration::from_millis(200));
    let progress = sink.stats.progress.load(Relaxed);
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(sink.stats.progress.load(Relaxed), progress, "stalled");
    assert!(sink.stats.frames_captured.total() <= 3);
    stop.raise();
    runner.join().unwrap().unwrap();
}

#[test]
fn the_tone_moves_the_pictures_mean_luma() {
    let mean = |p: &mut Pattern| {
        let f = p.draw(0, SystemTime::UNIX_EPOCH, PixelFormat::Yuv420);
        let y = &f.planes[0].data[..f.width * f.height];
        y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64
    };
    let mut p = Pattern::new("t", 64, 48, 30.0);
    let normal = mean(&mut p);
    p.set_tone(0.5, 1.0);
    let brighter = mean(&mut p);
    p.set_tone(-0.5, 1.0);
    let darker = mean(&mut p);
    assert!(
        brighter > normal + 20.0 && darker < normal - 20.0,
        "{darker} {normal} {brighter}"
    );
    p.set_tone(0.0, 1.0);
    assert_eq!(mean(&mut p), normal, "back to none");
}
