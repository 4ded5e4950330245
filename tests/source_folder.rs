//! The folder source end to end: the real server on 127.0.0.1:0, real files in a temporary
//! directory, real MJPEG clients over TCP.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, SystemTime};

use common::sources::{jpeg, start_stream as start, stop_stream as stop, wait_until, MjpegClient};
use streamserver::config::FolderConfig;
use streamserver::config::OnStale;
use streamserver::config::SourceConfig;
use streamserver::config::StreamConfig;
use streamserver::source::jpeg_check::{self, JpegLimits};

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("it-folder-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn stream(folder: FolderConfig) -> StreamConfig {
    let mut s = StreamConfig::test_pattern();
    s.id = streamserver::config::StreamId("f".into());
    s.source = SourceConfig::Folder(folder);
    s
}

fn folder(dir: &Path) -> FolderConfig {
    FolderConfig {
        path: dir.to_owned(),
        ..Default::default()
    }
}

/// Writes `data` in `chunks` pieces with pauses, then renames it to `name` (or writes in place
/// when `tmp` is None).
fn slow_write(dir: &Path, name: &str, tmp: Option<&str>, data: &[u8], chunks: usize) {
    let target = dir.join(tmp.unwrap_or(name));
    let mut f = std::fs::File::create(&target).unwrap();
    for chunk in data.chunks(data.len().div_ceil(chunks)) {
        f.write_all(chunk).unwrap();
        f.flush().unwrap();
        std::thread::sleep(Duration::from_millis(15));
    }
    drop(f);
    if tmp.is_some() {
        std::fs::rename(&target, dir.join(name)).unwrap();
    }
}

