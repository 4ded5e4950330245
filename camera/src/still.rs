//! Still pictures on the helper's side: the ids waiting for one, and the `still-encode` thread
//! that turns a captured still into its JPEG and answers every id waiting for it.
//!
//! The capture thread notes each Still request ([`Stills::ask`]); when it has captured one (a
//! dual-stream request, a switch of the camera's configuration, or the synthetic camera's
//! drawing) it hands the frame over ([`Stills::deliver`]): one copy, after which its buffer may
//! be requeued, and every id waiting then gets the same picture. The copy is turned like the
//! stream (rotation 90/270), gets the stream's overlay and is encoded at `still_quality` on the
//! `still-encode` thread, which writes the StillResults itself (a still of a few megapixels
//! takes far longer to encode than a frame interval). One still is encoded at a time; the
//! capture thread takes the next only when the thread is free ([`Stills::due`]).

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::SystemTime;

use streamserver::config::EncoderConfig;
use streamserver::pipeline::encode_pool::OwnedFrame;
use streamserver::pipeline::encoder::{EncodeError, Encoder, RawFrame};
use streamserver::pipeline::rotate::QuarterTurn;
use streamserver::pipeline::transform::{Transform, Transformer};
use streamserver::source::camera::protocol::{HelperSettings, Limits};
use tracing::{info, warn};

use crate::output::ProtocolOutput;

/// Why stills cannot be taken in this run.
#[derive(Debug, thiserror::Error)]
pub enum StillError {
    #[error("still encoder: {0}")]
    Encoder(#[from] EncodeError),
    #[error("cannot start thread `still-encode`: {0}")]
    Thread(#[source] std::io::Error),
}

/// One still to encode and the ids it answers.
struct Job {
    ids: Vec<u32>,
    frame: OwnedFrame,
    captured_at: SystemTime,
}

/// The ids waiting for a still, and the thread that encodes them.
pub struct Stills {
    waiting: Vec<u32>,
    jobs: Option<SyncSender<Job>>,
    busy: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    output: ProtocolOutput,
}

impl Stills {
    /// Starts the `still-encode` thread for `settings` (quality, rotation, overlay).
    pub fn new(settings: &HelperSettings, output: &ProtocolOutput) -> Result<Self, StillError> {
        let encoder = Encoder::new(&EncoderConfig {
            quality: settings.camera.still_quality,
            ..settings.encoder
        })?;
        let transformer = Transformer::new(&Transform {
            turn: settings
                .camera
                .quarter_turn()
                .then_some(QuarterTurn::Clockwise),
            overlay: settings.overlay.clone(),
        });
        let (jobs, rx) = mpsc::sync_channel(1);
        let busy = Arc::new(AtomicBool::new(false));
        let (out, flag) = (output.clone(), busy.clone());
        let thread = std::thread::Builder::new()
            .name("still-encode".into())
            .spawn(move || encode_loop(&rx, encoder, transformer, &out, &flag))
            .map_err(StillError::Thread)?;
        Ok(Self {
            waiting: Vec::new(),
            jobs: Some(jobs),
            busy,
            thread: Some(thread),
            output: output.clone(),
        })
    }

    /// Request `id` waits for the next still.
    pub fn ask(&mut self, id: u32) {
        self.waiting.push(id);
    }

    /// Whether a still should be captured now: someone waits and the encoder is free.
    pub fn due(&self) -> bool {
        !self.waiting.is_empty() && !self.busy.load(Relaxed)
    }

    /// Whether anyone waits for a still.
    #[cfg_attr(not(has_libcamera), allow(dead_code))]
    pub fn waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Hands a captured still to the encoder for every id waiting (the frame is copied: its
    /// buffer may be reused as soon as this returns).
    pub fn deliver(&mut self, frame: &RawFrame, captured_at: SystemTime) {
        let ids = std::mem::take(&mut self.waiting);
        if ids.is_empty() {
            return;
        }
        if let Err(e) = frame.check() {
            return self.refuse(ids, &format!("the camera delivered a bad still: {e}"));
        }
        let mut owned = OwnedFrame::default();
        owned.copy_from(frame);
        self.busy.store(true, Relaxed);
        let job = Job {
            ids,
            frame: owned,
            captured_at,
        };
        // The channel holds one job and the thread is free (`due`), so only a thread that
        // ended refuses it.
        let sent = match &self.jobs {
            Some(jobs) => jobs.try_send(job).map_err(|e| match e {
                TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
            }),
            None => Err(job),
        };
        if let Err(job) = sent {
            self.busy.store(false, Relaxed);
            self.refuse(job.ids, "the still encoder has stopped");
        }
    }

    /// Answers every waiting id with RequestError `message` (the still could not be taken).
    #[cfg_attr(not(has_libcamera), allow(dead_code))]
    pub fn fail(&mut self, message: &str) {
        let ids = std::mem::take(&mut self.waiting);
        self.refuse(ids, message);
    }

    fn refuse(&self, ids: Vec<u32>, message: &str) {
        warn!("still failed: {message}");
        for id in ids {
            let _ = self.output.request_error(id, message);
        }
    }
}

impl Drop for Stills {
    /// Ends the thread after the still it encodes (if any) and joins it.
    fn drop(&mut self) {
        self.jobs = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The `still-encode` thread: one job at a time until the capture run drops its sender.
fn encode_loop(
    jobs: &Receiver<Job>,
    mut encoder: Encoder,
    mut transformer: Transformer,
    output: &ProtocolOutput,
    busy: &AtomicBool,
) {
    let max = Limits::default().max_still_bytes;
    while let Ok(mut job) = jobs.recv() {
        let started = std::time::Instant::now();
        let frame = transformer.apply(job.frame.frame_mut(), job.captured_at);
        let (w, h) = (frame.width as u32, frame.height as u32);
        match encoder.encode(&frame) {
            Ok(jpeg) if jpeg.len() <= max => {
                info!(
                    width = w,
                    height = h,
                    bytes = jpeg.len(),
                    encode_ms = started.elapsed().as_millis() as u64,
                    answers = job.ids.len(),
                    "still encoded"
                );
                for id in &job.ids {
                    let _ = output.still_result(*id, w, h, &jpeg);
                }
            }
            Ok(jpeg) => {
                let message = format!("the still's JPEG is {} bytes, over {max}", jpeg.len());
                for id in &job.ids {
                    let _ = output.request_error(*id, &message);
                }
            }
            Err(e) => {
                for id in &job.ids {
                    let _ = output.request_error(*id, &format!("encoding the still failed: {e}"));
                }
            }
        }
        busy.store(false, Relaxed);
    }
}
