//! Where frames go: [`FrameSink`] (a stream's latest-frame slot, counters and demand, bundled so
//! a source needs one value) and [`FrameOutput`], the narrower seam the encode pool publishes
//! through — a `FrameSink` in the server, the protocol writer in the camera helper
//! (`streamserver-camera`), which sends its JPEGs to the server instead of a slot and lends
//! the workers its shared memory to encode into ([`Destination`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::demand::Demand;
use super::slot::{FrameKind, LatestFrame, NewFrame};
use super::stats::StreamStats;

/// A JPEG the encode pool made from an offered frame.
#[derive(Debug, Clone)]
pub struct EncodedFrame {
    pub jpeg: Bytes,
    pub meta: FrameMeta,
}

/// What the encode pool knows of a frame besides its JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameMeta {
    pub captured_at: SystemTime,
    pub width: u32,
    pub height: u32,
    /// The pool's number of the offer it was made from: every offer (encoded, dropped or idle)
    /// takes the next number, from 1, so a gap is frames captured but not published.
    pub frame_seq: u64,
}

/// Memory a [`FrameOutput`] lends an encode worker for one JPEG (the camera helper's
/// shared-memory slot), so that the JPEG is published where it was encoded and never copied.
/// Dropped unpublished (the JPEG did not fit, the encode failed, the frame was overtaken, the
/// pool stops), the memory goes back to the output.
pub trait Destination {
    /// The memory to encode into; its length is the most the JPEG may take.
    fn buf(&mut self) -> &mut [u8];
    /// Publishes the JPEG in the first `len` bytes of [`Destination::buf`], as
    /// [`FrameOutput::publish`] publishes an [`EncodedFrame`].
    fn publish(self: Box<Self>, len: usize, meta: FrameMeta);
}

/// What the encode pool publishes into. Called from the pool's worker threads (`lend`,
/// `publish`, `frame_dropped`) and from the capturing thread (the rest), so an implementation
/// must never block the capturing thread for long.
pub trait FrameOutput: Send + Sync {
    /// A JPEG in capture order (the pool never publishes an older frame after a newer one).
    fn publish(&self, frame: EncodedFrame);
    /// Memory to encode the next JPEG into, if the output has some free; None (the default):
    /// the worker encodes into its own buffer and calls [`FrameOutput::publish`]. The same
    /// capture-order rule holds for [`Destination::publish`].
    fn lend(&self) -> Option<Box<dyn Destination + '_>> {
        None
    }
    /// A frame captured but not published (every worker busy, or overtaken by a newer one).
    fn frame_dropped(&self);
    /// Offer `frame_seq` was not encoded because nobody wants frames: a sign of life.
    fn idle_frame(&self, frame_seq: u64);
    /// Whether anyone wants frames now (asked within `window`); false lets the pool go idle.
    fn in_demand(&self, window: Duration) -> bool;
    /// The pool went idle (true) or resumed encoding (false).
    fn set_idle(&self, idle: bool);
}

/// Where a source delivers frames: the stream's slot plus its counters and demand.
#[derive(Clone)]
pub struct FrameSink {
    pub slot: LatestFrame,
    pub stats: Arc<StreamStats>,
    pub demand: Arc<Demand>,
}

impl FrameSink {
    pub fn new(slot: LatestFrame, stats: Arc<StreamStats>, demand: Arc<Demand>) -> Self {
        Self {
            slot,
            stats,
            demand,
        }
    }

    /// Publishes a live JPEG (captured at `captured_at`).
    pub fn publish_jpeg(&self, jpeg: Bytes, captured_at: SystemTime, width: u32, height: u32) {
        self.stats.frame_captured(width, height);
        self.slot.publish(NewFrame {
            jpeg,
            captured_at,
            width,
            height,
            kind: FrameKind::Live,
        });
    }

    /// Counts a frame the source produced but did not publish (encoder busy, invalid, idle).
    pub fn frame_dropped(&self) {
        self.stats.frame_dropped();
    }

    /// A sign of life without a frame (keeps the supervisor's stall detection quiet).
    pub fn alive(&self) {
        self.stats.alive();
    }

    /// Whether anyone wants frames now (a client watches or asked within `window`): idle mode.
    pub fn in_demand(&self, window: Duration) -> bool {
        self.slot.watchers() > 0 || self.demand.recent(window)
    }
}

impl FrameOutput for FrameSink {
    fn publish(&self, frame: EncodedFrame) {
        let m = frame.meta;
        self.publish_jpeg(frame.jpeg, m.captured_at, m.width, m.height);
    }

    fn frame_dropped(&self) {
        FrameSink::frame_dropped(self);
    }

    fn idle_frame(&self, _frame_seq: u64) {
        self.alive();
    }

    fn in_demand(&self, window: Duration) -> bool {
        FrameSink::in_demand(self, window)
    }

    fn set_idle(&self, idle: bool) {
        self.stats
            .idle
            .store(idle, std::sync::atomic::Ordering::Relaxed);
    }
}