const FULL: JpegLimits = JpegLimits {
    max_bytes: 1 << 24,
    full_decode: true,
    max_pixels: streamserver::source::jpeg_check::DEFAULT_MAX_PIXELS,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partial_writes_never_reach_a_client() {
    let dir = temp_dir("partial");
    let running = start(stream(folder(&dir))).await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let files: Vec<Vec<u8>> = (0..4)
        .map(|i| jpeg(320, 240, &format!("file {i}")))
        .collect();
    let (d, f) = (dir.clone(), files.clone());
    let writer = std::thread::spawn(move || {
        for (i, data) in f.iter().enumerate() {
            // Even files: written under a temporary name then renamed; odd: written in place.
            let tmp = (i % 2 == 0).then_some("incoming.tmp");
            slow_write(&d, &format!("{i}.jpg"), tmp, data, 6);
        }
    });
    let mut seen = Vec::new();
    while seen.last() != Some(&files[3]) {
        let part = client.next_within(Duration::from_secs(5)).await.unwrap();
        jpeg_check::check(&part.jpeg, FULL).expect("every part is a complete JPEG");
        assert!(
            files.contains(&part.jpeg),
            "only whole written files are sent"
        );
        if seen.last() != Some(&part.jpeg) {
            seen.push(part.jpeg);
        }
    }
    writer.join().unwrap();
    assert_eq!(
        running.state.streams[0].stats.frames_dropped.load(Relaxed),
        0
    );
    stop(running).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn corrupt_files_are_skipped_and_the_previous_frame_stays_on_air() {
    let dir = temp_dir("corrupt");
    let good = jpeg(160, 120, "good");
    std::fs::write(dir.join("a.jpg"), &good).unwrap();
    let running = start(stream(FolderConfig {
        full_decode: true,
        ..folder(&dir)
    }))
    .await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let first = client.next_within(Duration::from_secs(5)).await.unwrap();
    assert_eq!(first.jpeg, good, "the existing file is served on start");
    let mut corrupt = good.clone();
    let sos = corrupt.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let end = corrupt.len() - 2;
    corrupt[sos + 14..end].fill(0x55);
    std::fs::write(dir.join("b.jpg"), &corrupt).unwrap();
    std::fs::write(dir.join("c.jpg"), b"not a jpeg at all").unwrap();
    std::fs::write(dir.join("d.jpg"), &good[..good.len() - 10]).unwrap();
    let stats = running.state.streams[0].stats.clone();
    wait_until(Duration::from_secs(5), "three drops", || {
        stats.frames_dropped.load(Relaxed) >= 3
    })
    .await;
    // The idle re-send (about once a second) still carries the good frame.
    let again = client.next_within(Duration::from_secs(3)).await.unwrap();
    assert_eq!(again.jpeg, good);
    assert_eq!(again.seq, first.seq);
    stop(running).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleanup_deletes_old_frames_but_never_the_one_on_air_or_other_files() {
    let dir = temp_dir("cleanup");
    let hour_ago = SystemTime::now() - Duration::from_secs(3600);
    for (name, age) in [("1.jpg", 30), ("2.jpg", 20), ("3.jpg", 10)] {
        let path = dir.join(name);
        std::fs::write(&path, jpeg(64, 48, name)).unwrap();
        let f = std::fs::File::options().write(true).open(&path).unwrap();
        f.set_modified(hour_ago - Duration::from_secs(age)).unwrap();
    }
    std::fs::write(dir.join("notes.txt"), b"keep me").unwrap();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("sub/old.jpg"), b"x").unwrap();
    let running = start(stream(FolderConfig {
        max_frame_age: Some(Duration::from_millis(500)),
        ..folder(&dir)
    }))
    .await;
    let d = dir.clone();
    wait_until(Duration::from_secs(5), "old frames deleted", || {
        !d.join("1.jpg").exists() && !d.join("2.jpg").exists()
    })
    .await;
    assert!(dir.join("3.jpg").exists(), "the file on air stays");
    assert!(dir.join("notes.txt").exists() && dir.join("sub/old.jpg").exists());
    // A new frame goes on air; the old on-air file is then old enough to go.
    std::fs::write(dir.join("4.jpg"), jpeg(64, 48, "4")).unwrap();
    let d = dir.clone();
    wait_until(
        Duration::from_secs(5),
        "previous on-air file deleted",
        || !d.join("3.jpg").exists(),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        dir.join("4.jpg").exists(),
        "the new on-air file stays past max_frame_age"
    );
    stop(running).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_path_that_is_a_file_fails_start_up_with_one_clear_line() {
    let dir = temp_dir("isfile");
    let file = dir.join("frames");
    std::fs::write(&file, b"x").unwrap();
    let mut config = streamserver::config::Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.streams = vec![stream(folder(&file))];
    let err = match streamserver::app::start(config, streamserver::shutdown::Shutdown::new()).await
    {
        Ok(_) => panic!("start-up must fail"),
        Err(e) => e,
    };
    let mut line = err.to_string();
    let mut src = std::error::Error::source(&err);
    while let Some(s) = src {
        line = format!("{line}: {s}");
        src = s.source();
    }
    assert!(!line.contains('\n'));
    assert!(
        line.contains("stream f") && line.contains("frames exists and is not a directory"),
        "{line}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_on_stale_ends_client_streams_until_a_new_file_arrives() {
    let dir = temp_dir("disconnect");
    std::fs::write(dir.join("a.jpg"), jpeg(64, 48, "a")).unwrap();
    let running = start(stream(FolderConfig {
        stale_after: Duration::from_millis(400),
        on_stale: OnStale::Disconnect,
        ..folder(&dir)
    }))
    .await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    assert!(client.next_within(Duration::from_secs(3)).await.is_some());
    let mut ended = false;
    for _ in 0..10 {
        if client.next_within(Duration::from_secs(3)).await.is_none() {
            ended = true;
            break;
        }
    }
    assert!(ended, "the stream ends once stale");
    let mut late = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    assert!(
        late.next_within(Duration::from_secs(3)).await.is_none(),
        "new clients end at once"
    );
    let fresh = jpeg(64, 48, "fresh");
    std::fs::write(dir.join("b.jpg"), &fresh).unwrap();
    let slot = running.state.streams[0].slot.clone();
    wait_until(Duration::from_secs(3), "a live frame", || {
        slot.latest().is_some_and(|f| f.jpeg[..] == fresh[..])
    })
    .await;
    let mut back = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    assert_eq!(
        back.next_within(Duration::from_secs(3)).await.unwrap().jpeg,
        fresh
    );
    stop(running).await;
    std::fs::remove_dir_all(&dir).unwrap();
}

fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thousands_of_files_arriving_fast_neither_leak_nor_lag() {
    const FILES: usize = 3000;
    let dir = temp_dir("flood");
    let running = start(stream(FolderConfig {
        max_frame_age: Some(Duration::from_millis(200)),
        ..folder(&dir)
    }))
    .await;
    let mut client = MjpegClient::connect(running.addr, "/stream.mjpg").await;
    let frames: Vec<Vec<u8>> = (0..50)
        .map(|i| jpeg(320, 240, &format!("flood {i}")))
        .collect();
    let last = jpeg(320, 240, "the last one");
    let rss_before = rss_kib();
    let (d, f, l) = (dir.clone(), frames.clone(), last.clone());
    let feeder = std::thread::spawn(move || {
        for i in 0..FILES {
            let data = if i + 1 == FILES { &l } else { &f[i % f.len()] };
            let tmp = d.join(".incoming");
            std::fs::write(&tmp, data).unwrap();
            std::fs::rename(&tmp, d.join(format!("{i:06}.jpg"))).unwrap();
        }
    });
    let reader = tokio::spawn(async move {
        let mut parts = 0usize;
        loop {
            let part = client.next_within(Duration::from_secs(10)).await.unwrap();
            parts += 1;
            if part.jpeg == last {
                return parts;
            }
        }
    });
    tokio::task::spawn_blocking(move || feeder.join().unwrap())
        .await
        .unwrap();
    let done = tokio::time::Instant::now();
    // A server that queued the 3,000 files would need tens of seconds; one that drops to the
    // newest needs a frame interval. 5 s leaves room for a machine busy with other builds.
    let parts = tokio::time::timeout(Duration::from_secs(5), reader)
        .await
        .expect("the client gets the last file within 5 s of the last write: no lag")
        .unwrap();
    let lag = done.elapsed();
    let grown_kib = rss_kib().saturating_sub(rss_before);
    assert!(parts >= 1);
    assert!(grown_kib < 64 * 1024, "memory grew by {grown_kib} KiB");
    let left = std::fs::read_dir(&dir).unwrap().count();
    eprintln!("{FILES} files: {parts} parts received, lag {lag:?}, RSS +{grown_kib} KiB, {left} files left");
    stop(running).await;
    std::fs::remove_dir_all(&dir).unwrap();
}
