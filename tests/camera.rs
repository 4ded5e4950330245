//! The camera source against real libcamera: libcamera's virtual camera ("Virtual0", NV12,
//! colour bars) in the Debian trixie root of `scripts/libcamera-check.sh`, with the udmabuf
//! LD_PRELOAD shim (`scripts/udmabuf-shim.c`) providing its buffers.
//!
//! The server never links libcamera: the camera runs in the `streamserver-camera` helper
//! (`camera/`), so these tests need that helper built with libcamera and the virtual camera.
//! They run only where `STREAMSERVER_CAMERA_CHECK=1` says so (the script sets it); elsewhere
//! each prints one `SKIPPED` line. Run it the way the script does: `cargo test --test camera --
//! --test-threads=1` with the shim preloaded and `UDMABUF_SHIM_HANG_FILE` set (the fault test
//! creates that file to make the shim hang the camera's buffer mapping, a hung driver as seen
//! from libcamera).
//!
//! Every test runs the real server on 127.0.0.1:0 and reads `/stream.mjpg` over real TCP.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use streamserver::app::{self, Running};
use streamserver::config::Config;
use streamserver::shutdown::Shutdown;
use streamserver::supervise::SourceState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Whether this run has the virtual camera (else prints why the test is skipped).
fn camera_check(test: &str) -> bool {
    let on = std::env::var_os("STREAMSERVER_CAMERA_CHECK").is_some_and(|v| v == "1");
    if !on {
        println!(
            "SKIPPED: {test}: needs libcamera's virtual camera and the camera helper \
             (scripts/libcamera-check.sh sets STREAMSERVER_CAMERA_CHECK=1)"
        );
    }
    on
}

/// One MJPEG part: its sequence number and JPEG.
struct Part {
    seq: u64,
    jpeg: Vec<u8>,
}

fn config(extra_camera: &str, extra_stream: &str) -> Config {
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n\
         [[stream]]\nid = \"cam\"\nsource = \"camera\"\n\
         [stream.camera]\nwidth = 640\nheight = 480\nfps = 30\n{extra_camera}\n\
         {extra_stream}\n"
    );
    Config::parse(&text, Path::new("camera-test.toml")).expect("test config")
}

async fn start(config: Config) -> Running {
    // The server's log goes to the test's output (shown when a test fails, or with --nocapture).
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter("info")
        .try_init();
    app::start(config, Shutdown::new())
        .await
        .expect("server starts with source = camera")
}

/// Reads MJPEG parts from `/stream.mjpg` until `want` parts or `limit` passed.
async fn read_parts(addr: std::net::SocketAddr, want: usize, limit: Duration) -> Vec<Part> {
    let deadline = Instant::now() + limit;
    let mut tcp = TcpStream::connect(addr).await.expect("connect");
    // HTTP/1.0: the body is the raw multipart stream, no chunked framing to undo.
    tcp.write_all(b"GET /stream.mjpg HTTP/1.0\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let mut parts = Vec::new();
    let mut pos = 0;
    let mut chunk = [0u8; 65536];
    while parts.len() < want && Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, tcp.read(&mut chunk)).await {
            Ok(Ok(0)) | Err(_) => break,
            Ok(Ok(n)) => buf.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => panic!("read: {e}"),
        }
        // Parse every complete part after `pos`.
        while let Some(hdr_end) = find(&buf[pos..], b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[pos..pos + hdr_end]).to_string();
            let body_at = pos + hdr_end + 4;
            if head.starts_with("HTTP/1.") {
                assert!(head.contains(" 200 "), "{head}");
                pos = body_at;
                continue;
            }
            let value = |name: &str| {
                head.lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(|v| v.trim().parse::<u64>().expect(name))
            };
            let (Some(len), Some(seq)) = (value("Content-Length:"), value("X-Frame-Seq:")) else {
                panic!("part without Content-Length/X-Frame-Seq: {head:?}");
            };
            if buf.len() < body_at + len as usize {
                break;
            }
            let jpeg = buf[body_at..body_at + len as usize].to_vec();
            parts.push(Part { seq, jpeg });
            pos = body_at + len as usize;
        }
    }
    parts
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

#[path = "../camera/tests/common/bars.rs"]
mod bars;

use bars::assert_colour_bars;

