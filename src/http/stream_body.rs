//! The multipart/x-mixed-replace body of one stream client.
//!
//! [`MjpegBody`] is polled by hyper only when the connection can take more data (the write
//! buffer is capped at one frame and the socket has `TCP_NOTSENT_LOWAT`), and then hands out the
//! newest frame of the slot: a slow client skips frames, nothing queues. Nor in the client's own
//! kernel buffer: a new frame goes out only when the client's receive window (`TCP_INFO`) shows
//! nothing unread but the last part, else after a hold that grows while it stays behind — so a
//! client that reads one frame a second gets recent frames, not its buffer's backlog. Each part carries
//! `Content-Type`, `Content-Length` and `X-Timestamp`, and the boundary is written right after
//! the JPEG (the format is in [`crate::mjpeg::format`]). While the source is idle
//! the newest frame is re-sent every `idle_resend`. The body ends when shutdown starts, or when
//! the slot holds a [`FrameKind::EndOfStream`] marker (a stale source set to `disconnect`).
//!
//! The JPEG bytes are never copied: a part is a chain of (headers, shared JPEG, boundary).

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
use tokio_stream::wrappers::WatchStream;
use tokio_stream::Stream;

use super::conn;
use crate::mjpeg::format::{closing_boundary, part_headers, PartBuf};
use crate::pipeline::slot::{Frame, FrameKind};
use crate::pipeline::stats::StreamStats;

/// How often a client that has not taken in its previous frame is looked at again.
const DRAIN_POLL: Duration = Duration::from_millis(10);
/// A client that seems behind still gets a new frame after `hold` (a peer announces a reopened
/// window only once it has grown a lot); `hold` doubles from `MIN_HOLD` up to `MAX_HOLD`
/// while the client stays behind.
const MIN_HOLD: Duration = Duration::from_millis(1500);
const MAX_HOLD: Duration = Duration::from_secs(8);
/// Window rounding (window scaling announces it in steps of up to a few KB).
const WINDOW_SLACK_BYTES: u64 = 8 * 1024;

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
    frames: WatchStream<Option<Arc<Frame>>>,
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
    shutdown: Pin<Box<dyn Future<Output = ()> + Send>>,
    boundary: Bytes,
    slot: ClientSlot,
    /// The client's socket, to see how much it has left unread (see [`MjpegBody::client_caught_up`]).
    socket: Option<RawFd>,
    /// Largest receive window the client advertised: its window with nothing unread.
    peak_window: u32,
    /// Bytes of the last part sent.
    last_len: u64,
    /// How long a new frame may wait for a client that seems behind.
    hold: Duration,
    /// A client that stays behind and shows no progress for this long is disconnected.
    stall_timeout: Option<Duration>,
    /// The client's last advertised window and acknowledged byte count, and when either last
    /// moved forward (it read something, or took in a probe).
    progress: (u32, u64, Instant),
    span: tracing::Span,
}

impl MjpegBody {
    pub fn new(
        frames: tokio::sync::watch::Receiver<Option<Arc<Frame>>>,
        min_interval: Option<Duration>,
        idle_resend: Duration,
        shutdown: impl Future<Output = ()> + Send + 'static,
        slot: ClientSlot,
        socket: Option<RawFd>,
        span: tracing::Span,
    ) -> Self {
        Self {
            frames: WatchStream::new(frames),
            latest: None,
            sent_seq: 0,
            last_send: None,
            min_interval,
            idle_resend,
            timer: Box::pin(tokio::time::sleep(Duration::ZERO)),
            shutdown: Box::pin(shutdown),
            boundary: closing_boundary(),
            slot,
            socket,
            peak_window: 0,
            last_len: 0,
            hold: MIN_HOLD,
            stall_timeout: None,
            progress: (0, 0, Instant::now()),
            span,
        }
    }

    /// Disconnects a client that stays behind and shows no progress for `timeout`; probes a
    /// client that is behind at least every `timeout / 2`, so a slow but live one shows some.
    ///
    /// The connection's write timeout cannot see such a client: while it is behind, frames are
    /// held back here, hyper has nothing to write and no write blocks. A stalled client whose
    /// receive buffer still has room acknowledges the probes; it is disconnected once the
    /// buffer is full.
    pub fn disconnect_stalled_after(mut self, timeout: Duration) -> Self {
        self.stall_timeout = Some(timeout);
        self
    }

