//! A camera stream nobody watches, in the real server with the real helper (synthetic camera):
//! after `idle_after` the helper is told frames are not wanted, `/api/state` says idle, and
//! `/health` stays 200 long after the last frame (idle is healthy, as for the test pattern);
//! a client wakes it up again; a helper killed while idle is replaced, and the new one puts a
//! live frame on the slot before going idle (else the placeholder stays on air: unhealthy).

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::time::{Duration, Instant};

use common::HELPER;
use streamserver::config::{CameraConfig, Config, SourceConfig, StreamConfig};
use streamserver::shutdown::Shutdown;

/// GET `path`, reading until the server closes or `read_for` has passed (an endless stream):
/// (status code, what was read).
fn get(addr: SocketAddr, path: &str, read_for: Duration) -> (u16, String) {
    let deadline = Instant::now() + read_for;
    let mut tcp = TcpStream::connect(addr).unwrap();
    write!(
        tcp,
        "GET {path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16384];
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        tcp.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        match tcp.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let text = String::from_utf8_lossy(&buf).into_owned();
    let code = text.get(9..12).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

fn wait_for(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn an_unwatched_camera_goes_idle_and_stays_healthy() {
    let dir = std::env::temp_dir().join(format!("server-idle-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let wrapper = dir.join("streamserver-camera");
    let pid_file = dir.join("pid");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho $$ > '{}'\nexec '{HELPER}' \"$@\" --synthetic\n",
            pid_file.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut stream = StreamConfig::test_pattern();
    stream.source = SourceConfig::Camera(CameraConfig {
        width: 320,
        height: 240,
        fps: 30.0,
        helper: Some(wrapper),
        ..CameraConfig::default()
    });
    stream.encoder.idle_after = Duration::from_millis(300);
    stream.supervisor.stall_timeout = Duration::from_secs(1);
    let mut config = Config::default();
    config.server.listen = "127.0.0.1:0".parse().unwrap();
    config.logging.console = false;
    config.streams = vec![stream];
    let rt = tokio::runtime::Runtime::new().unwrap();
    let running = rt
        .block_on(streamserver::app::start(config, Shutdown::new()))
        .unwrap();
    let addr = running.addr;
    // The stream's entry of /api/state.
    let state = || -> serde_json::Value {
        let text = get(addr, "/api/state", Duration::from_secs(5)).1;
        let body = text.split_once("\r\n\r\n").map_or("", |b| b.1);
        let v: serde_json::Value = serde_json::from_str(body).expect("JSON");
        v["streams"][0].clone()
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = state();
        if s["idle"] == true {
            break;
        }
        assert!(Instant::now() < deadline, "never idle: {s}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Well past the stall timeout with no new frame: still healthy, and no restart.
    std::thread::sleep(Duration::from_secs(3));
    let (code, body) = get(addr, "/health", Duration::from_secs(5));
    assert_eq!(code, 200, "{body}");
    let s = state();
    assert!(
        s["idle"] == true && s["restarts"] == 0 && s["healthy"] == true,
        "{s}"
    );
    // The helper killed while idle: replaced, live frame first, then idle and healthy again.
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let status = std::process::Command::new("kill")
        .args(["-9", pid.trim()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let s = state();
        if s["restarts"] == 1 && s["idle"] == true && s["healthy"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not idle and healthy after a restart: {s}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // A client wakes it: while it reads, the stream is no longer idle and parts arrive.
    let reader = std::thread::spawn(move || get(addr, "/stream.mjpg", Duration::from_secs(4)));
    wait_for(
        "not idle while a client reads",
        Duration::from_secs(4),
        || state()["idle"] == false,
    );
    let (code, body) = reader.join().unwrap();
    assert_eq!(code, 200);
    assert!(
        body.matches("Content-Type: image/jpeg").count() >= 2,
        "few parts: {body:.300}"
    );
    running.shutdown.trigger();
    rt.block_on(running.wait()).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