#[test]
fn list_cameras_lists_the_virtual_camera_with_its_format_and_sizes() {
    if !camera_check("list_cameras_lists_the_virtual_camera_with_its_format_and_sizes") {
        return;
    }
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_streamserver"))
        .arg("list-cameras")
        .output()
        .expect("run streamserver list-cameras");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("0: Virtual0 (model \"Virtual Video Device\")"),
        "{stdout}"
    );
    assert!(
        stdout.contains("\n    NV12: 640x480..1280x720; sizes: 640x480 "),
        "{stdout}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stream_shows_the_virtual_cameras_colour_bars() {
    if !camera_check("the_stream_shows_the_virtual_cameras_colour_bars") {
        return;
    }
    let running = start(config("", "")).await;
    let t0 = Instant::now();
    let parts = read_parts(running.addr, 30, Duration::from_secs(20)).await;
    let took = t0.elapsed();
    assert_eq!(parts.len(), 30, "30 parts within 20 s");
    for pair in parts.windows(2) {
        assert!(pair[1].seq > pair[0].seq, "sequence numbers increase");
    }
    // The camera is paced at 30 fps (it has no frame-duration control): 29 intervals at least.
    assert!(took >= Duration::from_millis(800), "30 frames in {took:?}");
    for part in parts.iter().skip(1).step_by(10) {
        assert_colour_bars(&part.jpeg);
    }
    let status = &running.state.streams[0].status;
    assert_eq!(status.get().state, SourceState::Running);
    assert!(status.get().description.starts_with("camera #0 640x480"));
    running.shutdown.trigger();
    running.wait().await.expect("clean shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_mode_stops_encoding_and_the_first_client_gets_a_fresh_frame_at_once() {
    if !camera_check("idle_mode_stops_encoding_and_the_first_client_gets_a_fresh_frame_at_once") {
        return;
    }
    let running = start(config("", "[stream.encoder]\nidle_after = \"300ms\"\n")).await;
    let stats = running.state.streams[0].stats.clone();
    // Nobody watches: after the first frames, encoding stops within idle_after (+ slack).
    let deadline = Instant::now() + Duration::from_secs(10);
    while stats.frames_captured.total() == 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = stats.frames_captured.total();
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(
        stats.frames_captured.total(),
        before,
        "still encoding while idle"
    );
    assert_eq!(
        running.state.streams[0].status.get().state,
        SourceState::Running,
        "idle is not a stall"
    );
    let stale = running.state.streams[0].slot.latest().expect("a frame").seq;
    // A client arrives: a fresh frame within a frame interval plus encode time (bounded loosely
    // for a shared, debug-built machine).
    let t0 = Instant::now();
    let parts = read_parts(running.addr, 3, Duration::from_secs(5)).await;
    let fresh = parts
        .iter()
        .position(|p| p.seq > stale)
        .expect("a fresh frame");
    let took = t0.elapsed();
    assert!(
        took < Duration::from_millis(1500),
        "first fresh frame after {took:?}"
    );
    assert_colour_bars(&parts[fresh].jpeg);
    running.shutdown.trigger();
    running.wait().await.expect("clean shutdown");
}

fn hang_file() -> PathBuf {
    PathBuf::from(std::env::var_os("UDMABUF_SHIM_HANG_FILE").expect(
        "UDMABUF_SHIM_HANG_FILE must name the shim's fault trigger (run scripts/libcamera-check.sh)",
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_supervisor_recovers_when_the_camera_hangs() {
    if !camera_check("the_supervisor_recovers_when_the_camera_hangs") {
        return;
    }
    let trigger = hang_file();
    let _ = std::fs::remove_file(&trigger);
    let running = start(config(
        "frame_timeout = \"500ms\"",
        "[stream.supervisor]\nstall_timeout = \"1s\"\nbackoff_initial = \"200ms\"\nbackoff_max = \"500ms\"\n",
    ))
    .await;
    let handle = &running.state.streams[0];
    assert!(!read_parts(running.addr, 3, Duration::from_secs(10))
        .await
        .is_empty());

    // The fault: the shim blocks the virtual camera's buffer mapping, so no request completes.
    // Restarts before the fault (e.g. the camera still busy from a previous test) don't count.
    let before = handle.status.get().restarts;
    std::fs::write(&trigger, b"hang").unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    while handle.status.get().restarts == before && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let down = handle.status.get();
    assert!(
        down.restarts > before,
        "no restart after the camera hung: {down:?}"
    );
    assert!(down.last_error.is_some(), "{down:?}");
    let placeholder = handle.slot.latest().expect("a frame");
    assert_eq!(
        placeholder.kind,
        streamserver::pipeline::slot::FrameKind::Placeholder
    );

    // The fault clears: the camera comes back and live colour bars flow again.
    std::fs::remove_file(&trigger).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut live = None;
    while Instant::now() < deadline {
        let latest = handle.slot.latest().expect("a frame");
        if latest.kind == streamserver::pipeline::slot::FrameKind::Live
            && latest.seq > placeholder.seq
        {
            live = Some(latest);
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let live =
        live.unwrap_or_else(|| panic!("no live frame after recovery: {:?}", handle.status.get()));
    assert_eq!(handle.status.get().state, SourceState::Running);
    assert_colour_bars(&live.jpeg);
    let parts = read_parts(running.addr, 5, Duration::from_secs(10)).await;
    assert_eq!(parts.len(), 5, "the stream flows again");
    running.shutdown.trigger();
    running.wait().await.expect("clean shutdown");
}
