//! Unit tests of the encode pool: worker counts, drop-when-busy, copies, capture order, joins.
//! Idle mode is in [`idle`], the frame numbers an output sees in [`output`], memory an output
//! lends the workers in [`lend`].

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod idle;
mod lend;
mod output;

use super::*;
use crate::pipeline::demand::Demand;
use crate::pipeline::encoder::{EncodeError, PixelFormat, Plane};
use crate::pipeline::sink::FrameSink;
use crate::pipeline::slot::{Frame, LatestFrame};
use crate::pipeline::stats::StreamStats;

pub(super) fn sink() -> FrameSink {
    FrameSink::new(
        LatestFrame::new(),
        Arc::new(StreamStats::new("t", "test")),
        Arc::new(Demand::new()),
    )
}

/// `workers` workers, idle mode off, default JPEG settings.
pub(super) fn always_on(workers: usize) -> EncoderConfig {
    EncoderConfig {
        workers,
        idle: false,
        ..EncoderConfig::default()
    }
}

/// An RGB888 frame of pseudo-random noise: the costliest content to encode.
pub(super) fn noise(width: usize, height: usize, seed: u32) -> OwnedFrame {
    let mut x = seed.wrapping_mul(2_654_435_761) | 1;
    let data = (0..width * height * 3)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect();
    OwnedFrame {
        format: PixelFormat::Rgb888,
        width,
        height,
        planes: [data, Vec::new(), Vec::new()],
        strides: [width * 3, 0, 0],
    }
}

/// A capture time that encodes `n`, so a published picture says which offer it was.
pub(super) fn stamp(n: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(n)
}

