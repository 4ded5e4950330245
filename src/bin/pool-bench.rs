//! `pool-bench`: JPEG encoding throughput per pixel format, resolution and worker count.
//!
//! For each format (rgb888, bgr888, yuv420, nv12) and size (640×480, 1280×720, 1920×1080) it
//! measures, in the same run and on the same picture:
//! - `tj ms`: libjpeg-turbo called directly (`turbojpeg`, one thread), ms per frame. NV12 is
//!   given to it already split into planes (libjpeg-turbo cannot read interleaved chroma), so its
//!   figure leaves out the split our encoder does;
//! - `enc ms`: the crate's [`Encoder`] on one thread, ms per frame (NV12 includes the split);
//! - `1w`/`2w`/`3w`: frames per second sustained through the [`EncodePool`] with 1, 2, 3
//!   workers: a feeder offers frames as fast as the pool accepts them (the copy into a worker's
//!   buffer included, a busy pool is retried after 100 µs) for `--secs`, and the published
//!   frames are counted.
//!
//! All at the same quality (default 80) and 4:2:0 chroma, so the formats are compared at equal
//! output. The picture is synthetic but camera-like (gradients, edges, sensor-like noise),
//! because encode time depends on content: flat test bars would flatter every figure.
//!
//! Run: `cargo run --release --bin pool-bench -- [--secs 2] [--quality 80]`.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use clap::Parser;
use streamserver::encode_pool::{EncodePool, EncodePoolConfig, Offer};
use streamserver::encoder::{Encoder, EncoderSettings, PixelFormat, Plane, RawFrame, Subsampling};
use streamserver::frame::LatestFrame;
use streamserver::source::FrameSink;
use streamserver::stats::StreamStats;

#[derive(Parser)]
#[command(about = "JPEG encode throughput per pixel format, size and worker count")]
struct Args {
    /// Seconds per pool case (and per single-thread measurement, at most).
    #[arg(long, default_value_t = 2.0)]
    secs: f64,
    /// JPEG quality 1-100.
    #[arg(long, default_value_t = 80)]
    quality: u8,
}

const SIZES: [(usize, usize); 3] = [(640, 480), (1280, 720), (1920, 1080)];
const WORKERS: [usize; 3] = [1, 2, 3];

/// One picture in one format: the planes and their strides (tight).
struct Picture {
    format: PixelFormat,
    width: usize,
    height: usize,
    planes: [Vec<u8>; 3],
}

impl Picture {
    fn raw(&self) -> RawFrame<'_> {
        let strides = self.format.min_strides(self.width);
        let plane = |i: usize| Plane {
            data: &self.planes[i],
            stride: strides[i],
        };
        RawFrame {
            format: self.format,
            width: self.width,
            height: self.height,
            planes: [plane(0), plane(1), plane(2)],
        }
    }
}

/// A camera-like RGB picture: smooth gradients, a few hard edges, ±6 levels of noise.
fn scene(w: usize, h: usize) -> Vec<u8> {
    let mut rgb = vec![0u8; w * h * 3];
    let mut seed: u32 = 0x9E37_79B9;
    for y in 0..h {
        for x in 0..w {
            let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
            let wave = ((fx * 12.0).sin() * (fy * 9.0).cos() * 40.0) as i32;
            let edge = if (x / (w / 8).max(1) + y / (h / 6).max(1)).is_multiple_of(2) {
                30
            } else {
                -30
            };
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let noise = (seed % 13) as i32 - 6;
            let base = [
                (fx * 200.0) as i32 + 30,
                (fy * 180.0) as i32 + 40,
                ((1.0 - fx) * 160.0) as i32 + 50,
            ];
            for c in 0..3 {
                rgb[(y * w + x) * 3 + c] = (base[c] + wave + edge + noise).clamp(0, 255) as u8;
            }
        }
    }
    rgb
}

/// The same scene in each format (full-range BT.601, what JFIF uses; chroma averaged 2×2).
fn picture(format: PixelFormat, w: usize, h: usize, rgb: &[u8]) -> Picture {
    let px = |x: usize, y: usize| {
        let i = (y * w + x) * 3;
        (rgb[i] as f32, rgb[i + 1] as f32, rgb[i + 2] as f32)
    };
    let planes = match format {
        PixelFormat::Rgb888 => [rgb.to_vec(), Vec::new(), Vec::new()],
        PixelFormat::Bgr888 => [
            rgb.chunks_exact(3)
                .flat_map(|p| [p[2], p[1], p[0]])
                .collect(),
            Vec::new(),
            Vec::new(),
        ],
        PixelFormat::Yuv420 | PixelFormat::Nv12 => {
            let luma = (0..h)
                .flat_map(|y| (0..w).map(move |x| (y, x)))
                .map(|(y, x)| {
                    let (r, g, b) = px(x, y);
                    (0.299 * r + 0.587 * g + 0.114 * b).round() as u8
                })
                .collect();
            let (cw, ch) = (w / 2, h / 2);
            let (mut u, mut v) = (Vec::with_capacity(cw * ch), Vec::with_capacity(cw * ch));
            for cy in 0..ch {
                for cx in 0..cw {
                    let (mut r, mut g, mut b) = (0.0, 0.0, 0.0);
                    for (dx, dy) in [(0, 0), (1, 0), (0, 1), (1, 1)] {
                        let p = px(cx * 2 + dx, cy * 2 + dy);
                        (r, g, b) = (r + p.0 / 4.0, g + p.1 / 4.0, b + p.2 / 4.0);
                    }
                    u.push((128.0 - 0.168_736 * r - 0.331_264 * g + 0.5 * b).round() as u8);
                    v.push((128.0 + 0.5 * r - 0.418_688 * g - 0.081_312 * b).round() as u8);
                }
            }
            if format == PixelFormat::Yuv420 {
                [luma, u, v]
            } else {
                let uv = u.iter().zip(&v).flat_map(|(&u, &v)| [u, v]).collect();
                [luma, uv, Vec::new()]
            }
        }
    };
    Picture {
        format,
        width: w,
        height: h,
        planes,
    }
}

