//! [`ProtocolOutput`]: the helper's one writer of messages to the server, shared by the encode
//! workers (Frames, as the pool's [`FrameOutput`]), the `still-encode` thread (StillResult) and
//! the control thread (Started, Failed, Alive, ControlsReply, RequestError), one message at a
//! time behind a mutex.
//!
//! The capture thread never writes: what it reports (an idle frame, a dropped one, demand) is
//! an atomic store. So a server that reads slowly fills the pipe, the workers wait on the
//! mutex, the pool finds them busy and drops frames, and the camera keeps its buffers.
//!
//! - A Frame's `seq` is the pool's frame number ([`FrameMeta::frame_seq`]): every captured
//!   frame takes one, so a gap is frames captured but not sent. A frame the writer refuses (an
//!   older frame finishing after a newer message went out) or one over `max_frame_bytes` is
//!   dropped, never sent.
//! - While frames are not wanted the pool encodes nothing and reports each captured frame as
//!   idle; the control thread writes an Alive with the newest such frame's number when nothing
//!   was written for [`ALIVE_INTERVAL`] ([`ProtocolOutput::alive_if_due`]).
//! - A failed write means the server is gone: the output is then broken, writes nothing more,
//!   and the control thread ends the helper.
//! - With the server's shared memory ([`ProtocolOutput::share_frames`]) the output lends each
//!   encode worker a free slot before it encodes ([`FrameOutput::lend`]), the JPEG is written
//!   straight into it (no copy; workers encode in parallel, each into its own slot) and only a
//!   FrameShm message is written. A slot abandoned unsent (the JPEG did not fit or was over
//!   `max_frame_bytes`, the encode failed, the frame was overtaken, the pool stops, the message
//!   was not written) is FREE again. A JPEG the worker made in its own buffer (no slot was free
//!   when it started, or the JPEG did not fit) is copied into a slot free by then, or, when the
//!   server holds every slot (slow clients keep old frames), goes inline in a Frame message,
//!   counted ([`ProtocolOutput::inline_frames`]).

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use streamserver::config::EncoderConfig;
use streamserver::pipeline::encode_pool::{EncodePool, EncodePoolError};
use streamserver::pipeline::rotate::QuarterTurn;
use streamserver::pipeline::sink::{Destination, EncodedFrame, FrameMeta, FrameOutput};
use streamserver::pipeline::transform::Transform;
use streamserver::source::camera::protocol::requests::ControlsReply;
use streamserver::source::camera::protocol::{
    unix_ns, FailureKind, FrameInfo, HelperSettings, MessageWriter, Peer, ProtocolError, Started,
    ALIVE_INTERVAL,
};
use streamserver::source::camera::shm::{Reserved, Sent, SlotWriter};
use tracing::{debug, info, warn};

/// Every this many oversized frames, one warning.
const OVERSIZED_WARN_EVERY: u64 = 100;

/// The writer half of the protocol, cloned into the pool and kept by the control thread.
pub struct ProtocolOutput<W = File> {
    inner: Arc<Inner<W>>,
}

impl<W> Clone for ProtocolOutput<W> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

struct Inner<W> {
    writer: Mutex<Writer<W>>,
    /// Frames wanted (the server's last Demand; true from Start on).
    wanted: AtomicBool,
    /// The newest frame reported idle (not encoded), 0 = none.
    idle_seq: AtomicU64,
    max_frame_bytes: AtomicUsize,
    dropped: AtomicU64,
    oversized: AtomicU64,
    broken: AtomicBool,
    /// The server's shared memory for frames, once Start offered it.
    slots: OnceLock<SlotWriter>,
    /// Frames sent inline although shared memory was offered: no slot was free.
    inline: AtomicU64,
}

struct Writer<W> {
    out: MessageWriter<W>,
    last_write: Instant,
    /// The seq of the last Frame or Alive written.
    last_seq: u64,
}

impl<W: Write> ProtocolOutput<W> {
    /// Wraps the writer that sent Hello.
    pub fn new(out: MessageWriter<W>) -> Self {
        Self {
            inner: Arc::new(Inner {
                writer: Mutex::new(Writer {
                    out,
                    last_write: Instant::now(),
                    last_seq: 0,
                }),
                wanted: AtomicBool::new(true),
                idle_seq: AtomicU64::new(0),
                max_frame_bytes: AtomicUsize::new(usize::MAX),
                dropped: AtomicU64::new(0),
                oversized: AtomicU64::new(0),
                broken: AtomicBool::new(false),
                slots: OnceLock::new(),
                inline: AtomicU64::new(0),
            }),
        }
    }

