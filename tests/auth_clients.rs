//! Real clients with credentials against the real binary: curl and ffmpeg with
//! `http://user:password@…`, OpenCV's `VideoCapture` with the login in the URL, headless
//! Chromium (Playwright) on the viewer page behind Basic auth (its status polls must carry the
//! login) and with a token (the viewer's own requests and an `<img>` of another page). The
//! server logs at debug level; no password or token may appear in the log, and `/api/state`
//! never shows an upstream's credentials.
//!
//! OpenCV and Playwright come from PyPI (`scripts/deps.sh test`, or this test tries `pip`
//! itself); when they cannot be had, the test prints SKIPPED with the reason.

mod common;

#[path = "common/python.rs"]
mod python;
use python::{python_module, run_python};

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::client::get;
use common::users::{cheap_hash, TOKEN};
use common::{config, decode_jpeg, start, stop, ServerProcess, TempDir};
use streamserver::config::{RelayConfig, SnapshotPollConfig, SourceConfig};

const PASSWORD: &str = "Corr3ct-horse";
const WRONG: &str = "wr0ng-horse";

fn serve(dir: &TempDir) -> ServerProcess {
    let config = dir.write(
        "config.toml",
        &format!(
            r#"[logging]
dir = "logs"
level = "debug"
console = true
[[stream]]
id = "main"
source = "test"
[stream.test]
width = 160
height = 120
fps = 15
[[user]]
name = "alice"
password_hash = "{}"
view = true
status = true
[[user]]
name = "robot"
token = "{TOKEN}"
view = true
status = true
"#,
            cheap_hash(PASSWORD)
        ),
    );
    ServerProcess::spawn(dir.path(), &["--config", config.to_str().unwrap()])
}

/// The log (stderr, at debug level) never holds a password or a token; masked tokens show.
fn assert_no_secrets(server: &ServerProcess) {
    let log = server.stderr();
    for secret in [PASSWORD, WRONG, TOKEN] {
        assert!(!log.contains(secret), "{secret:?} is in the log:\n{log}");
    }
}

