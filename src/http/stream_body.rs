//! The multipart/x-mixed-replace body of one stream client.
//!
//! [`MjpegBody`] is polled by hyper only when the connection can take more data (the write
//! buffer is capped at one frame and the socket has `TCP_NOTSENT_LOWAT`), and then hands out the
//! newest frame of the slot: a slow client skips frames, nothing queues. Nor in the client's own
//! kernel buffer: the [`pacer`] lets a part go only when the client has read what it was sent,
//! probing a slow client for its receive window, so a client that reads one frame a second gets
//! recent frames, not its buffer's backlog. Each part carries `Content-Type`, `Content-Length`
//! and `X-Timestamp`, and the boundary is written right after the JPEG (the format is in
//! [`crate::mjpeg::format`]). While the source is idle the newest frame is re-sent every
//! `idle_resend`. The body ends when shutdown starts, or when the slot holds a
//! [`FrameKind::EndOfStream`] marker (a stale source set to `disconnect`).
//!
//! The JPEG bytes are never copied: a part is a chain of (headers, shared JPEG, boundary). A poll
//! touches only what woke the task ([`Wakeups`]): the timer or the shutdown signal; the slot is
//! read on every poll (one atomic load when nothing changed).

mod pacer;

use std::future::Future;
use std::os::fd::RawFd;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use http_body::{Body, Frame as BodyFrame, SizeHint};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

use super::conn;
use super::wakeups::Wakeups;
use crate::mjpeg::format::{closing_boundary, part_headers, PartBuf, PART_PREFIX};
use crate::pipeline::slot::{Frame, FrameKind, FrameWatch, LatestFrame};
use crate::pipeline::stats::StreamStats;
use pacer::{Pacer, Verdict};

/// The things a body waits on, one [`Wakeups`] source each.
const SHUTDOWN: u32 = 0;
const FRAMES: u32 = 1;
const TIMER: u32 = 2;

/// Holds a client's place in the client limit and its count in the stream's stats.
pub struct ClientSlot {
    stats: Arc<StreamStats>,
    _permit: OwnedSemaphorePermit,
}

impl ClientSlot {
    pub fn new(stats: Arc<StreamStats>, permit: OwnedSemaphorePermit) -> Self {
        stats.clients.fetch_add(1, Relaxed);
        Self {
            stats,
            _permit: permit,
        }
    }
}

impl Drop for ClientSlot {
    fn drop(&mut self) {
        self.stats.clients.fetch_sub(1, Relaxed);
    }
}

pub struct MjpegBody {
    /// Our watch on the stream's slot. Its publish wake (source [`FRAMES`]) is armed only while
    /// we wait for a new frame, not while pacing holds one back.
    frames: FrameWatch,
    /// Newest frame seen in the slot.
    latest: Option<Arc<Frame>>,
    /// Sequence number of the last frame sent (0 = none yet).
    sent_seq: u64,
    /// When the last part was handed to hyper.
    last_send: Option<Instant>,
    /// Minimum spacing between parts (`?fps=N`), if any.
    min_interval: Option<Duration>,
    idle_resend: Duration,
    timer: Pin<Box<Sleep>>,
    /// When `timer` fires (`None`: not armed). It is moved only to an earlier time; firing
    /// early just means another look.
    timer_at: Option<Instant>,
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    wakeups: Wakeups,
    boundary: Bytes,
    slot: ClientSlot,
    /// The client's socket, to see how much it has left unread (see [`pacer`]).
    socket: Option<RawFd>,
    pacer: Pacer,
    span: tracing::Span,
}

impl MjpegBody {
    pub fn new(
        frames: &LatestFrame,
        min_interval: Option<Duration>,
        idle_resend: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
        slot: ClientSlot,
        socket: Option<RawFd>,
        span: tracing::Span,
    ) -> Self {
        let wakeups = Wakeups::new(3);
        Self {
            frames: frames.watch(wakeups.waker(FRAMES)),
            latest: None,
            sent_seq: 0,
            last_send: None,
            min_interval,
            idle_resend,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            timer_at: None,
            shutdown: Box::pin(shutdown),
            wakeups,
            boundary: closing_boundary(),
            slot,
            socket,
            pacer: Pacer::new(Instant::now()),
            span,
        }
    }

    /// Disconnects a client that stays behind and shows no progress (reads nothing, takes no
    /// data) for `timeout`.
    ///
    /// The connection's write timeout cannot see such a client: while it is behind, frames are
    /// held back here, hyper has nothing to write and no write blocks.
    pub fn disconnect_stalled_after(mut self, timeout: Duration) -> Self {
        self.pacer.set_stall_timeout(timeout);
        self
    }

