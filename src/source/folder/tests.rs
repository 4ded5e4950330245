//! Unit tests of the folder source on real directories: config keys, start-up, validation,
//! coalescing, staleness. (Whole-server tests are in `tests/source_folder.rs`.)

use super::*;
use crate::config::{EncoderConfig, OnStale};
use crate::pipeline::canvas::{Canvas, Yuv};
use crate::pipeline::encoder::{Encoder, PixelFormat};
use crate::pipeline::slot::{Frame, FrameKind, LatestFrame};
use crate::pipeline::stats::StreamStats;
use std::io::Write;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

fn jpeg(w: usize, h: usize, label: &str) -> Vec<u8> {
    let mut canvas = Canvas::new(w, h);
    canvas.draw_text(2, 2, 1, label, Yuv::WHITE);
    let mut enc = Encoder::new(&EncoderConfig::default()).unwrap();
    enc.encode(&canvas.raw_frame(PixelFormat::Yuv420))
        .unwrap()
        .to_vec()
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("folder-src-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn config(dir: &Path) -> FolderConfig {
    FolderConfig {
        path: dir.to_owned(),
        ..Default::default()
    }
}

struct Running {
    sink: FrameSink,
    stop: StopFlag,
    thread: Option<std::thread::JoinHandle<Result<(), SourceError>>>,
}

impl Running {
    fn start(config: FolderConfig) -> Self {
        let sink = FrameSink::new(
            LatestFrame::new(),
            Arc::new(StreamStats::new("f", "folder")),
            Arc::new(crate::pipeline::demand::Demand::new()),
        );
        let stop = StopFlag::new();
        let mut source = FolderSource::new("f".into(), config).unwrap();
        let (s, st) = (sink.clone(), stop.clone());
        let thread = std::thread::spawn(move || source.run(&s, &st));
        // Watching starts with the first sign of life (after the start-up scan).
        let deadline = Instant::now() + Duration::from_secs(5);
        while sink.stats.progress.load(Relaxed) == 0 {
            assert!(Instant::now() < deadline, "the source did not start");
            std::thread::sleep(Duration::from_millis(2));
        }
        Self {
            sink,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits (bounded) for a frame matching `pred`.
    fn wait_for(&self, what: &str, pred: impl Fn(&Frame) -> bool) -> Arc<Frame> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(f) = self.sink.slot.latest().filter(|f| pred(f)) {
                return f;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn stop(mut self) -> Result<(), SourceError> {
        self.stop.raise();
        self.thread.take().unwrap().join().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.raise();
    }
}

#[test]
fn a_path_that_is_a_file_fails_for_good_and_a_missing_one_is_created() {
    let dir = temp_dir("isfile");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("frames");
    std::fs::write(&file, b"x").unwrap();
    let err = preflight(&config(&file)).unwrap_err();
    assert!(matches!(err, FolderError::NotADirectory { .. }));
    assert!(!SourceError::from(err).is_retryable());
    let missing = dir.join("a/b");
    preflight(&config(&missing)).unwrap();
    assert!(missing.is_dir());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn serves_the_newest_existing_file_then_new_ones_and_skips_bad_ones() {
    let dir = temp_dir("newest");
    std::fs::create_dir_all(&dir).unwrap();
    let old = jpeg(32, 16, "old");
    let newest = jpeg(48, 32, "newest");
    std::fs::write(dir.join("1.jpg"), &old).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(dir.join("1.jpg"))
        .unwrap();
    f.set_modified(SystemTime::now() - Duration::from_secs(60))
        .unwrap();
    std::fs::write(dir.join("2.JPEG"), &newest).unwrap();
    std::fs::write(dir.join("3.png"), b"ignored").unwrap();
    let run = Running::start(config(&dir));
    let first = run.wait_for("the newest file", |f| f.width == 48);
    assert_eq!(&first.jpeg[..], &newest[..]);
    assert_eq!(first.kind, FrameKind::Live);

    // Corrupt, truncated and empty files are skipped; the previous frame stays on air.
    std::fs::write(dir.join("bad.jpg"), b"\xFF\xD8garbage\xFF\xD9").unwrap();
    std::fs::write(dir.join("short.jpg"), &newest[..newest.len() / 2]).unwrap();
    std::fs::write(dir.join("empty.jpg"), b"").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while run.sink.stats.frames_dropped.load(Relaxed) < 3 {
        assert!(
            Instant::now() < deadline,
            "bad files were not all seen: {}",
            run.sink.stats.frames_dropped.load(Relaxed)
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(run.sink.slot.latest().unwrap().seq, first.seq);

    let next = jpeg(64, 48, "next");
    std::fs::write(dir.join("next.jpg"), &next).unwrap();
    let got = run.wait_for("the next file", |f| f.width == 64);
    assert_eq!(&got.jpeg[..], &next[..]);
    run.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_slow_chunked_write_is_published_only_once_complete() {
    let dir = temp_dir("slow");
    std::fs::create_dir_all(&dir).unwrap();
    let run = Running::start(config(&dir));
    let data = jpeg(320, 240, "slow");
    let mut f = std::fs::File::create(dir.join("slow.jpg")).unwrap();
    for chunk in data.chunks(data.len() / 8 + 1) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(run.sink.slot.latest().is_none(), "nothing before close");
    }
    drop(f);
    let got = run.wait_for("the complete file", |_| true);
    assert_eq!(&got.jpeg[..], &data[..]);
    assert_eq!(run.sink.stats.frames_dropped.load(Relaxed), 0);
    run.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn oversized_files_are_skipped_and_full_decode_catches_corrupt_data() {
    let dir = temp_dir("limits");
    std::fs::create_dir_all(&dir).unwrap();
    let good = jpeg(64, 48, "ok");
    let run = Running::start(FolderConfig {
        max_file_bytes: good.len(),
        full_decode: true,
        ..config(&dir)
    });
    std::fs::write(dir.join("a.jpg"), &good).unwrap();
    let first = run.wait_for("the good file", |_| true);
    let mut big = jpeg(640, 480, "big");
    big.resize(good.len() + 100, 0);
    std::fs::write(dir.join("big.jpg"), &big).unwrap();
    let mut corrupt = good.clone();
    let sos = corrupt.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let end = corrupt.len() - 2;
    corrupt[sos + 14..end].fill(0xFF);
    std::fs::write(dir.join("corrupt.jpg"), &corrupt).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while run.sink.stats.frames_dropped.load(Relaxed) < 2 {
        assert!(Instant::now() < deadline, "bad files were not both seen");
        std::thread::sleep(Duration::from_millis(5));
    }
    assert_eq!(run.sink.slot.latest().unwrap().seq, first.seq);
    run.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stale_placeholder_appears_and_a_new_file_replaces_it() {
    let dir = temp_dir("stale");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("a.jpg"), jpeg(160, 120, "a")).unwrap();
    let run = Running::start(FolderConfig {
        stale_after: Duration::from_millis(300),
        on_stale: OnStale::Placeholder,
        ..config(&dir)
    });
    run.wait_for("the first file", |f| f.kind == FrameKind::Live);
    let ph = run.wait_for("the placeholder", |f| f.kind == FrameKind::Placeholder);
    assert_eq!(
        (ph.width, ph.height),
        (160, 120),
        "placeholder keeps the stream size"
    );
    std::fs::write(dir.join("b.jpg"), jpeg(160, 120, "b")).unwrap();
    run.wait_for("live again", |f| {
        f.kind == FrameKind::Live && f.seq > ph.seq
    });
    run.stop().unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn removing_the_directory_is_a_retryable_failure() {
    let dir = temp_dir("gone");
    std::fs::create_dir_all(&dir).unwrap();
    let mut run = Running::start(config(&dir));
    std::thread::sleep(Duration::from_millis(100));
    std::fs::remove_dir_all(&dir).unwrap();
    let thread = run.thread.take().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !thread.is_finished() {
        assert!(Instant::now() < deadline, "the source did not notice");
        std::thread::sleep(Duration::from_millis(5));
    }
    let res = thread.join().unwrap();
    let err = res.unwrap_err();
    assert!(
        matches!(err, SourceError::Folder(FolderError::DirectoryGone { .. })),
        "{err}"
    );
    assert!(err.is_retryable());
}
