//! Encoding throughput per pixel format, size and worker count (issue 3's benchmark).
//!
//! For each format and size, in the same run and on the same picture ([`Picture`]): libjpeg-turbo
//! called directly on one thread (NV12 from planes split beforehand — the library cannot read
//! interleaved chroma — so that figure leaves out the split our encoder does), our
//! [`Encoder`] on one thread, and frames per second published through the [`EncodePool`] with
//! 1, 2 and 3 workers, fed as fast as it accepts frames (the copy into a worker's buffer
//! included; a busy pool is retried after 100 µs). All at equal quality and 4:2:0, so the
//! formats produce the same JPEG and can be compared.

use std::fmt::Write;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::picture::Picture;
use streamserver::config::EncoderConfig;
use streamserver::pipeline::demand::Demand;
use streamserver::pipeline::encode_pool::{EncodePool, EncodePoolError, Offer};
use streamserver::pipeline::encoder::{Encoder, PixelFormat};
use streamserver::pipeline::sink::FrameSink;
use streamserver::pipeline::slot::LatestFrame;
use streamserver::pipeline::stats::StreamStats;

pub const SIZES: [(usize, usize); 3] = [(640, 480), (1280, 720), (1920, 1080)];
pub const WORKERS: [usize; 3] = [1, 2, 3];

/// Runs every format × size and returns the Markdown table.
pub fn run(secs: f64, quality: u8) -> Result<String, EncodePoolError> {
    let settings = EncoderConfig::with_quality(quality);
    let budget = Duration::from_secs_f64(secs.min(1.0));
    let mut out = format!(
        "quality {quality}, 4:2:0, {secs} s per pool case; tj/enc = one thread, ms per frame; \
         1w-3w = frames per second through the pool\n\n\
         | format | size | KB | tj ms | enc ms | 1w fps | 2w fps | 3w fps |\n\
         |---|---|---:|---:|---:|---:|---:|---:|\n"
    );
    for (w, h) in SIZES {
        for format in PixelFormat::ALL {
            let p = Picture::new(format, w, h);
            let mut enc = Encoder::new(&settings)?;
            let kb = enc.encode(&p.raw())?.len() as f64 / 1024.0;
            let tj = turbo_ms(&p, quality, budget);
            let ours = time_per_call(budget, || {
                std::hint::black_box(enc.encode(&p.raw()).expect("encodes"));
            });
            let mut fps = Vec::new();
            for n in WORKERS {
                fps.push(format!("{:.1}", pool_fps(&p, settings, n, secs)?));
            }
            let _ = writeln!(
                out,
                "| {} | {w}×{h} | {kb:.0} | {tj:.2} | {ours:.2} | {} |",
                format.name(),
                fps.join(" | ")
            );
        }
    }
    Ok(out)
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

/// libjpeg-turbo called directly, one thread, into a reused worst-case buffer.
fn turbo_ms(p: &Picture, quality: u8, budget: Duration) -> f64 {
    use turbojpeg::{Compressor, Image, OutputBuf, Subsamp, YuvPlanesImage};
    let mut c = Compressor::new().expect("a compressor");
    c.set_quality(i32::from(quality)).expect("quality");
    c.set_subsamp(Subsamp::Sub2x2).expect("subsampling");
    let (w, h) = (p.width, p.height);
    let (cw, planes) = (w.div_ceil(2), &p.planes);
    let (u, v): (Vec<u8>, Vec<u8>) = match p.format {
        PixelFormat::Nv12 => (
            planes[1].0.iter().step_by(2).copied().collect(),
            planes[1].0.iter().skip(1).step_by(2).copied().collect(),
        ),
        PixelFormat::Yuv420 => (planes[1].0.clone(), planes[2].0.clone()),
        _ => (Vec::new(), Vec::new()),
    };
    let mut out = vec![0u8; turbojpeg::compressed_buf_len(w, h, Subsamp::Sub2x2).expect("size")];
    time_per_call(budget, || {
        let mut buf = OutputBuf::borrowed(&mut out);
        match p.format {
            PixelFormat::Rgb888 | PixelFormat::Bgr888 => {
                let format = if p.format == PixelFormat::Rgb888 {
                    turbojpeg::PixelFormat::RGB
                } else {
                    turbojpeg::PixelFormat::BGR
                };
                let image = Image {
                    pixels: &planes[0].0[..],
                    width: w,
                    pitch: planes[0].1,
                    height: h,
                    format,
                };
                c.compress(image, &mut buf).expect("compresses");
            }
            PixelFormat::Yuv420 | PixelFormat::Nv12 => {
                let image = YuvPlanesImage {
                    y_plane: &planes[0].0[..],
                    u_plane: &u[..],
                    v_plane: &v[..],
                    width: w,
                    height: h,
                    y_stride: planes[0].1,
                    u_stride: cw,
                    v_stride: cw,
                    subsamp: Subsamp::Sub2x2,
                };
                c.compress_yuv_planes(&image, &mut buf).expect("compresses");
            }
        }
        std::hint::black_box(buf.len());
    })
}

/// Frames per second published through a pool of `workers` fed as fast as it accepts frames.
fn pool_fps(
    p: &Picture,
    settings: EncoderConfig,
    workers: usize,
    secs: f64,
) -> Result<f64, EncodePoolError> {
    let sink = FrameSink::new(
        LatestFrame::new(),
        Arc::new(StreamStats::new("bench", "test")),
        Arc::new(Demand::new()),
    );
    let config = EncoderConfig {
        workers,
        idle: false,
        ..settings
    };
    let mut pool = EncodePool::new("bench", config, sink.clone())?;
    let raw = p.raw();
    let t = Instant::now();
    while t.elapsed().as_secs_f64() < secs {
        if pool.offer(&raw, SystemTime::now())? == Offer::Busy {
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    let published = sink.stats.frames_captured.total();
    let elapsed = t.elapsed().as_secs_f64();
    drop(pool); // joins the workers; frames finishing after the cutoff are not counted
    Ok(published as f64 / elapsed)
}

#[cfg(test)]
mod tests;
