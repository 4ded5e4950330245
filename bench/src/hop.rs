//! What moving the camera into its own process costs: the hop of each JPEG from the camera
//! helper to the server, next to the encode that precedes it, at 640×480, 1280×720 and
//! 1920×1080, 30 fps.
//!
//! - **direct** (the path frames take): a helper thread claims a free slot of a region of shared
//!   memory, encodes the picture straight into it, marks it sent and writes a FrameShm message
//!   into an OS pipe; a server thread reads it with the protocol's reader, which leases the slot
//!   as a `Bytes`, and keeps the newest frame as the latest-frame slot does (dropping the
//!   previous one, which frees its slot). The encode cannot be told apart from the hop here, so
//!   the same run alternates direct frames with **copy** frames (the path before: encode into
//!   the encoder's buffer, copy into a free slot, FrameShm), and a direct frame's hop is its
//!   helper CPU (claim + encode + send + message) minus the mean CPU of a copy frame's encode,
//!   plus its server thread's CPU; a copy frame's hop is its copy + message + server CPU. So
//!   anything the direct path saves or costs in the encode itself (no output copy; stores into
//!   memory gone cold) shows in its hop. CPU is each thread's `CLOCK_THREAD_CPUTIME_ID`.
//!   Back to back: copy frames of the same JPEG again and again, no encode (the floor of the
//!   hand-over). Latency: from the JPEG complete to the server having the `Bytes`. The first
//!   [`WARMUP`] frames are not counted.
//! - **inline**: the JPEG inside a Frame message through the pipe (the fallback when the server
//!   holds every slot, and the only path before protocol 2).
//! - **encode**: the same picture encoded in this process, back to back, CPU per frame.
//! - **helper** ([`helper`]): the real `streamserver-camera run --synthetic` with a region of
//!   shared memory, read like the server reads it: its CPU per frame next to drawing + encoding
//!   in this process.

mod helper;

use std::fmt::Write as _;
use std::os::fd::AsFd;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use streamserver::config::{EncoderConfig, PixelFormat};
use streamserver::pipeline::encoder::Encoder;
use streamserver::source::camera::protocol::{
    unix_ns, FrameInfo, Hello, Limits, Message, MessageReader, MessageWriter, ProtocolError,
    Started,
};
use streamserver::source::camera::shm::{FrameRegion, ShmError, ShmLayout, SlotWriter};

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
        "30 fps, YUV420, quality 80. direct = CPU per frame of the hop as the helper makes it: \
         a slot of shared memory claimed, the JPEG encoded straight into it (minus the same \
         run's copy-frame encode into the encoder's buffer, hence the standard error), its \
         FrameShm message, the server \
         reading it and leasing the slot as a `Bytes` (both threads); copy = the path before \
         (the JPEG copied from the encoder's buffer into a slot), alternating with direct frames \
         in the same run; inline = the JPEG in a Frame message through the pipe; latency from \
         the JPEG complete to the server having the frame; the first {WARMUP} frames are not \
         counted. helper = the real helper's CPU per frame (draw the test pattern + encode + \
         hop) next to drawing + encoding the same in one process.\n\n\
         | size | JPEG KiB | encode (ms CPU) | direct at 30 fps (µs CPU, ± standard error) | direct / encode | copy at 30 fps (µs CPU) | copy / encode | copy back to back (µs CPU) | b2b / encode | direct latency p50 / p99 (µs) | inline at 30 fps (µs CPU) | inline / encode | inline latency p50 / p99 (µs) | helper (ms CPU) | in-process draw + encode (ms CPU) | helper / in-process |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for (w, h) in SIZES {
        eprintln!("hop {w}x{h}: {seconds} s per part…");
        let (encode, jpeg_bytes) = encode_cost(w, h, seconds)?;
        let [mut direct, copy] = hop_cost(w, h, seconds, true, [Route::Direct, Route::Copy])?;
        let [b2b, _] = hop_cost(w, h, seconds, false, [Route::Copy, Route::Copy])?;
        let [mut inline, _] = hop_cost(w, h, seconds, true, [Route::Inline, Route::Inline])?;
        let (helper_cpu, inproc) = helper::helper_cost(&helper, w, h, seconds)?;
        // The direct frames' encode is in their helper CPU: take the copy frames' encode out.
        let direct_us = direct.cpu_us() - copy.encode_us();
        // Its uncertainty: two means of a few ms each, subtracted.
        let direct_se =
            (Hop::std_error(&direct.totals).powi(2) + Hop::std_error(&copy.encodes).powi(2)).sqrt();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let share = |us: f64| us / (encode.as_secs_f64() * 1e6) * 100.0;
        let _ = writeln!(
            out,
            "| {w}×{h} | {:.0} | {:.3} | {:.1} ± {:.1} | {:.2} % | {:.1} | {:.2} % | {:.1} | {:.2} % | {:.0} / {:.0} | {:.1} | {:.2} % | {:.0} / {:.0} | {:.3} | {:.3} | {:.2}× |",
            jpeg_bytes as f64 / 1024.0,
            encode.as_secs_f64() * 1e3,
            direct_us,
            direct_se,
            share(direct_us),
            copy.cpu_us(),
            share(copy.cpu_us()),
            b2b.cpu_us(),
            share(b2b.cpu_us()),
            us(percentile(&mut direct.latency, 0.5)),
            us(percentile(&mut direct.latency, 0.99)),
            inline.cpu_us(),
            share(inline.cpu_us()),
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

/// How a frame of a hop run goes from the helper thread to the server thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// Encoded straight into a claimed slot, then FrameShm.
    Direct,
    /// Encoded into the encoder's buffer, copied into a free slot, then FrameShm.
    Copy,
    /// Encoded into the encoder's buffer, then a Frame message with the JPEG.
    Inline,
}

