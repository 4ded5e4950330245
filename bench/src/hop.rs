//! What moving the camera into its own process costs: the hop of each JPEG from the camera
//! helper to the server (the protocol's Frame message through a pipe), next to the encode that
//! precedes it, at 640×480, 1280×720 and 1920×1080, 30 fps.
//!
//! - **hop**: a writer thread sends Frame messages (a real encoded frame of that size) through an
//!   OS pipe, paced at 30 fps, to a reader thread; both threads' CPU time (`CLOCK_THREAD_CPUTIME_ID`)
//!   per frame, and the latency from just before the write to the reader having the frame.
//! - **encode**: the same picture encoded in this process, CPU per frame.
//! - **helper**: the real `streamserver-camera run --synthetic` (found next to this binary),
//!   read like the server reads it: the helper's CPU per frame (from `/proc`), which is drawing
//!   the test pattern + encoding + writing, next to drawing + encoding in this process.

use std::fmt::Write as _;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use streamserver::config::{CameraConfig, EncoderConfig, PixelFormat};
use streamserver::pipeline::encoder::Encoder;
use streamserver::source::camera::protocol::{
    unix_ns, CommandWriter, FrameInfo, Hello, HelperSettings, Limits, Message, MessageReader,
    MessageWriter, Started,
};
use streamserver::source::test_pattern::Pattern;

use crate::picture::Picture;

/// Sizes measured.
pub const SIZES: [(usize, usize); 3] = [(640, 480), (1280, 720), (1920, 1080)];
const FPS: f64 = 30.0;