/// Mean ms per call of `f`, over at most `budget` (and at most 200 calls, at least 5).
fn time_per_call(budget: Duration, mut f: impl FnMut()) -> f64 {
    f(); // warm-up: output buffers grow once
    let t = Instant::now();
    let mut n = 0u32;
    while n < 5 || (n < 200 && t.elapsed() < budget) {
        f();
        n += 1;
    }
    t.elapsed().as_secs_f64() * 1000.0 / f64::from(n)
}

/// libjpeg-turbo called directly, one thread (NV12: from pre-split planes).
fn turbo_ms(p: &Picture, quality: u8, budget: Duration) -> f64 {
    let mut c = turbojpeg::Compressor::new().unwrap();
    c.set_quality(i32::from(quality)).unwrap();
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2).unwrap();
    let (w, h) = (p.width, p.height);
    let (split_u, split_v): (Vec<u8>, Vec<u8>) = if p.format == PixelFormat::Nv12 {
        let uv = &p.planes[1];
        (
            uv.iter().step_by(2).copied().collect(),
            uv.iter().skip(1).step_by(2).copied().collect(),
        )
    } else {
        (Vec::new(), Vec::new())
    };
    // A reused worst-case output buffer, like the encoder's: the bare library call is timed.
    let mut out =
        vec![0u8; turbojpeg::compressed_buf_len(w, h, turbojpeg::Subsamp::Sub2x2).unwrap()];
    time_per_call(budget, || match p.format {
        PixelFormat::Rgb888 | PixelFormat::Bgr888 => {
            let image = turbojpeg::Image {
                pixels: &p.planes[0][..],
                width: w,
                pitch: w * 3,
                height: h,
                format: if p.format == PixelFormat::Rgb888 {
                    turbojpeg::PixelFormat::RGB
                } else {
                    turbojpeg::PixelFormat::BGR
                },
            };
            let mut buf = turbojpeg::OutputBuf::borrowed(&mut out);
            c.compress(image, &mut buf).unwrap();
            std::hint::black_box(buf.len());
        }
        PixelFormat::Yuv420 | PixelFormat::Nv12 => {
            let (u, v) = if p.format == PixelFormat::Yuv420 {
                (&p.planes[1][..], &p.planes[2][..])
            } else {
                (&split_u[..], &split_v[..])
            };
            let image = turbojpeg::YuvPlanesImage {
                y_plane: &p.planes[0][..],
                u_plane: u,
                v_plane: v,
                width: w,
                height: h,
                y_stride: w,
                u_stride: w / 2,
                v_stride: w / 2,
                subsamp: turbojpeg::Subsamp::Sub2x2,
            };
            let mut buf = turbojpeg::OutputBuf::borrowed(&mut out);
            c.compress_yuv_planes(&image, &mut buf).unwrap();
            std::hint::black_box(buf.len());
        }
    })
}

/// Frames per second published through a pool of `workers` fed as fast as it accepts frames.
fn pool_fps(p: &Picture, settings: EncoderSettings, workers: usize, secs: f64) -> f64 {
    let sink = FrameSink::new(
        LatestFrame::new(),
        Arc::new(StreamStats::new("bench", "test")),
    );
    let config = EncodePoolConfig {
        workers,
        idle: false,
        idle_after: Duration::from_secs(3600),
    };
    let mut pool = EncodePool::new("bench", settings, config, sink.clone()).unwrap();
    let raw = p.raw();
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < secs {
        if pool.offer(&raw, SystemTime::now()).unwrap() == Offer::Busy {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let cutoff = sink.stats.frames_captured.total();
    let elapsed = t.elapsed().as_secs_f64();
    drop(pool); // joins the workers (frames finishing after the cutoff are not counted)
    cutoff as f64 / elapsed
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let load: Vec<&str> = load.split_whitespace().take(3).collect();
    format!(
        "{cpu}, {cores} cores available, load average {}",
        load.join(" ")
    )
}

fn main() {
    let args = Args::parse();
    let settings = EncoderSettings {
        quality: args.quality,
        subsampling: Subsampling::S420,
    };
    let budget = Duration::from_secs_f64(args.secs.min(1.0));
    println!("machine: {}", machine());
    println!(
        "quality {}, 4:2:0, {} s per pool case; tj/enc = one thread, ms per frame; 1w-3w = pool fps\n",
        args.quality, args.secs
    );
    println!("| format | size | KB | tj ms | tj fps | enc ms | 1w fps | 2w fps | 3w fps |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for (w, h) in SIZES {
        let rgb = scene(w, h);
        for format in PixelFormat::ALL {
            let p = picture(format, w, h, &rgb);
            let mut enc = Encoder::new(settings).unwrap();
            let kb = enc.encode(&p.raw()).unwrap().len() as f64 / 1024.0;
            let tj = turbo_ms(&p, args.quality, budget);
            let ours = time_per_call(budget, || {
                std::hint::black_box(enc.encode(&p.raw()).unwrap());
            });
            let fps: Vec<String> = WORKERS
                .iter()
                .map(|&n| format!("{:.1}", pool_fps(&p, settings, n, args.secs)))
                .collect();
            println!(
                "| {} | {w}×{h} | {kb:.0} | {tj:.2} | {:.1} | {ours:.2} | {} |",
                format.name(),
                1000.0 / tj,
                fps.join(" | ")
            );
        }
    }
}
