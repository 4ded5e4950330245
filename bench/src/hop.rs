//! What moving the camera into its own process costs: the hop of each JPEG from the camera
//! helper to the server, next to the encode that precedes it, at 640×480, 1280×720 and
//! 1920×1080, 30 fps.
//!
//! - **hop** (the path frames take, protocol 2): a helper thread encodes the picture (not
//!   counted; as in the helper's encode worker, the JPEG is then warm in its cache), copies it
//!   into a free slot of a region of shared memory and writes a FrameShm message into an OS
//!   pipe; a server thread reads it with the protocol's reader, which leases the slot as a
//!   `Bytes`, and keeps the newest frame as the latest-frame slot does (dropping the previous
//!   one, which frees its slot). CPU per frame = the helper thread's around the copy and the
//!   write (`CLOCK_THREAD_CPUTIME_ID`) + the server thread's whole loop (waking for the pipe
//!   included). At 30 fps, and back to back (the same JPEG again and again, no encode: the
//!   floor). Latency: from before the copy to the server having the `Bytes`. The first
//!   [`WARMUP`] frames are not counted.
//! - **inline**: the same with the JPEG inside a Frame message through the pipe (the fallback
//!   when the server holds every slot, and the only path before protocol 2).
//! - **encode**: the same picture encoded in this process, CPU per frame.
//! - **helper**: the real `streamserver-camera run --synthetic` (found next to this binary) with
//!   a region of shared memory, read like the server reads it: the helper's CPU per frame (from
//!   `/proc`) — drawing the test pattern + encoding + the hop — next to drawing + encoding in
//!   this process.

use std::fmt::Write as _;
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use streamserver::config::{CameraConfig, EncoderConfig, PixelFormat};
use streamserver::pipeline::encoder::Encoder;
use streamserver::source::camera::protocol::{
    unix_ns, CommandWriter, FrameInfo, Hello, HelperSettings, Limits, Message, MessageReader,
    MessageWriter, ProtocolError, Started,
};
use streamserver::source::camera::shm::{self, FrameRegion, ShmError, ShmLayout, SlotWriter};
use streamserver::source::test_pattern::Pattern;

use crate::picture::Picture;

/// Sizes measured.
pub const SIZES: [(usize, usize); 3] = [(640, 480), (1280, 720), (1920, 1080)];
const FPS: f64 = 30.0;
/// Frames at the start of a hop run that are not counted (first touches of the slots' pages).
pub const WARMUP: u64 = 30;
/// `max_frame_bytes` of the runs (the default).
const MAX_FRAME_BYTES: usize = 16 << 20;