fn ffmpeg_frames(url: &str, frames: u32) -> (bool, usize, String) {
    let out = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "mjpeg",
            "-i",
            url,
        ])
        .args(["-frames:v", &frames.to_string(), "-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg runs (scripts/deps.sh test installs it)");
    let n = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .count();
    (
        out.status.success(),
        n,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn curl_status(url: &str, out: &Path) -> String {
    let o = Command::new("curl")
        .args([
            "--silent",
            "--max-time",
            "10",
            "-o",
            out.to_str().unwrap(),
            "-w",
            "%{http_code}",
            url,
        ])
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn curl_and_ffmpeg_log_in_with_the_url_and_nothing_secret_is_logged() {
    let dir = TempDir::new("clients-cli");
    let server = serve(&dir);
    let host = server.addr;
    let snap = dir.path().join("snap.jpg");

    let ok = curl_status(
        &format!("http://alice:{PASSWORD}@{host}/snapshot.jpg"),
        &snap,
    );
    assert_eq!(ok, "200");
    assert_eq!(decode_jpeg(&std::fs::read(&snap).unwrap()), (160, 120));
    let refused = curl_status(&format!("http://alice:{WRONG}@{host}/snapshot.jpg"), &snap);
    assert_eq!(refused, "401");
    let token = curl_status(&format!("http://{host}/snapshot.jpg?token={TOKEN}"), &snap);
    assert_eq!(token, "200");

    let (ok, n, err) = ffmpeg_frames(&format!("http://alice:{PASSWORD}@{host}/stream.mjpg"), 10);
    assert!(ok && n == 10, "ffmpeg with a login: {n} frames, {err}");
    let (ok, n, err) = ffmpeg_frames(&format!("http://{host}/stream.mjpg?token={TOKEN}"), 10);
    assert!(ok && n == 10, "ffmpeg with a token: {n} frames, {err}");
    let (ok, n, _) = ffmpeg_frames(&format!("http://alice:{WRONG}@{host}/stream.mjpg"), 10);
    assert!(!ok && n == 0, "a wrong password gets no frame");

    let log = server.stderr();
    assert!(
        log.contains("token=***"),
        "request targets are logged, masked:\n{log}"
    );
    assert!(
        log.contains("wrong password"),
        "the refusal is logged with its reason"
    );
    assert_no_secrets(&server);
}

fn script(name: &str) -> String {
    format!("{}/tests/auth_clients/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn opencv_reads_frames_with_the_login_in_the_url() {
    if let Err(why) = python_module("cv2", "opencv-python-headless") {
        println!("SKIPPED opencv_reads_frames_with_the_login_in_the_url: {why}");
        return;
    }
    let dir = TempDir::new("clients-opencv");
    let server = serve(&dir);
    let host = server.addr;
    let good = run_python(&[
        &script("opencv_read.py"),
        &format!("http://alice:{PASSWORD}@{host}/stream.mjpg"),
        "10",
    ]);
    assert_eq!(good["frames"], 10, "{good}");
    assert_eq!(good["shape"], serde_json::json!([120, 160, 3]), "{good}");
    let bad = run_python(&[
        &script("opencv_read.py"),
        &format!("http://alice:{WRONG}@{host}/stream.mjpg"),
        "10",
    ]);
    assert_eq!(bad["frames"], 0, "a wrong password gets no frame: {bad}");
    assert_no_secrets(&server);
}

#[test]
fn chromium_shows_the_viewer_behind_basic_auth_and_token_images() {
    if !Path::new("/usr/bin/chromium").exists() {
        println!("SKIPPED chromium_shows_the_viewer…: /usr/bin/chromium is missing (scripts/deps.sh test installs it)");
        return;
    }
    if let Err(why) = python_module("playwright", "playwright") {
        println!("SKIPPED chromium_shows_the_viewer…: {why}");
        return;
    }
    let dir = TempDir::new("clients-chromium");
    let server = serve(&dir);
    let base = format!("http://{}", server.addr);

    let basic = run_python(&[
        &script("browser.py"),
        "basic",
        &base,
        &format!("alice:{PASSWORD}"),
    ]);
    assert_eq!(
        basic["viewer_images"],
        serde_json::json!([[160, 120]]),
        "{basic}"
    );
    let responses = basic["responses"].as_array().unwrap();
    let state: Vec<i64> = (responses.iter())
        .filter(|r| r[0] == "/api/state")
        .map(|r| r[1].as_i64().unwrap())
        .collect();
    assert!(
        !state.is_empty() && state.iter().all(|s| *s == 200),
        "the status polls carry the login: {basic}"
    );
    assert!(
        basic["clients"].as_str().unwrap().contains("/ 200"),
        "{basic}"
    );

    let token = run_python(&[&script("browser.py"), "token", &base, TOKEN]);
    assert_eq!(
        token["viewer_images"],
        serde_json::json!([[160, 120]]),
        "{token}"
    );
    assert_eq!(
        token["img_page"],
        serde_json::json!([[160, 120]]),
        "{token}"
    );
    let refused = (token["responses"].as_array().unwrap().iter())
        .filter(|r| r[1].as_i64() != Some(200))
        .count();
    assert_eq!(
        refused, 0,
        "every request of the token page was allowed: {token}"
    );
    assert_no_secrets(&server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_state_never_shows_upstream_credentials() {
    let mut c = config(64, 48, 10);
    let mut relay = common::test_stream("relay", 64, 48, 10);
    relay.source = SourceConfig::Relay(RelayConfig {
        url: "http://cam-user:s3cret-pw@127.0.0.1:1/video?pwd=s3cret-q&size=2".into(),
        ..RelayConfig::default()
    });
    let mut poll = common::test_stream("poll", 64, 48, 10);
    poll.source = SourceConfig::SnapshotPoll(SnapshotPollConfig {
        url: "http://admin:s3cret-pw@127.0.0.1:1/snap.cgi?user=admin&password=s3cret-q".into(),
        ..SnapshotPollConfig::default()
    });
    c.streams.push(relay);
    c.streams.push(poll);
    let running = start(c).await;
    // Let both sources fail at least once, so their errors are in the state too.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let state = get(running.addr, "/api/state").await.text();
    assert!(!state.contains("s3cret"), "{state}");
    assert!(
        state.contains("http://127.0.0.1:1/video?pwd=***&size=2"),
        "{state}"
    );
    stop(running).await;
}
