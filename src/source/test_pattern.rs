//! The built-in test pattern: a moving picture for trying the product without a camera.
//!
//! Colour bars, a box sweeping left to right, the stream id, a frame counter and a UTC clock,
//! drawn as raw frames in the configured pixel format and offered to the real encoding pool
//! ([`EncodePool`]: workers, drop-when-busy, idle mode), so the whole camera path except
//! libcamera is exercised. The picture is [`Pattern`], which the camera helper's synthetic
//! camera draws too. The source can also inject faults (fail to start, fail after n frames,
//! stall) for supervisor tests.

use std::time::{Duration, SystemTime};

use super::pace::Pacer;
use super::{FrameSink, FrameSource, SourceError, StopFlag};
use crate::config::{EncoderConfig, OverlayConfig, TestPatternConfig};
use crate::pipeline::canvas::{Canvas, Yuv};
use crate::pipeline::encode_pool::{resolve_workers, EncodePool};
use crate::pipeline::encoder::{Encoder, PixelFormat, RawFrame};
use crate::pipeline::transform::Transform;

const BARS: [Yuv; 8] = [
    Yuv::from_rgb(235, 235, 235),
    Yuv::from_rgb(235, 235, 16),
    Yuv::from_rgb(16, 235, 235),
    Yuv::from_rgb(16, 235, 16),
    Yuv::from_rgb(235, 16, 235),
    Yuv::from_rgb(235, 16, 16),
    Yuv::from_rgb(16, 16, 235),
    Yuv::from_rgb(16, 16, 16),
];

/// The moving picture itself, without a source around it: colour bars over a grey ramp, a box
/// sweeping across in two seconds, a label, the frame number and a UTC clock. Also drawn by the
/// camera helper's synthetic camera (`streamserver-camera run --synthetic`).
pub struct Pattern {
    label: String,
    /// Frames per sweep of the box across the picture.
    sweep_frames: u64,
    background: Canvas,
    canvas: Canvas,
    /// A tone curve applied to the luma of every frame ([`Pattern::set_tone`]).
    tone: Option<Box<[u8; 256]>>,
}

impl Pattern {
    /// A `width`×`height` pattern (rounded up to even) for `fps` frames per second, labelled
    /// "streamserver `label`".
    pub fn new(label: &str, width: usize, height: usize, fps: f64) -> Self {
        let mut background = Canvas::new(width, height);
        let (w, h) = (background.width, background.height);
        let bar_w = w.div_ceil(BARS.len());
        for (i, c) in BARS.iter().enumerate() {
            background.fill_rect(i * bar_w, 0, bar_w, h * 2 / 3, *c);
        }
        // A grey ramp along the bottom third: shows banding and exposure-like artefacts.
        let steps = 16;
        let step_w = w.div_ceil(steps);
        for i in 0..steps {
            let l = (i * 255 / (steps - 1)) as u8;
            background.fill_rect(
                i * step_w,
                h * 2 / 3,
                step_w,
                h - h * 2 / 3,
                Yuv(l, 128, 128),
            );
        }
        Self {
            label: label.to_string(),
            sweep_frames: (fps.max(1.0) * 2.0).round() as u64,
            canvas: Canvas::new(w, h),
            background,
            tone: None,
        }
    }

    /// Shifts and stretches the luma of every frame drawn from now on, as a camera's Brightness
    /// (-1..=1, 0 = none: a shift by up to 128 levels) and Contrast (a factor around mid-grey,
    /// 1 = none) controls do. The camera helper's synthetic camera uses it for those controls.
    pub fn set_tone(&mut self, brightness: f64, contrast: f64) {
        if brightness == 0.0 && contrast == 1.0 {
            self.tone = None;
            return;
        }
        let mut table = Box::new([0u8; 256]);
        for (y, out) in table.iter_mut().enumerate() {
            let v = (y as f64 - 128.0) * contrast + 128.0 + brightness * 128.0;
            *out = v.round().clamp(0.0, 255.0) as u8;
        }
        self.tone = Some(table);
    }

    /// The picture's size (the asked one rounded up to even).
    pub fn size(&self) -> (usize, usize) {
        (self.canvas.width, self.canvas.height)
    }