    /// The largest JPEG the server accepts (from the Start settings).
    pub fn set_max_frame_bytes(&self, max: usize) {
        self.inner.max_frame_bytes.store(max, Relaxed);
    }

    /// Frames go through the server's shared memory from now on (set once, after Start).
    pub fn share_frames(&self, slots: SlotWriter) {
        if self.inner.slots.set(slots).is_err() {
            warn!("shared memory for frames offered twice; keeping the first");
        }
    }

    /// Frames sent inline for want of a free slot.
    pub fn inline_frames(&self) -> u64 {
        self.inner.inline.load(Relaxed)
    }

    /// The server's Demand.
    pub fn set_wanted(&self, wanted: bool) {
        self.inner.wanted.store(wanted, Relaxed);
    }

    pub fn started(&self, started: &Started) -> Result<(), ProtocolError> {
        self.write(|w| w.out.started(started).map(|()| true))
    }

    pub fn failed(&self, kind: FailureKind, message: &str) -> Result<(), ProtocolError> {
        self.write(|w| w.out.failed(kind, message).map(|()| true))
    }

    pub fn request_error(&self, id: u32, message: &str) -> Result<(), ProtocolError> {
        self.write(|w| w.out.request_error(id, message).map(|()| true))
    }

    /// A still's JPEG for request `id` (written by the `still-encode` thread).
    pub fn still_result(
        &self,
        id: u32,
        width: u32,
        height: u32,
        jpeg: &[u8],
    ) -> Result<(), ProtocolError> {
        self.write(|w| w.out.still_result(id, width, height, jpeg).map(|()| true))
    }

    /// The answer to a SetControls or ListControls, its bounds checked first (a reply over
    /// them is refused, nothing written).
    pub fn controls_reply(&self, id: u32, reply: &ControlsReply) -> Result<(), ProtocolError> {
        reply
            .check_bounds()
            .map_err(|reason| ProtocolError::Refused {
                what: "ControlsReply",
                reason,
            })?;
        self.write(|w| w.out.controls_reply(id, reply).map(|()| true))
    }

    /// Writes an Alive when a frame was captured but not sent and nothing was written for
    /// [`ALIVE_INTERVAL`]; returns whether it did.
    pub fn alive_if_due(&self) -> Result<bool, ProtocolError> {
        let seq = self.inner.idle_seq.load(Relaxed);
        let mut sent = false;
        self.write(|w| {
            if seq > w.last_seq && w.last_write.elapsed() >= ALIVE_INTERVAL {
                w.out.alive(seq)?;
                w.last_seq = seq;
                sent = true;
            }
            Ok(sent)
        })?;
        Ok(sent)
    }

    /// A write failed: the server is gone.
    pub fn is_broken(&self) -> bool {
        self.inner.broken.load(Relaxed)
    }

    /// Frames captured but not sent (busy workers, refused, oversized).
    pub fn dropped(&self) -> u64 {
        self.inner.dropped.load(Relaxed)
    }

    /// At most one message under the lock (`f` says whether it wrote one); an I/O error marks
    /// the output broken, after which nothing more is written. A refusal wrote nothing and
    /// leaves the stream usable.
    fn write(
        &self,
        f: impl FnOnce(&mut Writer<W>) -> Result<bool, ProtocolError>,
    ) -> Result<(), ProtocolError> {
        let mut w = lock(&self.inner.writer);
        if self.is_broken() {
            return Err(ProtocolError::Io {
                peer: Peer::Server,
                source: std::io::ErrorKind::BrokenPipe.into(),
            });
        }
        match f(&mut w) {
            Ok(wrote) => {
                if wrote {
                    w.last_write = Instant::now();
                }
                Ok(())
            }
            Err(e @ ProtocolError::Refused { .. }) => Err(e),
            Err(e) => {
                self.inner.broken.store(true, Relaxed);
                Err(e)
            }
        }
    }
}

