//! Unit tests of camera errors: loader messages, hints, what is retried.

use super::*;

#[test]
fn the_loaders_complaint_is_found_and_becomes_the_rebuild_hint() {
    let stderr = "streamserver-camera: error while loading shared libraries: libcamera.so.0.4: \
                  cannot open shared object file: No such file or directory";
    let err = CameraError::ended(
        ProtocolError::NoHello,
        Some("exit code 127".into()),
        stderr.into(),
    );
    let text = err.to_string();
    assert!(text.contains("libcamera.so.0.4"), "{text}");
    assert!(text.contains(REBUILD_HINT), "{text}");
    assert!(err.is_retryable(), "a later upgrade or rebuild may fix it");
    assert!(loader_error("all fine\n").is_none());
    assert!(loader_error("x: /lib/libc.so.6: version `GLIBC_2.38' not found").is_some());
}

#[test]
fn an_exit_without_a_word_names_the_status_and_the_last_line() {
    let err = CameraError::ended(
        ProtocolError::NoHello,
        Some("killed by signal 9".into()),
        "starting\ncamera exploded".into(),
    );
    assert_eq!(
        err.to_string(),
        "the camera helper exited (killed by signal 9); it said: camera exploded"
    );
}

#[test]
fn failures_carry_their_hint_and_only_config_is_final() {
    let busy = CameraError::HelperFailed {
        kind: FailureKind::CameraBusy,
        message: "cannot acquire camera 0".into(),
    };
    assert!(
        busy.to_string()
            .contains("another program holds the camera"),
        "{busy}"
    );
    assert!(busy.is_retryable());
    let config = CameraError::HelperFailed {
        kind: FailureKind::Config,
        message: "no such format".into(),
    };
    assert!(!config.is_retryable());
    let version = CameraError::Protocol {
        source: ProtocolError::VersionMismatch {
            theirs: 2,
            ours: 1,
            helper_version: Some("0.3.0".into()),
        },
        stderr: String::new(),
    };
    assert!(!version.is_retryable());
    assert!(
        version.to_string().contains("./install-service.sh"),
        "{version}"
    );
}
