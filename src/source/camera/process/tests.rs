//! Unit tests of the helper process wrapper with `sh` standing in for the helper.

use std::path::Path;

use super::*;

fn sh(script: &str) -> HelperProcess {
    HelperProcess::spawn(
        Path::new("/bin/sh"),
        &["-c".to_string(), script.to_string()],
        "t",
        None,
    )
    .expect("sh runs")
}

fn alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

#[test]
fn kill_takes_the_whole_process_group_and_reaps_the_helper() {
    let mut p = sh("sleep 60 & echo $! >&2; sleep 60");
    let deadline = Instant::now() + Duration::from_secs(5);
    let grandchild: i32 = loop {
        if let Some(pid) = p.stderr_tail().lines().next().and_then(|l| l.parse().ok()) {
            break pid;
        }
        assert!(Instant::now() < deadline, "no pid from the child");
        std::thread::sleep(Duration::from_millis(10));
    };
    let pid = p.pid() as i32;
    assert!(alive(grandchild));
    let status = p.kill().expect("reaped");
    assert!(!status.success());
    // The helper is reaped (no zombie) and its own child died with the group.
    assert!(!alive(pid), "the helper is gone, not a zombie");
    let deadline = Instant::now() + Duration::from_secs(2);
    while alive(grandchild) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!alive(grandchild), "the grandchild died with the group");
}

#[test]
fn stderr_is_kept_as_a_bounded_tail_and_the_exit_status_is_read() {
    let mut p = sh("i=0; while [ $i -lt 30 ]; do echo line $i >&2; i=$((i+1)); done; exit 3");
    let status = p.wait_exit(Duration::from_secs(5)).expect("exits");
    assert_eq!(status.code(), Some(3));
    p.kill();
    let tail = p.stderr_tail();
    assert_eq!(tail.lines().count(), TAIL_LINES, "{tail}");
    assert_eq!(tail.lines().last(), Some("line 29"));
}

#[test]
fn a_missing_helper_is_a_spawn_error_naming_the_path() {
    let err = HelperProcess::spawn(
        Path::new("/nonexistent/streamserver-camera"),
        &[],
        "t",
        None,
    )
    .err()
    .expect("cannot spawn");
    assert!(
        err.to_string().contains("/nonexistent/streamserver-camera"),
        "{err}"
    );
    assert!(err.is_retryable());
}

#[test]
fn a_configured_helper_path_wins() {
    assert_eq!(
        helper_path(Some(Path::new("/opt/x/streamserver-camera"))),
        Path::new("/opt/x/streamserver-camera")
    );
    assert!(helper_path(None).ends_with("streamserver-camera"));
}
