//! Unit tests of `source = "auto"` with shell scripts standing in for the camera helper.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::*;
use crate::config::CameraConfig;

fn script(tag: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auto-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("streamserver-camera");
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

fn auto_stream(helper: PathBuf) -> StreamConfig {
    let mut s = StreamConfig::auto();
    if let SourceConfig::Auto { camera, .. } = &mut s.source {
        *camera = CameraConfig {
            helper: Some(helper),
            ..CameraConfig::default()
        };
    }
    s
}

#[test]
fn a_listed_camera_makes_it_a_camera_stream() {
    let helper = script(
        "yes",
        "echo '0: imx708 (model \"imx708_wide\")'\necho '    YUV420: 640x480'",
    );
    let s = resolve(auto_stream(helper.clone()));
    match s.source {
        SourceConfig::Camera(c) => assert_eq!(c.helper, Some(helper)),
        other => panic!("expected the camera, got {other:?}"),
    }
}

#[test]
fn no_camera_a_broken_helper_or_no_helper_gives_the_test_pattern() {
    for (tag, body) in [
        ("none", "exit 0"),
        (
            "loader",
            "echo 'error while loading shared libraries: libcamera.so.0.5' >&2; exit 127",
        ),
        ("hangs", "sleep 60"),
    ] {
        let helper = script(tag, body);
        let t0 = Instant::now();
        let s = if tag == "hangs" {
            // A hanging `list` is killed after the timeout (shortened here).
            let err = run_list(&helper, Duration::from_millis(300)).unwrap_err();
            assert!(matches!(err, CameraError::StartTimeout { .. }), "{err}");
            assert!(t0.elapsed() < Duration::from_secs(5));
            continue;
        } else {
            resolve(auto_stream(helper))
        };
        assert!(
            matches!(s.source, SourceConfig::Test(_)),
            "{tag}: {:?}",
            s.source
        );
    }
    let s = resolve(auto_stream(PathBuf::from(
        "/nonexistent/streamserver-camera",
    )));
    assert!(matches!(s.source, SourceConfig::Test(_)));
}

#[test]
fn other_sources_are_left_alone_and_camera_lines_are_recognised() {
    let s = resolve(StreamConfig::test_pattern());
    assert!(matches!(s.source, SourceConfig::Test(_)));
    assert_eq!(first_camera("no cameras\n"), None);
    assert_eq!(
        first_camera("12: Virtual0 (model \"Virtual\")\n    NV12: 640x480"),
        Some("12: Virtual0 (model \"Virtual\")")
    );
    let loaded = run_list(
        &script(
            "err",
            "echo 'error while loading shared libraries: libcamera.so.0.4' >&2; exit 127",
        ),
        LIST_TIMEOUT,
    );
    assert!(matches!(loaded, Err(CameraError::HelperCannotLoad { .. })));
}
