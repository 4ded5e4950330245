//! The frames every server in a benchmark run serves, and the producer that writes them.
//!
//! [`pictures`]: eight distinct JPEGs (bands plus random 4×4 blocks, whose density is chosen so
//! the files come closest to a wanted size). [`Feeder`]: a thread that writes one of them every
//! frame interval into a staging folder and renames it to `frame.jpg` in the watched folder, the
//! safe way a producer should write (the floor server serves only that name, our folder source
//! any `*.jpg`). Staging outside the watched folder matters: the floor also reacts to
//! `IN_CLOSE_WRITE` and would re-send the old `frame.jpg` once per temporary file closed there.
//! Each file carries `bench:<n>:<unix ns>` in a comment right after SOI, stamped just before it
//! is written, so the probe's latency is rename → receipt and its skipped count is files missed,
//! for any server ([`streamserver::probe::producer_stamp`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use streamserver::pipeline::canvas::{Canvas, Yuv};
use streamserver::pipeline::encoder::{EncodeError, Encoder, PixelFormat};

/// Texture density (blocks out of 64) when no size is asked for: about a camera picture's.
const DEFAULT_DENSITY: u32 = 21;

/// Eight distinct `w`×`h` JPEGs; with `target` bytes, the texture density whose files come
/// closest to it.
pub fn pictures(w: usize, h: usize, target: Option<usize>) -> Result<Vec<Vec<u8>>, EncodeError> {
    let mut enc = Encoder::new(&Default::default())?;
    let mut make = |i: usize, density: u32| -> Result<Vec<u8>, EncodeError> {
        let mut canvas = Canvas::new(w, h);
        for band in 0..8 {
            let shade = ((band * 29 + i * 17) % 200 + 30) as u8;
            canvas.fill_rect(band * w / 8, 0, w / 8, h, Yuv(shade, 128, 128));
        }
        let mut seed = 0x9E37_79B9_u32.wrapping_mul(i as u32 + 1);
        for y in (0..h).step_by(4) {
            for x in (0..w).step_by(4) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                if seed % 64 < density {
                    canvas.fill_rect(x, y, 4, 4, Yuv((seed >> 8) as u8, 128, 128));
                }
            }
        }
        canvas.draw_text(w / 4, h / 2, 4, &format!("bench frame {i}"), Yuv::WHITE);
        Ok(enc.encode(&canvas.raw_frame(PixelFormat::Yuv420))?.to_vec())
    };
    let density = match target {
        None => DEFAULT_DENSITY,
        Some(target) => {
            let mut best = (usize::MAX, DEFAULT_DENSITY);
            for density in 0..=64 {
                let size = make(0, density)?.len();
                best = best.min((size.abs_diff(target), density));
            }
            best.1
        }
    };
    (0..8).map(|i| make(i, density)).collect()
}

/// `jpeg` with `bench:<n>:<ns>` in a comment segment right after SOI.
pub fn stamped(jpeg: &[u8], n: u64, ns: u64) -> Vec<u8> {
    let text = format!("bench:{n}:{ns}");
    let mut data = Vec::with_capacity(jpeg.len() + text.len() + 4);
    data.extend_from_slice(&jpeg[..2]);
    data.extend_from_slice(&[0xFF, 0xFE]);
    data.extend_from_slice(&((text.len() + 2) as u16).to_be_bytes());
    data.extend_from_slice(text.as_bytes());
    data.extend_from_slice(&jpeg[2..]);
    data
}

/// Writes frames into `stage` and renames them to `watch/frame.jpg` at `fps` until stopped.
pub struct Feeder {
    stop: Arc<AtomicBool>,
    written: Arc<AtomicU64>,
    thread: JoinHandle<std::io::Result<()>>,
}

impl Feeder {
    /// Puts the first frame in place at once, then one every `1/fps` on a named thread.
    pub fn start(
        frames: Arc<Vec<Vec<u8>>>,
        stage: PathBuf,
        watch: PathBuf,
        fps: u32,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let written = Arc::new(AtomicU64::new(0));
        let (s, w) = (stop.clone(), written.clone());
        let interval = Duration::from_secs_f64(1.0 / f64::from(fps.max(1)));
        put(&frames[0], 0, &stage, &watch)?;
        let thread = std::thread::Builder::new()
            .name("feeder".into())
            .spawn(move || {
                let start = Instant::now();
                let mut n = 1u64;
                while !s.load(Ordering::Relaxed) {
                    let due = start + interval.mul_f64(n as f64);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    put(&frames[n as usize % frames.len()], n, &stage, &watch)?;
                    w.fetch_add(1, Ordering::Relaxed);
                    n += 1;
                }
                Ok(())
            })?;
        Ok(Self {
            stop,
            written,
            thread,
        })
    }

    /// Files written since the start (the first one not counted).
    pub fn written(&self) -> u64 {
        self.written.load(Ordering::Relaxed)
    }

    /// Stops the thread; its error, if it failed.
    pub fn stop(self) -> std::io::Result<()> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the feeder thread panicked")))
    }
}

/// Writes frame `n` (stamped now) into `stage`, then renames it to `watch/frame.jpg`.
fn put(jpeg: &[u8], n: u64, stage: &Path, watch: &Path) -> std::io::Result<()> {
    let ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let tmp = stage.join("frame.jpg.tmp");
    std::fs::File::create(&tmp)?.write_all(&stamped(jpeg, n, ns))?;
    std::fs::rename(&tmp, watch.join("frame.jpg"))
}

#[cfg(test)]
mod tests;
