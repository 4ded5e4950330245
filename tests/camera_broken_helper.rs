//! A camera stream whose helper cannot work is an error on that stream, never a dead server:
//! the stream shows the placeholder, `/api/state` says why (with a hint), `/health` is 503, and
//! the other streams keep streaming. The broken helpers are the shapes real breakage takes —
//! missing, unable to load its libcamera, another program at the helper path — stood in for
//! by shell scripts. (Working helpers are tested in `camera/tests/`.)

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::client::get;
use common::mjpeg::MjpegClient;
use common::{config, start, stop, test_stream, TempDir};
use streamserver::config::{CameraConfig, SourceConfig};
use streamserver::pipeline::slot::FrameKind;

fn script(dir: &TempDir, body: &str) -> PathBuf {
    let path = dir.path().join("streamserver-camera");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A server with the test pattern `main` and a camera stream `cam` using `helper`; returns the
/// camera stream's `last_error` once it has one, after checking the rest is well.
async fn broken_camera_says(helper: PathBuf) -> String {
    let mut cfg = config(160, 120, 30);
    let mut cam = test_stream("cam", 160, 120, 30);
    cam.source = SourceConfig::Camera(CameraConfig {
        helper: Some(helper),
        ..CameraConfig::default()
    });
    cam.supervisor.backoff_initial = Duration::from_millis(100);
    cfg.streams.push(cam);
    let running = start(cfg).await;
    let addr = running.addr;
    let t0 = Instant::now();
    // The error and the placeholder saying it (published right after).
    let error = loop {
        let state = get(addr, "/api/state").await.json();
        let shown = running.state.streams[1].slot.latest();
        if let (Some(e), Some(f)) = (state["streams"][1]["last_error"].as_str(), shown) {
            assert_eq!(f.kind, FrameKind::Placeholder);
            break e.to_string();
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "no error: {state}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(get(addr, "/health").await.head.status, 503);
    // The other stream is unaffected.
    let mut main = MjpegClient::open(addr, "/stream.mjpg", false).await;
    let parts = main.parts_for(Duration::from_millis(700)).await;
    assert!(parts.len() >= 10, "main streams on: {} parts", parts.len());
    stop(running).await;
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_helper_says_to_install_it() {
    let err = broken_camera_says(PathBuf::from("/nonexistent/streamserver-camera")).await;
    assert!(err.contains("/nonexistent/streamserver-camera"), "{err}");
    assert!(err.contains("install-service.sh"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_helper_that_cannot_load_libcamera_says_to_rebuild_it() {
    let dir = TempDir::new("loader");
    let helper = script(
        &dir,
        "echo \"$0: error while loading shared libraries: libcamera.so.0.4: cannot open shared object file: No such file or directory\" >&2\nexit 127",
    );
    let err = broken_camera_says(helper).await;
    assert!(err.contains("libcamera.so.0.4"), "{err}");
    assert!(err.contains("--camera-helper-only"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_program_at_the_helper_path_is_named() {
    let dir = TempDir::new("garbage");
    let helper = script(&dir, "echo 'usage: something else'\nsleep 5");
    let err = broken_camera_says(helper).await;
    assert!(err.contains("not the camera protocol"), "{err}");
    assert!(err.contains("usage: something else"), "{err}");
}