#[derive(Debug, thiserror::Error)]
pub enum HopError {
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Shm(#[from] ShmError),
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
}

fn failed(e: impl std::fmt::Display) -> HopError {
    HopError::Failed(e.to_string())
}

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    // SAFETY: clock_gettime fills the timespec it is given.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

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

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v.get(((v.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or_default()
}

/// Runs every size for `seconds`; returns the Markdown table.
pub fn run(seconds: f64, helper: Option<&Path>) -> Result<String, HopError> {
    let helper = match helper {
        Some(h) => h.to_owned(),
        None => std::env::current_exe()?.with_file_name("streamserver-camera"),
    };
    let mut out = format!(
        "30 fps, YUV420, quality 80. hop = CPU per frame of the helper's copy into a slot of \
         shared memory + its FrameShm message + the server reading it and leasing the slot as \
         a `Bytes` (both threads); inline = the same with the JPEG in a Frame message through \
         the pipe; latency from before the copy (or write) to the server having the frame; \
         the first {WARMUP} frames are not counted. helper = the real helper's CPU per frame \
         (draw the test pattern + encode + hop) next to drawing + encoding the same in one \
         process.\n\n\
         | size | JPEG KiB | encode (ms CPU) | hop at 30 fps (µs CPU) | hop / encode | hop back to back (µs CPU) | b2b / encode | hop latency p50 / p99 (µs) | inline at 30 fps (µs CPU) | inline / encode | inline latency p50 / p99 (µs) | helper (ms CPU) | in-process draw + encode (ms CPU) | helper / in-process |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (w, h) in SIZES {
        eprintln!("hop {w}x{h}: {seconds} s per part…");
        let (encode, jpeg_bytes) = encode_cost(w, h, seconds)?;
        let mut shm = hop_cost(w, h, seconds, true, true)?;
        let b2b = hop_cost(w, h, seconds, false, true)?;
        let mut inline = hop_cost(w, h, seconds, true, false)?;
        let (helper_cpu, inproc) = helper_cost(&helper, w, h, seconds)?;
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let share = |d: Duration| d.as_secs_f64() / encode.as_secs_f64() * 100.0;
        let _ = writeln!(
            out,
            "| {w}×{h} | {:.0} | {:.3} | {:.1} | {:.2} % | {:.1} | {:.2} % | {:.0} / {:.0} | {:.1} | {:.2} % | {:.0} / {:.0} | {:.3} | {:.3} | {:.2}× |",
            jpeg_bytes as f64 / 1024.0,
            encode.as_secs_f64() * 1e3,
            us(shm.cpu()),
            share(shm.cpu()),
            us(b2b.cpu()),
            share(b2b.cpu()),
            us(percentile(&mut shm.latency, 0.5)),
            us(percentile(&mut shm.latency, 0.99)),
            us(inline.cpu()),
            share(inline.cpu()),
            us(percentile(&mut inline.latency, 0.5)),
            us(percentile(&mut inline.latency, 0.99)),
            helper_cpu.as_secs_f64() * 1e3,
            inproc.as_secs_f64() * 1e3,
            helper_cpu.as_secs_f64() / inproc.as_secs_f64(),
        );
    }
    Ok(out)
}

/// CPU per encode of the benchmark picture, and the size of its JPEG.
fn encode_cost(w: usize, h: usize, seconds: f64) -> Result<(Duration, usize), HopError> {
    let pic = Picture::new(PixelFormat::Yuv420, w, h);
    let mut enc = Encoder::new(&EncoderConfig::default()).map_err(failed)?;
    let len = enc.encode(&pic.raw()).map_err(failed)?.len();
    let (t0, c0, mut n) = (Instant::now(), thread_cpu(), 0u32);
    while t0.elapsed().as_secs_f64() < seconds.min(2.0) {
        std::hint::black_box(enc.encode(&pic.raw()).map_err(failed)?);
        n += 1;
    }
    Ok(((thread_cpu() - c0) / n.max(1), len))
}

/// One hop run's figures, over the counted frames.
struct Hop {
    frames: u32,
    /// The helper thread's CPU (copy + message), all counted frames.
    helper: Duration,
    /// The server thread's CPU (wait, read, lease, drop the previous frame), all counted frames.
    server: Duration,
    latency: Vec<Duration>,
}

impl Hop {
    /// CPU per frame, both ends.
    fn cpu(&self) -> Duration {
        (self.helper + self.server) / self.frames.max(1)
    }
}

/// One run of `seconds` × 30 frames (plus [`WARMUP`]) from a helper thread to a server thread,
/// paced at 30 fps with an encode before each hop, or back to back; through shared memory
/// (`shared`) or inline.
fn hop_cost(w: usize, h: usize, seconds: f64, paced: bool, shared: bool) -> Result<Hop, HopError> {
    let (reader_end, writer_end) = std::io::pipe()?;
    let frames = (seconds * FPS) as u64 + WARMUP;
    let layout = ShmLayout::for_frames(MAX_FRAME_BYTES);
    let (region, slots) = if shared {
        let (region, fd) = FrameRegion::create("bench", layout)?;
        (Some(region), Some(SlotWriter::open(fd.as_fd(), &layout)?))
    } else {
        (None, None)
    };
    let helper = std::thread::Builder::new()
        .name("bench-helper".into())
        .spawn(move || -> Result<(Duration, Duration, u64), HopError> {
            let pic = Picture::new(PixelFormat::Yuv420, w, h);
            let mut enc = Encoder::new(&EncoderConfig::default()).map_err(failed)?;
            let same = enc.encode(&pic.raw()).map_err(failed)?;
            let mut out = MessageWriter::hello(writer_end, &hello())?;
            out.started(&started(w, h))?;
            let (start, mut inline) = (Instant::now(), 0);
            let (mut copy, mut message) = (Duration::ZERO, Duration::ZERO);
            for seq in 1..=frames {
                let jpeg = if paced {
                    let due = start + Duration::from_secs_f64(seq as f64 / FPS);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                    enc.encode(&pic.raw()).map_err(failed)?
                } else {
                    same.clone()
                };
                let c0 = thread_cpu();
                let info = FrameInfo {
                    seq,
                    captured_unix_ns: unix_ns(SystemTime::now()),
                    width: w as u32,
                    height: h as u32,
                };
                let sent = slots.as_ref().and_then(|s| s.write(&jpeg));
                let c1 = thread_cpu();
                match sent {
                    Some(sent) => out.frame_shm(&info, sent.slot, sent.len)?,
                    None => {
                        inline += u64::from(slots.is_some());
                        out.frame(&info, &jpeg)?
                    }
                }
                if seq > WARMUP {
                    copy += c1 - c0;
                    message += thread_cpu() - c1;
                }
            }
            Ok((copy, message, inline))
        })?;
    let (mut reader, _) = MessageReader::handshake(reader_end, Limits::default())?;
    if let Some(region) = &region {
        reader.share_frames(Arc::clone(region));
    }
    match reader.read_message()? {
        Message::Started(_) => {}
        other => return Err(failed(format!("expected Started, got {other:?}"))),
    }
    let mut latency = Vec::with_capacity(frames as usize);
    let mut latest = None;
    let mut c0 = thread_cpu();
    for seq in 1..=frames {
        match reader.read_message()? {
            Message::Frame(f) => {
                if seq > WARMUP {
                    let now = unix_ns(SystemTime::now());
                    latency.push(Duration::from_nanos(
                        now.saturating_sub(f.info.captured_unix_ns),
                    ));
                }
                latest = Some(f.jpeg); // the previous frame is dropped: its slot is free
            }
            other => return Err(failed(format!("unexpected {other:?}"))),
        }
        if seq == WARMUP {
            c0 = thread_cpu();
        }
    }
    let server = thread_cpu() - c0;
    drop(latest);
    let (copy, message, inline) = helper
        .join()
        .map_err(|_| failed("the helper thread panicked"))??;
    let counted = (frames - WARMUP) as u32;
    let us = |d: Duration| d.as_secs_f64() * 1e6 / f64::from(counted);
    eprintln!(
        "  {} {w}x{h} ({}): helper {:.1} µs (copy {:.1} + message {:.1}), server {:.1} µs per frame{}",
        if shared { "hop" } else { "inline" },
        if paced { "30 fps" } else { "back to back" },
        us(copy + message),
        us(copy),
        us(message),
        us(server),
        if shared {
            format!(", {inline} of {frames} frames inline (no free slot)")
        } else {
            String::new()
        }
    );
    Ok(Hop {
        frames: counted,
        helper: copy + message,
        server,
        latency,
    })
}

fn hello() -> Hello {
    Hello {
        helper_version: "bench".into(),
        libcamera_built: "none".into(),
        libcamera_loaded: "none".into(),
    }
}

fn started(w: usize, h: usize) -> Started {
    Started {
        width: w as u32,
        height: h as u32,
        format: "YUV420".into(),
        fps: FPS,
        camera_id: "bench".into(),
        model: "bench".into(),
    }
}

/// The real synthetic helper's CPU per frame (frames through its shared memory, as the server
/// runs it), and drawing + encoding the same in this process.
fn helper_cost(
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