    /// The part for `frame`, without the bytes of its start already sent as probes.
    fn part(&mut self, frame: Arc<Frame>, now: Instant) -> PartBuf {
        let skipped = if self.sent_seq == 0 || frame.seq <= self.sent_seq {
            0
        } else {
            frame.seq - self.sent_seq - 1
        };
        self.slot.stats.frame_sent(frame.jpeg.len(), skipped);
        let mut headers = part_headers(&frame, self.sent_seq == 0 && self.last_send.is_none());
        let ahead = self.pacer.prefix_sent();
        debug_assert!(headers.starts_with(&PART_PREFIX[..ahead]));
        headers.advance(ahead);
        self.sent_seq = frame.seq;
        self.last_send = Some(now);
        self.pacer.part_sent(now);
        headers
            .chain(frame.jpeg.clone())
            .chain(self.boundary.clone())
    }

    /// The next byte of the next part's start, to make a slow client tell its window.
    fn probe(&mut self, now: Instant) -> PartBuf {
        let at = self.pacer.prefix_sent();
        self.pacer.probe_sent(now);
        Bytes::from_static(&PART_PREFIX[at..at + 1])
            .chain(Bytes::new())
            .chain(Bytes::new())
    }

    /// Arms the timer for `at` unless it fires sooner anyway; Ready if `at` has come.
    fn wait_until(&mut self, at: Instant) -> Poll<()> {
        if self.timer_at.is_some_and(|armed| armed <= at) {
            return Poll::Pending; // armed and registered: it wakes us, then we look again
        }
        self.timer.as_mut().reset(at);
        self.timer_at = Some(at);
        match self.timer.as_mut().poll(&mut self.wakeups.context(TIMER)) {
            Poll::Ready(()) => {
                self.timer_at = None;
                Poll::Ready(())
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Body for MjpegBody {
    type Data = PartBuf;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<BodyFrame<Self::Data>, Self::Error>>> {
        let this = &mut *self;
        let woken = this.wakeups.take(cx);
        if woken.has(SHUTDOWN)
            && this
                .shutdown
                .as_mut()
                .poll(&mut this.wakeups.context(SHUTDOWN))
                .is_ready()
        {
            tracing::debug!(parent: &this.span, "stream ends: shutdown");
            return Poll::Ready(None);
        }
        if woken.has(TIMER)
            && this.timer_at.is_some()
            && this
                .timer
                .as_mut()
                .poll(&mut this.wakeups.context(TIMER))
                .is_ready()
        {
            this.timer_at = None;
        }
        // Read the slot on every poll (an atomic load when nothing changed): a body held back
        // by pacing is not woken by frames, and takes the newest when its timer fires.
        match this.frames.newest() {
            Ok(frame) => this.latest = frame.or(this.latest.take()),
            Err(_) => return Poll::Ready(None), // the stream was removed
        }
        loop {
            let now = Instant::now();
            let Some(latest) = this.latest.clone() else {
                // No frame yet: the next publish wakes us.
                match this.frames.arm() {
                    Ok(Some(frame)) => this.latest = Some(frame),
                    Ok(None) => return Poll::Pending,
                    Err(_) => return Poll::Ready(None),
                }
                continue;
            };
            if latest.kind == FrameKind::EndOfStream {
                tracing::debug!(parent: &this.span, "stream ends: the source asked to disconnect");
                return Poll::Ready(None);
            }
            let paced_until = match (this.min_interval, this.last_send) {
                // 10% early: a cap equal to the source's rate must not delay frames that
                // arrive with a little jitter (the delays would add up to a frame interval).
                (Some(iv), Some(last)) => last + iv.mul_f32(0.9),
                _ => now,
            };
            let wake_at = if latest.seq != this.sent_seq {
                if now < paced_until {
                    paced_until
                } else if let Some(later) = this.pacer.next_look(now) {
                    later
                } else {
                    let backlog = this.socket.and_then(conn::backlog);
                    match this.pacer.decide(backlog, now) {
                        Verdict::Send => {
                            return Poll::Ready(Some(Ok(BodyFrame::data(this.part(latest, now)))));
                        }
                        Verdict::Probe => {
                            return Poll::Ready(Some(Ok(BodyFrame::data(this.probe(now)))));
                        }
                        Verdict::Wait(until) => until,
                        Verdict::Stalled => {
                            tracing::info!(parent: &this.span, "client reads nothing: disconnecting");
                            if let Some(fd) = this.socket {
                                conn::abort(fd);
                            }
                            return Poll::Ready(None);
                        }
                    }
                }
            } else {
                let resend_at = this.last_send.map_or(now, |t| t + this.idle_resend);
                if now >= resend_at {
                    return Poll::Ready(Some(Ok(BodyFrame::data(this.part(latest, now)))));
                }
                // Sent the newest: wait for the next publish, or the idle resend.
                match this.frames.arm() {
                    Ok(Some(frame)) => {
                        this.latest = Some(frame);
                        continue;
                    }
                    Ok(None) => {}
                    Err(_) => return Poll::Ready(None),
                }
                resend_at
            };
            if this.wait_until(wake_at).is_pending() {
                return Poll::Pending;
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        false
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests;