    /// Whether the client, behind, has neither read (window grew) nor taken in a probe (acked
    /// moved) for the stall timeout.
    fn stalled(&mut self, now: Instant) -> bool {
        let (Some(timeout), Some(b)) = (self.stall_timeout, self.socket.and_then(conn::backlog))
        else {
            return false;
        };
        let (window, acked, _) = self.progress;
        if b.peer_window > window || b.acked != acked {
            self.progress.2 = now;
        }
        (self.progress.0, self.progress.1) = (b.peer_window, b.acked);
        now.duration_since(self.progress.2) >= timeout
    }

    /// Whether the client has taken in what we sent: nothing waits unsent in our kernel, and
    /// its receive window shows nothing unread but (at most) the last part. Otherwise the
    /// client's own receive buffer would hold several frames, and a client reading one frame a
    /// second would see pictures seconds old. The window a client announces with each ACK is
    /// exact; later reads are announced only once the window has grown a lot, hence
    /// [`MAX_HOLD`] as the fallback.
    fn client_caught_up(&mut self) -> bool {
        let Some(b) = self.socket.and_then(conn::backlog) else {
            return true;
        };
        self.peak_window = self.peak_window.max(b.peer_window);
        let allowed = u64::from(b.peer_window) + self.last_len + WINDOW_SLACK_BYTES;
        b.notsent == 0 && allowed >= u64::from(self.peak_window)
    }

    fn part(&mut self, frame: Arc<Frame>, now: Instant) -> PartBuf {
        let skipped = if self.sent_seq == 0 || frame.seq <= self.sent_seq {
            0
        } else {
            frame.seq - self.sent_seq - 1
        };
        self.slot.stats.frame_sent(frame.jpeg.len(), skipped);
        let headers = part_headers(&frame, self.sent_seq == 0 && self.last_send.is_none());
        self.sent_seq = frame.seq;
        self.last_send = Some(now);
        self.last_len = (headers.len() + frame.jpeg.len() + self.boundary.len()) as u64;
        headers
            .chain(frame.jpeg.clone())
            .chain(self.boundary.clone())
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
        if this.shutdown.as_mut().poll(cx).is_ready() {
            tracing::debug!(parent: &this.span, "stream ends: shutdown");
            return Poll::Ready(None);
        }
        loop {
            // Drain the slot: only the newest frame matters.
            while let Poll::Ready(next) = Pin::new(&mut this.frames).poll_next(cx) {
                match next {
                    Some(frame) => this.latest = frame.or(this.latest.take()),
                    None => return Poll::Ready(None), // the stream was removed
                }
            }
            let now = Instant::now();
            let Some(latest) = this.latest.clone() else {
                return Poll::Pending; // no frame yet; the watch wakes us
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
                } else if this.client_caught_up() {
                    this.hold = MIN_HOLD;
                    this.progress.2 = now;
                    return Poll::Ready(Some(Ok(BodyFrame::data(this.part(latest, now)))));
                } else if this.last_send.is_none_or(|t| now >= t + this.hold) {
                    // A probe: its ACK tells the client's window exactly. Probing slower each
                    // time lets a client that reads slowly drain its buffer.
                    this.hold = (this.hold * 2)
                        .min(MAX_HOLD)
                        .min(this.stall_timeout.map_or(MAX_HOLD, |t| t / 2));
                    return Poll::Ready(Some(Ok(BodyFrame::data(this.part(latest, now)))));
                } else if this.stalled(now) {
                    tracing::info!(parent: &this.span, "client reads nothing: disconnecting");
                    if let Some(fd) = this.socket {
                        conn::abort(fd);
                    }
                    return Poll::Ready(None);
                } else {
                    now + DRAIN_POLL
                }
            } else {
                let resend_at = this.last_send.map_or(now, |t| t + this.idle_resend);
                if now >= resend_at {
                    return Poll::Ready(Some(Ok(BodyFrame::data(this.part(latest, now)))));
                }
                resend_at
            };
            this.timer.as_mut().reset(wake_at);
            if this.timer.as_mut().poll(cx).is_pending() {
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
