//! The hop bench's end-to-end part: the real synthetic helper (`streamserver-camera run
//! --synthetic`) with a region of shared memory, read as the server reads it; its CPU per frame
//! (draw + encode + hop, from `/proc`) next to drawing + encoding the same in this process.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use streamserver::config::{CameraConfig, EncoderConfig, PixelFormat};
use streamserver::pipeline::encoder::Encoder;
use streamserver::source::camera::protocol::{
    CommandWriter, HelperSettings, Limits, Message, MessageReader,
};
use streamserver::source::camera::shm::{self, FrameRegion, ShmLayout};
use streamserver::source::test_pattern::Pattern;

use super::{failed, thread_cpu, HopError, FPS, MAX_FRAME_BYTES};

/// CPU time (user + system) of process `pid` from `/proc`.
fn process_cpu(pid: u32) -> Result<Duration, HopError> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let fields: Vec<&str> = stat
        .rsplit_once(") ")
        .map_or("", |r| r.1)
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    Ok(Duration::from_secs_f64((ticks(11) + ticks(12)) as f64 / hz))
}

/// The real synthetic helper's CPU per frame (frames through its shared memory, as the server
/// runs it), and drawing + encoding the same in this process.
pub(super) fn helper_cost(
    helper: &Path,
    w: usize,
    h: usize,
    seconds: f64,
) -> Result<(Duration, Duration), HopError> {
    let layout = ShmLayout::for_frames(MAX_FRAME_BYTES);
    let (region, fd) = FrameRegion::create("bench-helper", layout)?;
    let mut command = Command::new(helper);
    shm::pass_to_child(&mut command, &fd);
    let mut child = command
        .args(["run", "--synthetic"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            failed(format!(
                "{}: {e} (build it: cargo build --release --workspace)",
                helper.display()
            ))
        })?;
    drop(fd);
    let settings = HelperSettings {
        stream: "bench".into(),
        camera: CameraConfig {
            width: w as u32,
            height: h as u32,
            fps: FPS,
            ..CameraConfig::default()
        },
        encoder: EncoderConfig {
            workers: 1,
            ..EncoderConfig::default()
        },
        overlay: Default::default(),
        controls: Default::default(),
        max_frame_bytes: MAX_FRAME_BYTES,
        shared_frames: Some(layout),
    };
    let mut commands = CommandWriter::new(child.stdin.take().expect("piped"));
    let stdout = child.stdout.take().expect("piped");
    let (mut reader, _) = MessageReader::handshake(stdout, Limits::default())?;
    reader.share_frames(Arc::clone(&region));
    commands.start(&settings)?;
    // Warm up one second, then count; keep the newest frame as the server does.
    let (mut frames, mut through_shm) = (0u32, 0u32);
    let mut counting: Option<(Instant, Duration)> = None;
    let mut latest = None;
    loop {
        match reader.read_message()? {
            Message::Frame(f) => {
                match counting {
                    None if f64::from(frames) >= FPS => {
                        counting = Some((Instant::now(), process_cpu(child.id())?));
                        (frames, through_shm) = (0, 0);
                    }
                    Some((t0, _)) if t0.elapsed().as_secs_f64() >= seconds => break,
                    _ => {}
                }
                frames += 1;
                through_shm += u32::from(region.contains(&f.jpeg));
                latest = Some(f.jpeg);
            }
            Message::Failed(f) => return Err(failed(format!("the helper failed: {f}"))),
            _ => {}
        }
    }
    let (_, c0) = counting.expect("counting started");
    let helper_cpu = (process_cpu(child.id())? - c0) / frames.max(1);
    eprintln!("  helper {w}x{h}: {frames} frames, {through_shm} through shared memory");
    drop(latest);
    let _ = commands.stop();
    drop(commands);
    drop(reader); // frames still on their way must not block the helper's exit
    let _ = child.wait();
    // The same drawing and encoding in this process.
    let mut pattern = Pattern::new("bench", w, h, FPS);
    let mut enc = Encoder::new(&EncoderConfig::default()).map_err(failed)?;
    let (t0, c0, mut n) = (Instant::now(), thread_cpu(), 0u64);
    while t0.elapsed().as_secs_f64() < seconds.min(2.0) {
        let frame = pattern.draw(n, SystemTime::now(), PixelFormat::Yuv420);
        std::hint::black_box(enc.encode(&frame).map_err(failed)?);
        n += 1;
    }
    Ok((helper_cpu, (thread_cpu() - c0) / n.max(1) as u32))
}