    /// Draws frame `n` captured at `now` and returns it in `format`.
    pub fn draw(&mut self, n: u64, now: SystemTime, format: PixelFormat) -> RawFrame<'_> {
        let (w, h) = (self.canvas.width, self.canvas.height);
        self.canvas.copy_from(&self.background);
        // The sweeping box crosses the picture in two seconds whatever the frame rate.
        let box_w = (w / 10).max(2);
        let period = self.sweep_frames;
        let x = ((n % period) as usize * (w - box_w)) / period as usize;
        // White with a black core: visible on every bar, including the black one.
        let (bx, by) = (x, (h / 3).saturating_sub(box_w / 2));
        self.canvas.fill_rect(bx, by, box_w, box_w, Yuv::WHITE);
        let core = box_w / 2;
        self.canvas
            .fill_rect(bx + core / 2, by + core / 2, core, core, Yuv::BLACK);
        let scale = (h / 160).max(1);
        let line_h = 10 * scale;
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default();
        let (hh, mm, ss) = (
            (secs.as_secs() / 3600) % 24,
            (secs.as_secs() / 60) % 60,
            secs.as_secs() % 60,
        );
        let lines = [
            format!("streamserver {}", self.label),
            format!("frame {n}"),
            format!("{hh:02}:{mm:02}:{ss:02}.{:03} UTC", secs.subsec_millis()),
        ];
        let text_w = lines
            .iter()
            .map(|l| Canvas::text_width(l, scale))
            .max()
            .unwrap_or(0);
        self.canvas
            .fill_rect(0, 0, text_w + 2 * scale, line_h * 3 + scale, Yuv::BLACK);
        for (i, l) in lines.iter().enumerate() {
            self.canvas
                .draw_text(scale, scale + i * line_h, scale, l, Yuv::WHITE);
        }
        if let Some(tone) = &self.tone {
            self.canvas.map_luma(tone);
        }
        self.canvas.raw_frame(format)
    }
}

pub struct TestPattern {
    stream_id: String,
    config: TestPatternConfig,
    encoder: EncoderConfig,
    /// The stream's overlay (a test pattern is never turned).
    transform: Transform,
    pattern: Pattern,
    /// Which start of this stream's source this is (0 = first), for `fail_starts`.
    attempt: u32,
}

impl TestPattern {
    pub fn new(
        stream_id: String,
        config: TestPatternConfig,
        encoder: EncoderConfig,
        overlay: OverlayConfig,
        attempt: u32,
    ) -> Result<Self, SourceError> {
        Encoder::new(&encoder)?; // a bad setting fails here, before a thread starts
        let pattern = Pattern::new(
            &stream_id,
            config.width,
            config.height,
            f64::from(config.fps),
        );
        Ok(Self {
            stream_id,
            config,
            encoder,
            transform: Transform {
                turn: None,
                overlay,
            },
            pattern,
            attempt,
        })
    }
}

impl FrameSource for TestPattern {
    fn describe(&self) -> String {
        format!(
            "test pattern {}x{} @ {} fps ({}, {} encode workers)",
            self.pattern.size().0,
            self.pattern.size().1,
            self.config.fps,
            self.config.format.name(),
            resolve_workers(
                self.encoder.workers,
                std::thread::available_parallelism().map_or(1, |n| n.get())
            )
        )
    }

    fn run(&mut self, sink: &FrameSink, stop: &StopFlag) -> Result<(), SourceError> {
        if self.attempt < self.config.fail_starts {
            return Err(SourceError::Injected("test pattern failed to start"));
        }
        let mut pool = EncodePool::with_transform(
            &self.stream_id,
            self.encoder,
            &self.transform,
            sink.clone(),
        )?;
        let interval = Duration::from_secs_f64(1.0 / f64::from(self.config.fps.clamp(1, 120)));
        let mut pacer = Pacer::new(interval);
        let mut n: u64 = 0;
        while !stop.is_raised() {
            if self.config.fail_after_frames > 0 && n >= self.config.fail_after_frames {
                return Err(SourceError::Injected("test pattern failed after n frames"));
            }
            if self.config.stall_after_frames > 0 && n >= self.config.stall_after_frames {
                // Simulates a hung driver: no frames, no error, until the supervisor stops us.
                stop.sleep(Duration::from_secs(3600));
                continue;
            }
            let captured_at = SystemTime::now();
            let format = self.config.format;
            // Drawn only when a worker takes it: nothing while idle or busy.
            pool.offer_with(captured_at, || self.pattern.draw(n, captured_at, format))?;
            n += 1;
            if pacer.wait(stop) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