#[derive(Debug, thiserror::Error)]
pub enum HopError {
    #[error("{0}")]
    Failed(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
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
    let mut out = String::from(
        "30 fps, YUV420, quality 80. hop = writer + reader thread CPU per frame for a Frame \
         message through an OS pipe; latency from before the write to the reader having it. \
         helper = the real helper's CPU per frame (draw the test pattern + encode + write) next \
         to drawing + encoding the same in one process.\n\n\
         | size | JPEG KiB | encode (ms CPU) | hop at 30 fps (µs CPU) | hop / encode | hop back to back (µs CPU) | b2b / encode | hop latency p50 / p99 (µs) | helper (ms CPU) | in-process draw + encode (ms CPU) | helper / in-process |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (w, h) in SIZES {
        eprintln!("hop {w}x{h}: {seconds} s per part…");
        let (encode, jpeg) = encode_cost(w, h, seconds)?;
        let (hop, mut lat) = hop_cost(&jpeg, w, h, seconds, true)?;
        let (hop_b2b, _) = hop_cost(&jpeg, w, h, seconds, false)?;
        let (helper_cpu, inproc) = helper_cost(&helper, w, h, seconds)?;
        let _ = writeln!(
            out,
            "| {w}×{h} | {:.0} | {:.3} | {:.1} | {:.2} % | {:.1} | {:.2} % | {:.0} / {:.0} | {:.3} | {:.3} | {:.2}× |",
            jpeg.len() as f64 / 1024.0,
            encode.as_secs_f64() * 1e3,
            hop.as_secs_f64() * 1e6,
            hop.as_secs_f64() / encode.as_secs_f64() * 100.0,
            hop_b2b.as_secs_f64() * 1e6,
            hop_b2b.as_secs_f64() / encode.as_secs_f64() * 100.0,
            percentile(&mut lat, 0.5).as_secs_f64() * 1e6,
            percentile(&mut lat, 0.99).as_secs_f64() * 1e6,
            helper_cpu.as_secs_f64() * 1e3,
            inproc.as_secs_f64() * 1e3,
            helper_cpu.as_secs_f64() / inproc.as_secs_f64(),
        );
    }
    Ok(out)
}

/// CPU per encode of the benchmark picture, and one JPEG of it.
fn encode_cost(w: usize, h: usize, seconds: f64) -> Result<(Duration, Vec<u8>), HopError> {
    let pic = Picture::new(PixelFormat::Yuv420, w, h);
    let mut enc =
        Encoder::new(&EncoderConfig::default()).map_err(|e| HopError::Failed(e.to_string()))?;
    let jpeg = enc
        .encode(&pic.raw())
        .map_err(|e| HopError::Failed(e.to_string()))?
        .to_vec();
    let (t0, c0, mut n) = (Instant::now(), thread_cpu(), 0u32);
    while t0.elapsed().as_secs_f64() < seconds.min(2.0) {
        std::hint::black_box(enc.encode(&pic.raw()).expect("encoded once"));
        n += 1;
    }
    Ok(((thread_cpu() - c0) / n.max(1), jpeg))
}

/// CPU per frame of both ends of the pipe, and each frame's latency.
fn hop_cost(
    jpeg: &[u8],
    w: usize,
    h: usize,
    seconds: f64,
    paced: bool,
) -> Result<(Duration, Vec<Duration>), HopError> {
    let (reader_end, writer_end) = std::io::pipe()?;
    let frames = (seconds * FPS) as u64;
    let jpeg = jpeg.to_vec();
    let writer = std::thread::spawn(move || -> Duration {
        let hello = Hello {
            helper_version: "bench".into(),
            libcamera_built: "none".into(),
            libcamera_loaded: "none".into(),
        };
        let mut out = MessageWriter::hello(writer_end, &hello).expect("a pipe takes the hello");
        out.started(&Started {
            width: w as u32,
            height: h as u32,
            format: "YUV420".into(),
            fps: FPS,
            camera_id: "bench".into(),
            model: "bench".into(),
        })
        .expect("a pipe takes Started");
        let start = Instant::now();
        let c0 = thread_cpu();
        for seq in 1..=frames {
            if paced {
                let due = start + Duration::from_secs_f64(seq as f64 / FPS);
                std::thread::sleep(due.saturating_duration_since(Instant::now()));
            }
            let info = FrameInfo {
                seq,
                captured_unix_ns: unix_ns(SystemTime::now()),
                width: w as u32,
                height: h as u32,
            };
            out.frame(&info, &jpeg).expect("the reader reads");
        }
        thread_cpu() - c0
    });
    let (mut reader, _) = MessageReader::handshake(reader_end, Limits::default())
        .map_err(|e| HopError::Failed(e.to_string()))?;
    let c0 = thread_cpu();
    let mut lat = Vec::with_capacity(frames as usize);
    match reader.read_message() {
        Ok(Message::Started(_)) => {}
        other => return Err(HopError::Failed(format!("expected Started, got {other:?}"))),
    }
    for _ in 0..frames {
        match reader.read_message() {
            Ok(Message::Frame(f)) => {
                let now = unix_ns(SystemTime::now());
                lat.push(Duration::from_nanos(
                    now.saturating_sub(f.info.captured_unix_ns),
                ));
            }
            other => return Err(HopError::Failed(format!("unexpected {other:?}"))),
        }
    }
    let reader_cpu = thread_cpu() - c0;
    let writer_cpu = writer
        .join()
        .map_err(|_| HopError::Failed("writer panicked".into()))?;
    eprintln!(
        "  hop {w}x{h} ({}): writer {:.1} µs, reader {:.1} µs per frame",
        if paced { "30 fps" } else { "back to back" },
        writer_cpu.as_secs_f64() * 1e6 / frames as f64,
        reader_cpu.as_secs_f64() * 1e6 / frames as f64
    );
    Ok(((reader_cpu + writer_cpu) / frames.max(1) as u32, lat))
}

/// The real synthetic helper's CPU per frame, and drawing + encoding the same in this process.
fn helper_cost(
    helper: &Path,
    w: usize,
    h: usize,
    seconds: f64,
) -> Result<(Duration, Duration), HopError> {
    let mut child = Command::new(helper)
        .args(["run", "--synthetic"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            HopError::Failed(format!(
                "{}: {e} (build it: cargo build --release --workspace)",
                helper.display()
            ))
        })?;
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
        max_frame_bytes: 64 << 20,
    };
    let mut commands = CommandWriter::new(child.stdin.take().expect("piped"));
    let (mut reader, _) = MessageReader::handshake(
        child.stdout.take().expect("piped"),
        Limits {
            max_frame_bytes: 64 << 20,
            ..Limits::default()
        },
    )
    .map_err(|e| HopError::Failed(e.to_string()))?;
    commands
        .start(&settings)
        .map_err(|e| HopError::Failed(e.to_string()))?;
    // Warm up one second, then count.
    let mut frames = 0u32;
    let mut counting: Option<(Instant, Duration)> = None;
    loop {
        match reader.read_message() {
            Ok(Message::Frame(_)) => {
                match counting {
                    None if frames as f64 >= FPS => {
                        counting = Some((Instant::now(), process_cpu(child.id())?));
                        frames = 0;
                    }
                    Some((t0, _)) if t0.elapsed().as_secs_f64() >= seconds => break,
                    _ => {}
                }
                frames += 1;
            }
            Ok(Message::Failed(f)) => {
                return Err(HopError::Failed(format!("the helper failed: {f}")))
            }
            Ok(_) => {}
            Err(e) => return Err(HopError::Failed(e.to_string())),
        }
    }
    let (_, c0) = counting.expect("counting started");
    let helper_cpu = (process_cpu(child.id())? - c0) / frames.max(1);
    let _ = commands.stop();
    drop(commands);
    let _ = child.wait();
    let mut rest = Vec::new();
    let _ = child.stdout.take().map(|mut s| s.read_to_end(&mut rest));
    // The same drawing and encoding in this process.
    let mut pattern = Pattern::new("bench", w, h, FPS);
    let mut enc =
        Encoder::new(&EncoderConfig::default()).map_err(|e| HopError::Failed(e.to_string()))?;
    let (t0, c0, mut n) = (Instant::now(), thread_cpu(), 0u64);
    while t0.elapsed().as_secs_f64() < seconds.min(2.0) {
        let frame = pattern.draw(n, SystemTime::now(), PixelFormat::Yuv420);
        std::hint::black_box(enc.encode(&frame).expect("encodes"));
        n += 1;
    }
    Ok((helper_cpu, (thread_cpu() - c0) / n.max(1) as u32))
}