/// One path's figures in a hop run, over its counted frames.
#[derive(Default)]
struct Hop {
    frames: u32,
    /// The helper thread's CPU from the JPEG complete to the message written; for a direct
    /// frame from before the slot is claimed (so its encode is in it).
    helper: Duration,
    /// The helper thread's CPU encoding into the encoder's buffer (copy and inline frames).
    encode: Duration,
    /// The server thread's CPU (wait, read, lease, drop the previous frame).
    server: Duration,
    latency: Vec<Duration>,
    /// Each counted frame's helper-thread CPU, encode included, in µs (for the spread).
    totals: Vec<f64>,
    /// Each counted frame's encode into the encoder's buffer, in µs (copy and inline frames).
    encodes: Vec<f64>,
}

impl Hop {
    /// CPU per frame, both ends, in µs.
    fn cpu_us(&self) -> f64 {
        (self.helper + self.server).as_secs_f64() * 1e6 / f64::from(self.frames.max(1))
    }

    /// CPU per encode into the encoder's buffer, in µs.
    /// The standard error of the mean of `v`.
    fn std_error(v: &[f64]) -> f64 {
        let n = v.len().max(2) as f64;
        let mean = v.iter().sum::<f64>() / n;
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) / n).sqrt()
    }

    fn encode_us(&self) -> f64 {
        self.encode.as_secs_f64() * 1e6 / f64::from(self.frames.max(1))
    }
}

