//! The camera source against real libcamera: libcamera's virtual camera ("Virtual0", NV12,
//! colour bars) in the Debian trixie root of `scripts/libcamera-check.sh`, with the udmabuf
//! LD_PRELOAD shim (`scripts/udmabuf-shim.c`) providing its buffers.
//!
//! Compiled only in builds with libcamera support (`cfg(has_libcamera)`: `--features libcamera`
//! on x86_64); a default host build compiles this file to nothing. Run it the way the script
//! does: `cargo test --features libcamera --test camera -- --test-threads=1` with the shim
//! preloaded and `UDMABUF_SHIM_HANG_FILE` set (the fault test creates that file to make the
//! shim hang the camera's buffer mapping, a hung driver as seen from libcamera).
//!
//! Every test runs the real server on 127.0.0.1:0 and reads `/stream.mjpg` over real TCP.
#![cfg(has_libcamera)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use streamserver::app::{self, Running};
use streamserver::config::Config;
use streamserver::shutdown::Shutdown;
use streamserver::supervise::SourceState;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// Decodes a JPEG to packed RGB.
fn decode(jpeg: &[u8]) -> (usize, usize, Vec<u8>) {
    let mut d = turbojpeg::Decompressor::new().unwrap();
    let header = d.read_header(jpeg).expect("a JPEG");
    let (w, h) = (header.width, header.height);
    let mut pixels = vec![0u8; w * h * 3];
    let image = turbojpeg::Image {
        pixels: pixels.as_mut_slice(),
        width: w,
        pitch: w * 3,
        height: h,
        format: turbojpeg::PixelFormat::RGB,
    };
    d.decompress(jpeg, image).expect("decodes");
    (w, h, pixels)
}

/// The colour bars' order (libcamera's virtual camera, left to right, cyclic): each colour as
/// its R, G, B bits (channel above half).
const BARS: [u8; 8] = [0b111, 0b110, 0b011, 0b010, 0b101, 0b100, 0b001, 0b000];

/// Colour names for messages.
fn names(colours: &[u8]) -> Vec<&'static str> {
    const NAMES: [&str; 8] = [
        "black", "blue", "green", "cyan", "red", "magenta", "yellow", "white",
    ];
    colours.iter().map(|&c| NAMES[c as usize & 7]).collect()
}

/// The runs of saturated colours along row `y`, as (colour bits, run length).
fn colour_runs(w: usize, pixels: &[u8], y: usize) -> Vec<(u8, usize)> {
    let mut runs: Vec<(u8, usize)> = Vec::new();
    for x in 0..w {
        let p = &pixels[(y * w + x) * 3..][..3];
        let bits = p.iter().fold(0u8, |acc, &c| (acc << 1) | u8::from(c > 128));
        let clear = p.iter().all(|&c| !(64..=192).contains(&c));
        match runs.last_mut() {
            Some((b, n)) if *b == bits => *n += 1,
            _ if clear => runs.push((bits, 1)),
            _ => {}
        }
    }
    runs.into_iter().filter(|&(_, n)| n >= w / 32).collect()
}

/// Asserts the frame shows vertical colour bars in the virtual camera's order.
fn assert_colour_bars(jpeg: &[u8]) {
    let (w, h, pixels) = decode(jpeg);
    assert_eq!((w, h), (640, 480));
    let rows: Vec<Vec<(u8, usize)>> = [h / 4, h / 2, 3 * h / 4]
        .iter()
        .map(|&y| colour_runs(w, &pixels, y))
        .collect();
    let colours: Vec<u8> = rows[1].iter().map(|r| r.0).collect();
    let mut distinct = colours.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(
        distinct.len() >= 7,
        "expected the 8 bar colours along the middle row, got {:?}",
        names(&colours)
    );
    // Neighbouring bars follow the bars' cyclic order (so R/B or U/V are not swapped).
    for pair in colours.windows(2) {
        let i = BARS.iter().position(|&b| b == pair[0]).unwrap();
        assert_eq!(
            BARS[(i + 1) % 8],
            pair[1],
            "bars out of order: {:?}",
            names(&colours)
        );
    }
    // Vertical bars: the same colours at a quarter and three quarters of the height.
    for row in [&rows[0], &rows[2]] {
        let c: Vec<u8> = row.iter().map(|r| r.0).collect();
        assert_eq!(c, colours, "bars are not vertical");
    }
}

#[test]
fn list_cameras_lists_the_virtual_camera_with_its_format_and_sizes() {
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