impl<W: Write + Send + 'static> ProtocolOutput<W> {
    /// Whether a JPEG of `len` bytes is over the server's `max_frame_bytes`: then it is dropped
    /// (counted, with a warning every [`OVERSIZED_WARN_EVERY`]).
    fn oversized(&self, len: usize) -> bool {
        let max = self.inner.max_frame_bytes.load(Relaxed);
        if len <= max {
            return false;
        }
        let n = self.inner.oversized.fetch_add(1, Relaxed);
        if n.is_multiple_of(OVERSIZED_WARN_EVERY) {
            warn!(bytes = len, max_frame_bytes = max, dropped = n + 1, "JPEG over the server's max_frame_bytes; frame dropped (lower the quality or the size)");
        }
        FrameOutput::frame_dropped(self);
        true
    }

    /// Writes the Frame or FrameShm message of a frame; a slot whose message was not written
    /// is FREE again, and a frame not sent is counted dropped.
    fn send_frame(&self, meta: FrameMeta, payload: Payload<'_>) {
        let info = FrameInfo {
            seq: meta.frame_seq,
            captured_unix_ns: unix_ns(meta.captured_at),
            width: meta.width,
            height: meta.height,
        };
        let written = self.write(|w| {
            match payload {
                Payload::Slot(s) => w.out.frame_shm(&info, s.slot, s.len)?,
                Payload::Inline(jpeg) => w.out.frame(&info, jpeg)?,
            }
            w.last_seq = info.seq;
            Ok(true)
        });
        let slots = self.inner.slots.get();
        match (payload, slots) {
            (Payload::Slot(s), Some(slots)) if written.is_err() => slots.unsend(s), // no message names it
            (Payload::Inline(_), Some(_)) if written.is_ok() => {
                let n = self.inner.inline.fetch_add(1, Relaxed);
                if n == 0 {
                    info!(seq = info.seq, "no free frame slot (the server holds them all): frames go inline until one is free (counted)");
                }
            }
            _ => {}
        }
        match written {
            Ok(()) => {}
            Err(ProtocolError::Refused { reason, .. }) => {
                debug!(seq = info.seq, %reason, "frame not sent");
                FrameOutput::frame_dropped(self);
            }
            Err(_) => FrameOutput::frame_dropped(self), // broken: the control thread ends the run
        }
    }
}

/// Where a frame's JPEG is: in a SENT slot of the shared memory, or here (inline).
#[derive(Clone, Copy)]
enum Payload<'a> {
    Slot(Sent),
    Inline(&'a [u8]),
}

/// A free slot of the shared memory lent to an encode worker ([`FrameOutput::lend`]): the JPEG
/// is encoded straight into it. Dropped unpublished, the slot is FREE again.
struct SlotDestination<'a, W> {
    output: &'a ProtocolOutput<W>,
    slot: Reserved<'a>,
}

impl<W: Write + Send + 'static> Destination for SlotDestination<'_, W> {
    fn buf(&mut self) -> &mut [u8] {
        self.slot.buf()
    }

    fn publish(self: Box<Self>, len: usize, meta: FrameMeta) {
        let Self { output, slot } = *self;
        if output.oversized(len) {
            return; // the slot is FREE again
        }
        match slot.send(len) {
            Some(sent) => output.send_frame(meta, Payload::Slot(sent)),
            None => FrameOutput::frame_dropped(output), // an empty JPEG: the slot is FREE again
        }
    }
}

impl<W: Write + Send + 'static> FrameOutput for ProtocolOutput<W> {
    fn publish(&self, frame: EncodedFrame) {
        if self.oversized(frame.jpeg.len()) {
            return;
        }
        match self.inner.slots.get().and_then(|s| s.write(&frame.jpeg)) {
            Some(sent) => self.send_frame(frame.meta, Payload::Slot(sent)),
            None => self.send_frame(frame.meta, Payload::Inline(&frame.jpeg)),
        }
    }

    /// A free slot of the shared memory, if Start offered it and the server does not hold
    /// every slot.
    fn lend(&self) -> Option<Box<dyn Destination + '_>> {
        let slot = self.inner.slots.get()?.reserve()?;
        Some(Box::new(SlotDestination { output: self, slot }))
    }

    fn frame_dropped(&self) {
        self.inner.dropped.fetch_add(1, Relaxed);
    }

    fn idle_frame(&self, frame_seq: u64) {
        self.inner.idle_seq.fetch_max(frame_seq, Relaxed);
    }

    fn in_demand(&self, _window: Duration) -> bool {
        self.inner.wanted.load(Relaxed)
    }

    fn set_idle(&self, _idle: bool) {}
}

/// The encode pool of a capture run, publishing into `output`. Idle mode follows the server's
/// Demand at once (the server keeps the `idle_after` window): not wanted → nothing encoded.
/// Each frame is turned (rotation 90/270: a clockwise quarter turn after the sensor's
/// orientation) and gets the stream's overlay before it is encoded.
pub fn encode_pool<W: Write + Send + 'static>(
    settings: &HelperSettings,
    output: &ProtocolOutput<W>,
) -> Result<EncodePool, EncodePoolError> {
    let config = EncoderConfig {
        idle: true,
        idle_after: Duration::ZERO,
        ..settings.encoder
    };
    let transform = Transform {
        turn: settings
            .camera
            .quarter_turn()
            .then_some(QuarterTurn::Clockwise),
        overlay: settings.overlay.clone(),
    };
    EncodePool::with_transform(&settings.stream, config, &transform, output.clone())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests;