pub(super) fn stamp_of(frame: &Frame) -> u64 {
    frame
        .captured_at
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits (bounded) until no worker holds a frame.
pub(super) fn wait_all_free(pool: &EncodePool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while pool.busy_workers() > 0 {
        assert!(Instant::now() < deadline, "workers still busy after 10 s");
        sleep(Duration::from_millis(1));
    }
}

pub(super) fn published(sink: &FrameSink) -> u64 {
    sink.stats.frames_captured.total()
}

pub(super) fn dropped(sink: &FrameSink) -> u64 {
    sink.stats.frames_dropped.load(Relaxed)
}

#[test]
fn worker_count_resolution() {
    assert_eq!(resolve_workers(0, 1), 1, "auto keeps at least one");
    assert_eq!(resolve_workers(0, 2), 1, "auto is cores - 1");
    assert_eq!(resolve_workers(0, 3), 2);
    assert_eq!(resolve_workers(0, 4), 3);
    assert_eq!(resolve_workers(0, 64), 3, "auto is at most 3");
    assert_eq!(resolve_workers(2, 1), 2, "an explicit count is kept");
    assert_eq!(resolve_workers(100, 4), MAX_ENCODE_WORKERS);
    let cores = std::thread::available_parallelism().unwrap().get();
    let pool = EncodePool::new("w", EncoderConfig::default(), sink()).unwrap();
    assert_eq!(pool.config().workers, resolve_workers(0, cores));

    let parse = |enc: &str| {
        let text = format!("[[stream]]\nid = \"a\"\nsource = \"test\"\n[stream.encoder]\n{enc}");
        crate::config::Config::parse(&text, std::path::Path::new("t.toml"))
    };
    let c = parse("workers = 2\nidle = false\nidle_after = \"250ms\"\n").unwrap();
    let want = EncoderConfig {
        workers: 2,
        idle: false,
        idle_after: Duration::from_millis(250),
        ..EncoderConfig::default()
    };
    assert_eq!(c.streams[0].encoder, want);
    let err = parse("workers = 9\n").unwrap_err().to_string();
    assert!(
        err.starts_with("t.toml:5: stream[0].encoder.workers"),
        "{err}"
    );
}

#[test]
fn a_busy_pool_drops_the_frame_instead_of_queueing_it() {
    let sink = sink();
    let mut pool = EncodePool::new("busy", always_on(1), sink.clone()).unwrap();
    let big = noise(1920, 1080, 1);
    let small = noise(64, 64, 2);
    assert_eq!(
        pool.offer(&big.raw(), stamp(1)).unwrap(),
        Offer::Accepted { capture_seq: 1 }
    );
    // The only worker is encoding a 1080p frame: the next one is dropped, not queued.
    assert_eq!(pool.offer(&small.raw(), stamp(2)).unwrap(), Offer::Busy);
    assert_eq!(dropped(&sink), 1);
    wait_all_free(&pool);
    assert_eq!(published(&sink), 1, "the dropped frame was never encoded");
    assert_eq!(stamp_of(&sink.slot.latest().unwrap()), 1);
    // Free again: the next frame is taken.
    assert_eq!(
        pool.offer(&small.raw(), stamp(3)).unwrap(),
        Offer::Accepted { capture_seq: 2 }
    );
}

#[test]
fn the_frame_is_copied_so_the_source_buffer_is_free_when_offer_returns() {
    // NV12 with padded strides, as a camera delivers it.
    let (w, h, stride) = (100, 60, 128);
    let mut y: Vec<u8> = (0..stride * h).map(|i| (i * 7 % 251) as u8).collect();
    let mut uv: Vec<u8> = (0..stride * h / 2).map(|i| (i * 13 % 241) as u8).collect();
    let frame = |y: &[u8], uv: &[u8]| -> Vec<u8> {
        let raw = RawFrame {
            format: PixelFormat::Nv12,
            width: w,
            height: h,
            planes: [
                Plane { data: y, stride },
                Plane { data: uv, stride },
                Plane {
                    data: &[],
                    stride: 0,
                },
            ],
        };
        Encoder::new(&EncoderConfig::default())
            .unwrap()
            .encode(&raw)
            .unwrap()
            .to_vec()
    };
    let want = frame(&y, &uv);
    let sink = sink();
    let mut pool = EncodePool::new("copy", always_on(1), sink.clone()).unwrap();
    let raw = RawFrame {
        format: PixelFormat::Nv12,
        width: w,
        height: h,
        planes: [
            Plane { data: &y, stride },
            Plane { data: &uv, stride },
            Plane {
                data: &[],
                stride: 0,
            },
        ],
    };
    assert!(matches!(
        pool.offer(&raw, stamp(1)).unwrap(),
        Offer::Accepted { .. }
    ));
    // The camera requeues its buffer and the next capture overwrites it at once.
    y.fill(0);
    uv.fill(0);
    wait_all_free(&pool);
    assert_eq!(&sink.slot.latest().unwrap().jpeg[..], &want[..]);
}

#[test]
fn a_malformed_frame_is_an_error_and_frees_the_worker() {
    let sink = sink();
    let mut pool = EncodePool::new("bad", always_on(1), sink.clone()).unwrap();
    let mut short = noise(64, 64, 3);
    short.planes[0].truncate(100);
    match pool.offer(&short.raw(), stamp(1)) {
        Err(EncodePoolError::Encode(EncodeError::ShortPlane { .. })) => {}
        other => panic!("expected a short-plane error, got {other:?}"),
    }
    assert_eq!(pool.busy_workers(), 0);
    let ok = noise(64, 64, 4);
    assert!(matches!(
        pool.offer(&ok.raw(), stamp(2)).unwrap(),
        Offer::Accepted { .. }
    ));
}

#[test]
fn an_older_frame_finishing_last_is_dropped_so_pictures_never_go_back() {
    let sink = sink();
    let mut pool = EncodePool::new("order", always_on(3), sink.clone()).unwrap();
    let big = noise(1920, 1080, 5);
    let small = noise(32, 32, 6);
    let rounds = 8;
    for round in 0..rounds {
        let (old, new) = (2 * round + 1, 2 * round + 2);
        // The big (slow) frame is captured first, the small (fast) one right after.
        assert!(matches!(
            pool.offer(&big.raw(), stamp(old)).unwrap(),
            Offer::Accepted { .. }
        ));
        assert!(matches!(
            pool.offer(&small.raw(), stamp(new)).unwrap(),
            Offer::Accepted { .. }
        ));
        wait_all_free(&pool);
        let latest = sink.slot.latest().unwrap();
        assert_eq!(
            stamp_of(&latest),
            new,
            "round {round}: the newer capture is shown"
        );
    }
    let (p, d) = (published(&sink), dropped(&sink));
    assert_eq!(
        p + d,
        2 * rounds,
        "every accepted frame is published or dropped"
    );
    assert!(
        d >= 1,
        "the slow frame was overtaken at least once ({d} drops)"
    );
}

#[test]
fn three_workers_with_mixed_costs_publish_in_capture_order() {
    let sink = sink();
    let mut pool = EncodePool::new("mixed", always_on(3), sink.clone()).unwrap();
    let frames = [noise(1280, 720, 7), noise(64, 48, 8), noise(320, 240, 9)];
    let mut rx = sink.slot.subscribe();
    let (done_tx, mut done_rx) = tokio::sync::oneshot::channel::<()>();
    let seen_so_far = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = seen_so_far.clone();
    // Sees (nearly) every publish without spinning: awaits the slot like a stream client.
    let observer = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        rt.block_on(async move {
            let mut seen = Vec::new();
            loop {
                tokio::select! {
                    res = rx.changed() => {
                        res.unwrap();
                        seen.push(stamp_of(rx.borrow_and_update().as_ref().unwrap()));
                        counter.store(seen.len(), Relaxed);
                    }
                    _ = &mut done_rx => return seen,
                }
            }
        })
    });
    let (mut accepted, mut busy) = (0u64, 0u64);
    // 300 offers; more on a slow machine (e.g. under qemu-user, where the observer sees fewer
    // publishes of them) until 10 publishes were seen — bounded in count and time.
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut n = 0u64;
    while n < 300 || (seen_so_far.load(Relaxed) < 10 && n < 5_000 && Instant::now() < deadline) {
        n += 1;
        match pool.offer(&frames[n as usize % 3].raw(), stamp(n)).unwrap() {
            Offer::Accepted { .. } => accepted += 1,
            Offer::Busy => busy += 1,
            Offer::Idle => panic!("idle mode is off"),
        }
        sleep(Duration::from_micros(300));
    }
    wait_all_free(&pool);
    done_tx.send(()).unwrap();
    let seen = observer.join().unwrap();
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "published pictures went back in time: {seen:?}"
    );
    let stale = dropped(&sink) - busy;
    assert_eq!(published(&sink) + stale, accepted);
    assert!(seen.len() >= 10, "only {} publishes seen", seen.len());
}

#[test]
fn dropping_the_pool_joins_its_named_workers() {
    let sink = sink();
    let mut pool = EncodePool::new("joins", always_on(3), sink.clone()).unwrap();
    let names = || -> Vec<String> {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .map(|n| n.trim().to_string())
            .filter(|n| n.starts_with("encode-joins-"))
            .collect()
    };
    // A thread names itself once it runs: wait (bounded) for all three.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut running = names();
    while running.len() < 3 && Instant::now() < deadline {
        sleep(Duration::from_millis(2));
        running = names();
    }
    running.sort();
    assert_eq!(
        running,
        ["encode-joins-0", "encode-joins-1", "encode-joins-2"]
    );
    let big = noise(1920, 1080, 12);
    pool.offer(&big.raw(), stamp(1)).unwrap(); // one worker is mid-encode when we drop
    let shared = Arc::downgrade(&pool.shared);
    let t = Instant::now();
    drop(pool);
    assert!(t.elapsed() < JOIN_WAIT, "drop took {:?}", t.elapsed());
    assert!(shared.upgrade().is_none(), "a worker still holds the pool");
    assert!(names().is_empty(), "worker threads left: {:?}", names());
}