/// One run of `seconds` × 30 frames (plus [`WARMUP`]) from a helper thread to a server thread,
/// paced at 30 fps with an encode before each hop, or back to back (the same JPEG, copy or
/// inline only); frame `seq` takes `paths[seq % 2]`. Returns each path's figures (with one
/// path twice, all of them in the first).
fn hop_cost(
    w: usize,
    h: usize,
    seconds: f64,
    paced: bool,
    paths: [Route; 2],
) -> Result<[Hop; 2], HopError> {
    let (reader_end, writer_end) = std::io::pipe()?;
    let frames = (seconds * FPS) as u64 + WARMUP;
    let layout = ShmLayout::for_frames(MAX_FRAME_BYTES);
    let shared = paths.iter().any(|&p| p != Route::Inline);
    let (region, slots) = if shared {
        let (region, fd) = FrameRegion::create("bench", layout)?;
        (Some(region), Some(SlotWriter::open(fd.as_fd(), &layout)?))
    } else {
        (None, None)
    };
    // Which half of the figures frame `seq` counts in: alternate paths, or one path in both.
    let lane = move |seq: u64| {
        if paths[0] == paths[1] {
            0
        } else {
            (seq % 2) as usize
        }
    };
    let helper = std::thread::Builder::new()
        .name("bench-helper".into())
        .spawn(move || -> Result<[Hop; 2], HopError> {
            let pic = Picture::new(PixelFormat::Yuv420, w, h);
            let mut enc = Encoder::new(&EncoderConfig::default()).map_err(failed)?;
            let same = enc.encode(&pic.raw()).map_err(failed)?;
            let mut out = MessageWriter::hello(writer_end, &hello())?;
            out.started(&started(w, h))?;
            let (start, mut hops) = (Instant::now(), [Hop::default(), Hop::default()]);
            let mut inline = 0u64;
            for seq in 1..=frames {
                if paced {
                    let due = start + Duration::from_secs_f64(seq as f64 / FPS);
                    std::thread::sleep(due.saturating_duration_since(Instant::now()));
                }
                let path = paths[(seq % 2) as usize];
                let c0 = thread_cpu();
                let mut info = FrameInfo {
                    seq,
                    captured_unix_ns: 0,
                    width: w as u32,
                    height: h as u32,
                };
                let c1 = if path == Route::Direct {
                    let mut slot = slots
                        .as_ref()
                        .and_then(|s| s.reserve())
                        .ok_or_else(|| failed("no free slot"))?;
                    let len = enc.encode_into(&pic.raw(), slot.buf()).map_err(failed)?;
                    let sent = slot.send(len).ok_or_else(|| failed("an empty JPEG"))?;
                    info.captured_unix_ns = unix_ns(SystemTime::now());
                    out.frame_shm(&info, sent.slot, sent.len)?;
                    c0
                } else {
                    let jpeg = if paced {
                        enc.encode(&pic.raw()).map_err(failed)?
                    } else {
                        same.clone()
                    };
                    let c1 = thread_cpu();
                    info.captured_unix_ns = unix_ns(SystemTime::now());
                    match slots.as_ref().and_then(|s| s.write(&jpeg)) {
                        Some(sent) if path == Route::Copy => {
                            out.frame_shm(&info, sent.slot, sent.len)?
                        }
                        Some(_) => return Err(failed("an inline run with shared memory")),
                        None => {
                            // Copy frames too when the server holds every slot (back to back).
                            inline += u64::from(path == Route::Copy);
                            out.frame(&info, &jpeg)?
                        }
                    }
                    c1
                };
                if seq > WARMUP {
                    let hop = &mut hops[lane(seq)];
                    hop.frames += 1;
                    let c2 = thread_cpu();
                    hop.encode += c1 - c0;
                    hop.helper += c2 - c1;
                    hop.totals.push((c2 - c0).as_secs_f64() * 1e6);
                    hop.encodes.push((c1 - c0).as_secs_f64() * 1e6);
                }
            }
            if inline > 0 {
                eprintln!("  {inline} of {frames} copy frames inline (no free slot)");
            }
            Ok(hops)
        })?;
    let (mut reader, _) = MessageReader::handshake(reader_end, Limits::default())?;
    if let Some(region) = &region {
        reader.share_frames(Arc::clone(region));
    }
    match reader.read_message()? {
        Message::Started(_) => {}
        other => return Err(failed(format!("expected Started, got {other:?}"))),
    }
    let (mut server, mut latency) = ([Duration::ZERO; 2], [Vec::new(), Vec::new()]);
    let mut latest = None;
    for seq in 1..=frames {
        let c0 = thread_cpu();
        match reader.read_message()? {
            Message::Frame(f) => {
                if seq > WARMUP {
                    let now = unix_ns(SystemTime::now());
                    latency[lane(seq)].push(Duration::from_nanos(
                        now.saturating_sub(f.info.captured_unix_ns),
                    ));
                }
                latest = Some(f.jpeg); // the previous frame is dropped: its slot is free
            }
            other => return Err(failed(format!("unexpected {other:?}"))),
        }
        if seq > WARMUP {
            server[lane(seq)] += thread_cpu() - c0;
        }
    }
    drop(latest);
    let mut hops = helper
        .join()
        .map_err(|_| failed("the helper thread panicked"))??;
    for (i, hop) in hops.iter_mut().enumerate() {
        hop.server = server[i];
        hop.latency = std::mem::take(&mut latency[i]);
    }
    let per = |d: Duration, hop: &Hop| d.as_secs_f64() * 1e6 / f64::from(hop.frames.max(1));
    for (path, hop) in paths.iter().zip(&hops).filter(|(_, hop)| hop.frames > 0) {
        eprintln!(
            "  {path:?} {w}x{h} ({}): encode {:.1} µs, helper {:.1} µs, server {:.1} µs per frame",
            if paced { "30 fps" } else { "back to back" },
            per(hop.encode, hop),
            per(hop.helper, hop),
            per(hop.server, hop),
        );
    }
    Ok(hops)
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
