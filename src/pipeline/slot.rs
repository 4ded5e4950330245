//! The single-slot latest-frame buffer: exactly one encoded JPEG per stream.
//!
//! A source thread publishes into [`LatestFrame`]; every HTTP client watches it and is handed the
//! newest frame whenever its socket can take more. Publishing replaces the slot in O(1) whatever
//! the number of clients; a slow client skips frames, nothing is ever queued. Frames are shared
//! by reference count: every client sends the same bytes.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use bytes::Bytes;
use tokio::sync::watch;

/// What a frame shows: live pictures from the source, or the "stream is down" placeholder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    Live,
    Placeholder,
    /// The source asks every stream client to end its response (a stale source configured
    /// with `on_stale = "disconnect"`). Carries a placeholder JPEG for snapshots; stream bodies
    /// end when they see it, new ones end at once until a live frame replaces it.
    EndOfStream,
}

/// One encoded frame, immutable once published.
#[derive(Debug)]
pub struct Frame {
    /// A complete JPEG (SOI … EOI).
    pub jpeg: Bytes,
    /// Monotonic per stream, assigned by [`LatestFrame::publish`]; never repeats, never goes back,
    /// also across source restarts.
    pub seq: u64,
    /// Wall-clock capture time (sent as `X-Timestamp`, used for latency measurement).
    pub captured_at: SystemTime,
    /// Monotonic publish time, for "last frame age" and stall detection.
    pub published_at: Instant,
    /// Picture size in pixels (0 when unknown, e.g. an unparsed upstream JPEG).
    pub width: u32,
    pub height: u32,
    pub kind: FrameKind,
    /// The frame's multipart part headers, built once by the first stream client that sends
    /// it (see `http::mjpeg`) and shared by all the others.
    pub part_head: std::sync::OnceLock<Bytes>,
}

impl Frame {
    /// Capture time as seconds since the Unix epoch, with microseconds (the `X-Timestamp` value).
    pub fn timestamp_secs(&self) -> f64 {
        self.captured_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// A frame ready to publish; the slot assigns sequence number and publish time.
#[derive(Debug, Clone)]
pub struct NewFrame {
    pub jpeg: Bytes,
    pub captured_at: SystemTime,
    pub width: u32,
    pub height: u32,
    pub kind: FrameKind,
}

/// The latest-frame slot of one stream. Cheap to clone (all clones share the slot).
#[derive(Clone)]
pub struct LatestFrame {
    tx: Arc<watch::Sender<Option<Arc<Frame>>>>,
    next_seq: Arc<AtomicU64>,
}

impl Default for LatestFrame {
    fn default() -> Self {
        Self::new()
    }
}

impl LatestFrame {
    pub fn new() -> Self {
        let (tx, _rx) = watch::channel(None);
        Self {
            tx: Arc::new(tx),
            next_seq: Arc::new(AtomicU64::new(1)),
        }
    }

    /// Replaces the slot's frame. O(1): wakes the watchers, copies nothing.
    /// Numbering and replacing happen in one step under the slot's lock, so frames never go
    /// back in sequence whoever publishes (a source and its supervisor's placeholder may race).
    pub fn publish(&self, frame: NewFrame) -> Arc<Frame> {
        let mut published = None;
        self.tx.send_modify(|slot| {
            let frame = Arc::new(Frame {
                jpeg: frame.jpeg,
                seq: self.next_seq.fetch_add(1, Ordering::Relaxed),
                captured_at: frame.captured_at,
                published_at: Instant::now(),
                width: frame.width,
                height: frame.height,
                kind: frame.kind,
                part_head: std::sync::OnceLock::new(),
            });
            *slot = Some(frame.clone());
            published = Some(frame);
        });
        published.expect("send_modify runs its closure")
    }

    /// The newest frame, if any was published yet.
    pub fn latest(&self) -> Option<Arc<Frame>> {
        self.tx.borrow().clone()
    }

    /// A receiver for async watchers (stream bodies, snapshot waits).
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Frame>>> {
        self.tx.subscribe()
    }

    /// Number of live subscribers (stream clients and waiting snapshots).
    pub fn watchers(&self) -> usize {
        self.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests;
