//! The single-slot latest-frame buffer: exactly one encoded JPEG per stream.
//!
//! A source thread publishes into [`LatestFrame`]; every HTTP client watches it and is handed the
//! newest frame whenever its socket can take more. Publishing replaces the slot in O(1) whatever
//! the number of clients; a slow client skips frames, nothing is ever queued. Frames are shared
//! by reference count: every client sends the same bytes.
//!
//! Stream clients do not re-arm a watch future for every frame: each registers one waker for
//! its life ([`LatestFrame::watch`]) and arms it when it wants the next frame. At 200 clients the
//! re-armed `changed()` futures (a boxed future and a locked waiter list per client and frame)
//! were a seventh of the server's instructions; and a client held back by its fps cap or a
//! slow link is no longer woken by frames it will not send.

use std::sync::atomic::{fence, AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;
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
    inner: Arc<Inner>,
}

struct Inner {
    tx: watch::Sender<Option<Arc<Frame>>>,
    next_seq: AtomicU64,
    /// The wakers of the [`FrameWatch`]es.
    wakers: Arc<Mutex<Vec<Arc<Registration>>>>,
}

/// One [`FrameWatch`]'s waker, and whether it wants the next publish.
struct Registration {
    waker: Waker,
    armed: AtomicBool,
}

impl Drop for Inner {
    /// Wakes every registered watcher, armed or not: their receivers now see the slot closed.
    fn drop(&mut self) {
        for reg in self.wakers.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            reg.waker.wake_by_ref();
        }
    }
}

/// A stream client's watch on the slot ([`LatestFrame::watch`]): reads the newest frame and
/// asks to be woken by the next publish. It counts as a watcher while it lives.
///
/// The wake is one-shot, like a `changed()` future: a publish wakes the watch only if it was
/// armed ([`FrameWatch::arm`]), and disarms it. A client that has nothing to do until a timer of
/// its own fires (held back by its fps cap or by a full receive window) leaves it disarmed and
/// is not woken by every frame; it reads the slot when its timer fires.
pub struct FrameWatch {
    rx: watch::Receiver<Option<Arc<Frame>>>,
    /// The slot's registrations, not the slot itself: a watch must not keep the slot (and so
    /// its sender) alive, or it would never see the slot closed.
    wakers: Arc<Mutex<Vec<Arc<Registration>>>>,
    reg: Arc<Registration>,
}

/// The slot is gone (its stream was removed).
#[derive(Debug)]
pub struct SlotClosed;

impl FrameWatch {
    /// The newest frame if one was published since the last look (the first look: the slot's
    /// frame, if any).
    pub fn newest(&mut self) -> Result<Option<Arc<Frame>>, SlotClosed> {
        match self.rx.has_changed() {
            Ok(true) => Ok(self.rx.borrow_and_update().clone()),
            Ok(false) => Ok(None),
            Err(_) => Err(SlotClosed),
        }
    }

    /// Asks to be woken by the next publish, and looks once more: a frame published while we
    /// armed is returned here, not announced again.
    pub fn arm(&mut self) -> Result<Option<Arc<Frame>>, SlotClosed> {
        self.reg.armed.store(true, Ordering::SeqCst);
        // Pairs with the fence in `publish`: either it sees us armed, or we see its frame.
        fence(Ordering::SeqCst);
        self.newest()
    }
}

impl Drop for FrameWatch {
    fn drop(&mut self) {
        let mut list = self.wakers.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = list.iter().position(|r| Arc::ptr_eq(r, &self.reg)) {
            list.swap_remove(i);
        }
    }
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
            inner: Arc::new(Inner {
                tx,
                next_seq: AtomicU64::new(1),
                wakers: Arc::default(),
            }),
        }
    }

    /// Replaces the slot's frame: wakes the watchers (one wake each), copies nothing.
    /// Numbering and replacing happen in one step under the slot's lock, so frames never go
    /// back in sequence whoever publishes (a source and its supervisor's placeholder may race).
    pub fn publish(&self, frame: NewFrame) -> Arc<Frame> {
        let mut published = None;
        let inner = &*self.inner;
        inner.tx.send_modify(|slot| {
            let frame = Arc::new(Frame {
                jpeg: frame.jpeg,
                seq: inner.next_seq.fetch_add(1, Ordering::Relaxed),
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
        // Pairs with the fence in `FrameWatch::arm`.
        fence(Ordering::SeqCst);
        for reg in inner
            .wakers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            if reg.armed.swap(false, Ordering::SeqCst) {
                reg.waker.wake_by_ref();
            }
        }
        published.expect("send_modify runs its closure")
    }

    /// The newest frame, if any was published yet.
    pub fn latest(&self) -> Option<Arc<Frame>> {
        self.inner.tx.borrow().clone()
    }

    /// A receiver for async watchers (stream bodies, snapshot waits).
    pub fn subscribe(&self) -> watch::Receiver<Option<Arc<Frame>>> {
        self.inner.tx.subscribe()
    }

    /// A watch for a stream client, whose `waker` the next publish after each
    /// [`FrameWatch::arm`] wakes (it starts armed), and the slot's end. One registration for
    /// the client's life instead of a `changed()` future per frame.
    pub fn watch(&self, waker: Waker) -> FrameWatch {
        let reg = Arc::new(Registration {
            waker,
            armed: AtomicBool::new(true),
        });
        let wakers = Arc::clone(&self.inner.wakers);
        wakers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::clone(&reg));
        let mut rx = self.subscribe();
        rx.mark_changed(); // the first look returns the slot's frame
        FrameWatch { rx, wakers, reg }
    }

    /// Number of live subscribers (stream clients' watches and waiting snapshots).
    pub fn watchers(&self) -> usize {
        self.inner.tx.receiver_count()
    }
}

#[cfg(test)]
mod tests;
