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
fn unavailable_source_is_one_clear_line() {
    // A source this build cannot run answers one line naming the kind: here `camera`, whose
    // helper the server does not start yet.
    let text = "[[stream]]\nid = \"cam\"\nsource = \"camera\"\n";
    let dir = TempDir::new("cam");
    dir.write("cam.toml", text);
    let out = run(&dir, &["check-config", "--config", "cam.toml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(
        stderr.contains("camera") && stderr.contains("stream cam"),
        "{stderr:?}"
    );
    assert!(
        stderr.contains("not available") || stderr.contains("not implemented"),
        "{stderr:?}"
    );
    // The server command says the same, in one line, before it logs or listens.
    let listen = format!("127.0.0.1:{}", free_port());
    let out = run(&dir, &["--config", "cam.toml", "--listen", &listen]);
    let serve_err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(serve_err.lines().count(), 1, "{serve_err:?}");
    assert!(serve_err.contains("camera"), "{serve_err:?}");
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
