//! Where a source delivers frames: the stream's latest-frame slot, its counters and its demand,
//! bundled so a source (or the encode pool working for it) needs one value.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;

use super::demand::Demand;
use super::slot::{FrameKind, LatestFrame, NewFrame};
use super::stats::StreamStats;

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
