//! Unit tests of the failure kinds the server decides on.

use std::io;

use super::*;

fn acquire(errno: i32) -> CameraError {
    CameraError::Acquire {
        id: "cam".into(),
        source: io::Error::from_raw_os_error(errno),
    }
}

#[test]
fn each_camera_error_has_the_kind_the_server_retries_or_explains() {
    let id = "cam".to_string();
    let not_found = CameraError::NotFound {
        selector: "#1".into(),
        available: "none".into(),
    };
    assert_eq!(not_found.to_string(), "no camera #1 (cameras: none)");
    assert_eq!(not_found.kind(), FailureKind::NoCamera);
    assert_eq!(acquire(libc::EBUSY).kind(), FailureKind::CameraBusy);
    assert!(acquire(libc::EBUSY)
        .to_string()
        .contains("in use by another program"));
    assert_eq!(acquire(libc::ENODEV).kind(), FailureKind::Libcamera);
    let config = CameraError::Configure {
        id: id.clone(),
        message: "rejects the configuration".into(),
    };
    assert_eq!(config.kind(), FailureKind::Config);
    assert!(!config.kind().is_retryable());
    for e in [
        CameraError::Timeout {
            id: id.clone(),
            waited: Duration::from_secs(2),
        },
        CameraError::Disconnected { id: id.clone() },
        CameraError::FrameErrors { id, count: 10 },
        CameraError::Manager(io::Error::other("x")),
    ] {
        assert_eq!(e.kind(), FailureKind::Libcamera, "{e}");
        assert!(e.kind().is_retryable());
    }
}

#[test]
fn capture_errors_map_to_kinds() {
    assert_eq!(CaptureError::NoLibcamera.kind(), FailureKind::Libcamera);
    assert!(CaptureError::NoLibcamera
        .to_string()
        .starts_with("this helper was built without libcamera"));
    assert_eq!(
        CaptureError::from(acquire(libc::EBUSY)).kind(),
        FailureKind::CameraBusy
    );
    assert_eq!(
        CaptureError::Injected("hang".into()).kind(),
        FailureKind::Other
    );
    let encode =
        EncodePoolError::Encode(streamserver::pipeline::encoder::EncodeError::BadQuality(0));
    assert_eq!(CaptureError::from(encode).kind(), FailureKind::Encode);
    let panicked = EncodePoolError::Panicked("worker 0".into());
    assert_eq!(CaptureError::from(panicked).kind(), FailureKind::Other);
}
