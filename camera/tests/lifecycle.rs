//! The helper's process life on the real binary: it dies with its parent, refuses to start for
//! a parent already gone, exits by itself after injected faults (fail at start, a wedged camera
//! that ignores Stop, a crash), and the commands of a build without libcamera answer clearly.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{settings, Helper, HELPER};
use streamserver::config::PixelFormat;
use streamserver::source::camera::protocol::{FailureKind, Message, PROTOCOL_VERSION};

const WAIT: Duration = Duration::from_secs(10);

/// Whether process `pid` is gone (or a zombie nobody reaped yet: dead all the same).
fn dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn the_helper_dies_with_its_parent() {
    // sh starts the helper (its parent) and prints the helper's pid; the helper's stdin stays
    // open (this test holds it), so only the parent-death signal can end it.
    // (A background job's stdin is /dev/null unless given: hand it the saved stdin, fd 3.)
    let script = format!(
        "exec 3<&0; '{HELPER}' run --synthetic --parent-pid $$ <&3 3<&- >/dev/null & echo $!; exec sleep 60"
    );
    let mut sh = Command::new("sh")
        .args(["-c", &script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(sh.stdout.as_mut().unwrap()),
        &mut line,
    )
    .unwrap();
    let pid: u32 = line.trim().parse().expect("the helper's pid");
    let _stdin = sh.stdin.take(); // `wait` would close it
    std::thread::sleep(Duration::from_millis(300)); // the helper is up (prctl done)
    assert!(!dead(pid), "the helper died before its parent");
    sh.kill().unwrap();
    sh.wait().unwrap();
    let deadline = Instant::now() + WAIT;
    while !dead(pid) {
        assert!(
            Instant::now() < deadline,
            "helper {pid} outlived its parent"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_helper_whose_parent_is_already_gone_exits_at_once_without_a_word_on_the_protocol() {
    let out = Command::new(HELPER)
        .args(["run", "--synthetic", "--parent-pid", "1"])
        .stdin(Stdio::piped()) // kept open: exiting is its own decision
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty(), "no Hello for a server that is gone");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("the server (pid 1) is gone"), "{stderr}");
}

#[test]
fn injected_faults_fail_hang_and_crash() {
    let start = |fault: &str| {
        let (mut helper, _) = Helper::spawn(&["run", "--synthetic", "--fault", fault]);
        let s = settings(160, 120, PixelFormat::Yuv420);
        helper.commands().start(&s).unwrap();
        helper
    };
    let mut failing = start("fail-start");
    match failing.next(WAIT) {
        Message::Failed(f) => {
            assert_eq!(f.kind, FailureKind::Other);
            assert_eq!(f.message, "injected fault: fail-start");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(failing.wait_exit(WAIT).code(), Some(1));

    // A wedged camera: up to 3 frames (the encode pool may drop some on a busy machine), then
    // silence; Stop still ends the helper (without its capture thread) within its stop wait.
    let mut hung = start("hang-after=3");
    let (seen, _) = {
        assert!(matches!(hung.next(WAIT), Message::Started(_)));
        let mut frames = 0;
        let deadline = Instant::now() + WAIT;
        // Frames until the hang has been announced and a second has passed without one.
        loop {
            let hung_now = hung.stderr().contains("the camera hangs");
            match hung.poll(Duration::from_secs(1)) {
                Some(Message::Frame(_)) => frames += 1,
                Some(_) => {}
                None if hung_now => break,
                None => {}
            }
            assert!(Instant::now() < deadline, "never hung: {}", hung.stderr());
        }
        assert!((1..=3).contains(&frames), "{frames} frames before the hang");
        hung.commands().stop().unwrap();
        let t = Instant::now();
        let end = hung.until_end(WAIT);
        assert!(t.elapsed() < Duration::from_secs(6), "{:?}", t.elapsed());
        end
    };
    assert!(
        seen.iter().all(|m| !matches!(m, Message::Frame(_))),
        "frames after the hang: {seen:?}"
    );
    assert_eq!(hung.wait_exit(WAIT).code(), Some(0));
    let stderr = hung.stderr_to_end(WAIT);
    assert!(stderr.contains("did not stop"), "{stderr}");

    let mut crashing = start("crash-after=2");
    let (_, end) = crashing.until_end(WAIT);
    assert!(end.is_closed(), "{end}");
    assert_eq!(crashing.wait_exit(WAIT).signal(), Some(libc::SIGABRT));
}

#[test]
fn version_names_the_protocol_and_libcamera() {
    let out = Command::new(HELPER).arg("version").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with(concat!(
        "streamserver-camera ",
        env!("CARGO_PKG_VERSION"),
        "\n"
    )));
    let protocol = format!("\nprotocol {PROTOCOL_VERSION}\n");
    assert!(text.contains(&protocol), "{text}");
    assert!(text.contains("\nlibcamera built against: "), "{text}");
    assert!(text.contains("\nlibcamera loaded: "), "{text}");
}

#[cfg(not(has_libcamera))]
#[test]
fn without_libcamera_list_and_run_say_so() {
    let out = Command::new(HELPER).arg("list").output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("built without libcamera"), "{stderr}");

    // `run` still greets the server, then fails so the server can show why.
    let (mut helper, hello) = Helper::spawn(&["run"]);
    assert!(hello.libcamera_built.contains("built without libcamera"));
    let s = settings(160, 120, PixelFormat::Yuv420);
    helper.commands().start(&s).unwrap();
    match helper.next(WAIT) {
        Message::Failed(f) => {
            assert_eq!(f.kind, FailureKind::Libcamera);
            assert!(f
                .message
                .starts_with("this helper was built without libcamera"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(helper.wait_exit(WAIT).code(), Some(1));
}
