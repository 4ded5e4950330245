//! Real clients nobody here wrote judge the stream: ffmpeg must decode 30 frames of
//! `/stream.mjpg` and ffprobe must report the configured size. Both binaries are required (CI
//! installs them): when missing, the tests fail with a clear message instead of skipping.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{config, start, stop, wait_child};

/// Runs a command with a time limit; panics with a clear message if the binary is missing.
async fn run(program: &'static str, args: Vec<String>, limit: Duration) -> Output {
    tokio::task::spawn_blocking(move || {
        let mut child = Command::new(program)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("`{program}` is required for this test (apt-get install ffmpeg): {e}")
            });
        // Output is small (-v error, -f null): pipes cannot fill up while we poll.
        if wait_child(&mut child, limit).is_none() {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "`{program} {}` did not finish within {limit:?}: {}",
                args.join(" "),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ffmpeg_decodes_the_stream_and_ffprobe_reports_its_size() {
    let running = start(config(320, 240, 30)).await;
    let url = format!("http://{}/stream.mjpg", running.addr);

    let out = run(
        "ffmpeg",
        [
            "-hide_banner",
            "-nostdin",
            "-v",
            "error",
            "-f",
            "mjpeg",
            "-i",
            &url,
            "-frames:v",
            "30",
            "-f",
            "null",
            "-",
        ]
        .map(String::from)
        .to_vec(),
        Duration::from_secs(20),
    )
    .await;
    assert!(
        out.status.success(),
        "ffmpeg failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    // -v error: decoding problems (corrupt JPEG, truncated part) would be printed.
    let errors = String::from_utf8_lossy(&out.stderr);
    assert!(errors.trim().is_empty(), "ffmpeg reported errors: {errors}");

    let out = run(
        "ffprobe",
        [
            "-v",
            "error",
            "-f",
            "mjpeg",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
            &url,
        ]
        .map(String::from)
        .to_vec(),
        Duration::from_secs(20),
    )
    .await;
    assert!(
        out.status.success(),
        "ffprobe failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "320,240");

    // The multipart demuxer (what browsers-like clients use) reads it too.
    let out = run(
        "ffprobe",
        [
            "-v",
            "error",
            "-f",
            "mpjpeg",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
            &url,
        ]
        .map(String::from)
        .to_vec(),
        Duration::from_secs(20),
    )
    .await;
    assert!(
        out.status.success(),
        "ffprobe -f mpjpeg failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "320,240");
    stop(running).await;
}
