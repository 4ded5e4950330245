//! A bad config file is one line on stderr naming the file, the line and the key, with a
//! non-zero exit, from both `check-config` and the server command; a source kind missing from
//! this build is one clear line too. Runs the real binary.

mod common;

use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{bin, free_port, wait_child, TempDir};

/// Runs the binary with `args` in `dir` (bounded to 10 s) and returns its output.
fn run(dir: &TempDir, args: &[&str]) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if wait_child(&mut child, Duration::from_secs(10)).is_none() {
        let _ = child.kill();
        panic!("streamserver {args:?} still runs after 10 s");
    }
    child.wait_with_output().unwrap()
}

/// Both commands fail with exactly one stderr line that contains every one of `needles`.
fn assert_one_line_error(file: &str, text: &str, needles: &[&str]) {
    let dir = TempDir::new("cfg");
    dir.write(file, text);
    let listen = format!("127.0.0.1:{}", free_port());
    for args in [
        vec!["check-config", "--config", file],
        vec!["--config", file, "--listen", &listen],
    ] {
        let out = run(&dir, &args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success(),
            "{args:?} succeeded on a bad config: {stderr}"
        );
        assert_eq!(
            stderr.lines().count(),
            1,
            "{args:?}: stderr must be exactly one line: {stderr:?}"
        );
        for needle in needles {
            assert!(
                stderr.contains(needle),
                "{args:?}: {stderr:?} lacks {needle:?}"
            );
        }
    }
}

const STREAM_HEAD: &str =
    "[server]\nlisten = \"127.0.0.1:0\"\n\n[[stream]]\nid = \"main\"\nsource = \"test\"\n";

#[test]
fn wrong_type_names_key_and_line() {
    let text = format!("{STREAM_HEAD}\n[stream.test]\nfps = \"fast\"\n");
    assert_eq!(text.lines().nth(8), Some("fps = \"fast\""));
    assert_one_line_error("bad.toml", &text, &["bad.toml:9:", "stream[0].test.fps"]);
}

#[test]
fn unknown_key_names_key_and_line() {
    assert_one_line_error(
        "bad.toml",
        "# comment\n[server]\ncolour = 1\n",
        &["bad.toml:3:", "server.colour", "unknown field"],
    );
}

#[test]
fn bad_listen_address_names_key_and_line() {
    assert_one_line_error(
        "bad.toml",
        "[server]\nmax_clients = 5\nlisten = \"nope\"\n",
        &["bad.toml:3:", "server.listen"],
    );
}

#[test]
fn duplicate_stream_id_names_key_and_line() {
    let text = format!("{STREAM_HEAD}\n[[stream]]\nid = \"main\"\nsource = \"test\"\n");
    assert_one_line_error(
        "bad.toml",
        &text,
        &["bad.toml:9:", "stream[1].id", "duplicate", "main"],
    );
}

#[test]
fn quality_zero_names_key_and_line() {
    let text = format!("{STREAM_HEAD}\n[stream.encoder]\nquality = 0\n");
    assert_one_line_error(
        "bad.toml",
        &text,
        &["bad.toml:9:", "stream[0].encoder.quality", "1..=100"],
    );
}

#[test]
fn check_config_accepts_a_camera_stream_and_names_its_helper() {
    // The camera runs in the helper process: a missing helper is an error on the stream at run
    // time (tests/camera_broken_helper.rs), not a config error that would stop the service.
    let text = "[[stream]]\nid = \"cam\"\nsource = \"camera\"\n[stream.camera]\nhelper = \"/nonexistent/streamserver-camera\"\n";
    let dir = TempDir::new("cam");
    dir.write("cam.toml", text);
    let out = run(&dir, &["check-config", "--config", "cam.toml"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(stdout.contains("cam = camera"), "{stdout:?}");
    assert!(
        stdout.contains("helper /nonexistent/streamserver-camera is missing"),
        "{stdout:?}"
    );
}

#[test]
fn missing_config_file_is_one_line() {
    let dir = TempDir::new("missing");
    let out = run(&dir, &["check-config", "--config", "nope.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("nope.toml"), "{stderr:?}");
}

/// Runs `check-config` as an unprivileged user when we are root (root may write anywhere the
/// mount allows, as the sandboxed service may not).
fn check_as_user(dir: &TempDir, config: &str) -> Output {
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(bin());
    cmd.args(["check-config", "--config", config])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setgid/setuid only, between fork and exec.
    if unsafe { libc::geteuid() } == 0 {
        unsafe {
            cmd.pre_exec(|| {
                if libc::setgid(65534) != 0 || libc::setuid(65534) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    let mut child = cmd.spawn().unwrap();
    assert!(wait_child(&mut child, Duration::from_secs(10)).is_some());
    child.wait_with_output().unwrap()
}

#[test]
fn a_folder_the_service_may_not_write_is_reported_when_cleanup_needs_it() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("folder-ro");
    let frames = dir.path().join("frames");
    std::fs::create_dir(&frames).unwrap();
    // Readable by everyone, writable by nobody but its owner (root in CI, us otherwise).
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let mode = if unsafe { libc::geteuid() } == 0 {
        0o755
    } else {
        0o555
    };
    std::fs::set_permissions(&frames, std::fs::Permissions::from_mode(mode)).unwrap();
    let head = format!(
        "[[stream]]\nid = \"f\"\nsource = \"folder\"\n[stream.folder]\npath = \"{}\"\n",
        frames.display()
    );
    dir.write("read.toml", &head);
    dir.write("clean.toml", &format!("{head}max_frame_age = \"1h\"\n"));
    for name in ["read.toml", "clean.toml"] {
        let p = dir.path().join(name);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let out = check_as_user(&dir, "read.toml");
    assert!(
        out.status.success(),
        "reading is enough without cleanup: {out:?}"
    );
    let out = check_as_user(&dir, "clean.toml");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.contains("max_frame_age"), "{stderr:?}");
    assert!(stderr.contains("/var/lib/streamserver"), "{stderr:?}");
    std::fs::set_permissions(&frames, std::fs::Permissions::from_mode(0o755)).unwrap();
}
