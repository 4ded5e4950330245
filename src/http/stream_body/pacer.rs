//! When a stream client may get its next part: the slow-client half of [`super::MjpegBody`].
//!
//! `TCP_NOTSENT_LOWAT` keeps our own send queue short, but a client that reads slowly also
//! keeps parts in its kernel's receive buffer (128 KB by default, two to four 640×480 frames):
//! sent blindly, a client reading one frame a second would see pictures seconds old. So before
//! each part the [`Pacer`] reads the connection's `TCP_INFO` ([`conn::backlog`]) and lets the
//! part go only when the client has taken in the last one:
//!
//! - nothing waits unsent in our kernel, and little is in flight (on a slow link, a queue in
//!   the network would hold the pictures instead of the client);
//! - the client's advertised window shows its buffer empty, that is at the largest size it
//!   had lately.
//!
//! A client that keeps up passes at once: its ACKs after each read carry the reopened window.
//! A slow one that has read its part usually says nothing — Linux announces a reopened window
//! only once it has doubled — so the pacer asks: it has the body send one byte of the next
//! part's frame-independent start ([`PART_PREFIX`]), and the client's ACK of it carries its
//! current window. A client in the middle of reading answers within a round trip; one that is
//! not reading answers after its delayed-ACK time and is then looked at only at these probes,
//! every [`PROBE_EVERY`]. While data waits in our kernel or in flight, it is looked at when it
//! should have drained — never on every new frame. A client that neither reads (its window's
//! right edge stays put) nor takes data for the stall timeout is disconnected.
//!
//! The window shows unread data only beyond the margin by which the client's free buffer
//! exceeds the window it offers (about 30 KB for a 128 KB buffer on loopback): a part smaller
//! than that margin goes unseen. So a client once seen slow (a probe answered with its last
//! part still unread) gets its next part when its last was seen read, or else no sooner than
//! about its read interval ([`SLOW_GAP`]) after the last; answering probes at once several
//! times in a row (it reads as parts arrive) makes it fast again.
//!
//! [`PART_PREFIX`]: crate::mjpeg::format::PART_PREFIX
//! [`conn::backlog`]: crate::http::conn::backlog

use std::time::Duration;

use tokio::time::Instant;

use crate::http::conn::Backlog;
use crate::mjpeg::format::PART_PREFIX;

/// Unread bytes that still count as "nothing unread" (window rounding: at least two of the
/// peer's window units). Any more is unread data — of a client mid-read, or one that has not
/// touched its last part (whose bytes beyond the hidden margin may be only a few KB) — and is
/// asked about with a probe.
const SLACK_BYTES: u64 = 2048;
/// Bytes in flight beyond which a part waits for them to be acknowledged.
const IN_FLIGHT_BYTES: u64 = 16 * 1024;
/// Unread bytes that still count as "nothing unread" when a probe was answered at once (at
/// least four of the peer's window units).
const QUICK_SLACK_BYTES: u64 = 8 * 1024;
/// When the answer to the first probe after a part is looked at: a client that is reading
/// answers within a round trip (plus this), one that is not after its delayed-ACK time.
const PROBE_ANSWER_MIN: Duration = Duration::from_millis(3);
/// When an unanswered probe is looked at again (a receiver delays its ACK of a lone small
/// segment by up to 40 ms).
pub const PROBE_FIRST: Duration = Duration::from_millis(50);
/// How often a client with unread data is probed after that.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);
/// Probes at [`PROBE_EVERY`] before they slow down (doubling up to [`PROBE_EVERY_MAX`]).
const FAST_PROBES: usize = 20;
const PROBE_EVERY_MAX: Duration = Duration::from_secs(2);
/// Looks while waiting for our kernel to drain: no sooner, no later than this.
const DRAIN_LOOK_MIN: Duration = Duration::from_millis(5);
/// Data in flight but none unsent: its ACK may be a delayed one.
const ACK_LOOK_MIN: Duration = Duration::from_millis(10);
const DRAIN_LOOK_MAX: Duration = Duration::from_millis(100);
/// The window's right edge must move this far to count as the client reading.
const PROGRESS_BYTES: u64 = 4096;
/// A slow client whose parts may go unseen (see above) gets one no sooner than this after the
/// last, or 90 % of the interval between its reads when those were seen (within these bounds).
const SLOW_GAP: Duration = Duration::from_millis(500);
const SLOW_GAP_MIN: Duration = Duration::from_millis(100);
const SLOW_GAP_MAX: Duration = Duration::from_secs(1);
/// Probes in a row answered at once with nothing unread before a slow client counts as keeping
/// up again (a slow client that was waiting for its next part answers at once too, but not
/// every time).
const QUICK_ANSWERS_TO_RECOVER: u32 = 3;
/// The "empty buffer" window is the largest seen in the last one to two of these: a receiver
/// under memory pressure may offer less for good, and a client that has not emptied its buffer
/// for that long gets the next part anyway.
const PEAK_EPOCH: Duration = Duration::from_secs(2);

/// A probe's answer, as a look finds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Answer {
    /// No probe out.
    None,
    /// Acknowledged by the quick look: the client read it at once.
    Quick,
    /// Acknowledged later (its delayed ACK): the client was not reading.
    Late,
    /// Not acknowledged yet.
    Pending,
}

/// What the body should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Send the newest frame.
    Send,
    /// Send the next byte of [`PART_PREFIX`] (the client's ACK will tell its window).
    Probe,
    /// Nothing before this time (a new frame meanwhile changes nothing).
    Wait(Instant),
    /// The client reads nothing and takes nothing: disconnect it.
    Stalled,
}

pub struct Pacer {
    /// Largest window of the current and the previous [`PEAK_EPOCH`], and when the current
    /// epoch began.
    peak: (u32, u32, Instant),
    /// No look at the socket before this (None: look at the next chance).
    next_look: Option<Instant>,
    /// Bytes of [`PART_PREFIX`] already sent ahead of the next part.
    prefix_sent: usize,
    /// The connection's round-trip time at the last look.
    rtt: Duration,
    /// A probe went out and its answer has not been looked at; whether the look is the quick
    /// one (a client that is reading answers by then).
    probe_out: Option<bool>,
    /// A probe was answered with the last part still unread (until the client is seen reading
    /// promptly again).
    slow: bool,
    /// Probes in a row answered at once with nothing unread.
    quick_answers: u32,
    /// Since the last part went out, a look showed data unread.
    unread_seen: bool,
    /// Data was unread at the last look.
    was_unread: bool,
    /// When the last part went out.
    last_send: Option<Instant>,
    /// When a slow client was last seen reading, and the interval between such reads.
    last_read: Option<Instant>,
    read_every: Option<Duration>,
    /// The window's right edge (acked + window) and acknowledged bytes when the client last
    /// made progress, and when.
    progress: (u64, u64, Instant),
    /// A client without progress for this long is disconnected.
    stall_timeout: Option<Duration>,
}

impl Pacer {
    pub fn new(now: Instant) -> Self {
        Self {
            peak: (0, 0, now),
            next_look: None,
            prefix_sent: 0,
            rtt: Duration::ZERO,
            probe_out: None,
            slow: false,
            quick_answers: 0,
            unread_seen: false,
            was_unread: false,
            last_send: None,
            last_read: None,
            read_every: None,
            progress: (0, 0, now),
            stall_timeout: None,
        }
    }

    pub fn set_stall_timeout(&mut self, timeout: Duration) {
        self.stall_timeout = Some(timeout);
    }

    /// Bytes of [`PART_PREFIX`] the client already has of its next part.
    pub fn prefix_sent(&self) -> usize {
        self.prefix_sent
    }

    /// Whether the client is treated as slow.
    #[cfg(test)]
    pub fn is_slow(&self) -> bool {
        self.slow
    }

    /// When the pacer wants to look at the socket again; `None`: now.
    pub fn next_look(&self, now: Instant) -> Option<Instant> {
        self.next_look.filter(|&t| t > now)
    }

    /// Decides from the socket's backlog (`None`: the kernel does not say, nothing is gated).
    pub fn decide(&mut self, backlog: Option<Backlog>, now: Instant) -> Verdict {
        let Some(b) = backlog else {
            return Verdict::Send;
        };
        let peak = self.note_window(b.peer_window, now);
        self.rtt = b.rtt;
        self.note_progress(&b, now);
        let unread = u64::from(peak - b.peer_window);
        let queued = b.notsent > 0 || b.in_flight > IN_FLIGHT_BYTES;
        let answer = self.probe_answer(b.unacked);
        // A probe answered at once was read at once, and everything before it: whatever the
        // window's rounding, the buffer is empty, and this window is its empty one now (a
        // receiver offers less after small segments such as probes).
        let unit = u64::from(b.window_unit);
        let (slack, quick_slack) = (SLACK_BYTES.max(2 * unit), QUICK_SLACK_BYTES.max(4 * unit));
        let quick_empty = answer == Answer::Quick && unread <= quick_slack;
        if quick_empty {
            self.peak = (b.peer_window, 0, now);
        }
        let empty = !queued && (unread <= slack || quick_empty);
        self.note_reading(answer, !queued && !empty, empty, now);
        if empty {
            if !self.slow || self.unread_seen {
                return Verdict::Send; // nothing unread, or the last part was seen read
            }
            let gap = self
                .read_every
                .map_or(SLOW_GAP, |every| every.mul_f32(0.9))
                .clamp(SLOW_GAP_MIN, SLOW_GAP_MAX);
            let due = self.last_send.map_or(now, |t| t + gap);
            if now >= due {
                return Verdict::Send;
            }
            if self.prefix_sent > 0 || b.unacked > 0 {
                return self.wait(due); // asked already: not reading right now
            }
            // Its last part may be unread but unseen: ask whether it is reading.
            return Verdict::Probe;
        }
        if self
            .stall_timeout
            .is_some_and(|t| now >= self.progress.2 + t)
        {
            return Verdict::Stalled;
        }
        if queued {
            let pending = u64::from(b.notsent) + b.in_flight;
            let wait = if b.notsent > 0 && b.peer_window < b.notsent {
                PROBE_EVERY // the client must read before anything moves
            } else {
                let min = if b.notsent > 0 {
                    DRAIN_LOOK_MIN
                } else {
                    ACK_LOOK_MIN
                };
                match b.delivery_rate {
                    0 => DRAIN_LOOK_MAX / 10,
                    rate => Duration::from_secs_f64(pending as f64 / rate as f64),
                }
                .clamp(min, DRAIN_LOOK_MAX)
            };
            return self.wait(now + wait);
        }
        if b.unacked > 0 {
            // The last probe is not answered yet: not reading, or a long round trip.
            return self.wait(now + PROBE_FIRST.max(b.rtt));
        }
        if self.prefix_sent >= PART_PREFIX.len() {
            // Probed for a long while: keep looking; the window seen for two epochs becomes
            // the one that counts as empty, and a part goes.
            return self.wait(now + PROBE_EVERY_MAX);
        }
        Verdict::Probe
    }

    /// What the answer to a probe, and the unread data, say about the client's reading.
    /// Whether the last probe's answer is in, and whether it came by the quick look.
    fn probe_answer(&mut self, unacked: u32) -> Answer {
        match self.probe_out {
            Some(quick) if unacked == 0 => {
                self.probe_out = None;
                if quick {
                    Answer::Quick
                } else {
                    Answer::Late
                }
            }
            Some(_) => {
                self.probe_out = Some(false); // not answered by the quick look: not reading
                Answer::Pending
            }
            None => Answer::None,
        }
    }

    /// What the answer to a probe, and the unread data, say about the client's reading.
    fn note_reading(&mut self, answer: Answer, unread: bool, empty: bool, now: Instant) {
        match answer {
            Answer::Late if unread => self.slow = true,
            // It read the probe byte and everything before at once: it was reading (or
            // waiting for us). Several times in a row: it keeps up again.
            Answer::Quick if empty => {
                self.quick_answers += 1;
                self.slow &= self.quick_answers < QUICK_ANSWERS_TO_RECOVER;
            }
            Answer::None | Answer::Late => {}
            Answer::Quick | Answer::Pending => self.quick_answers = 0,
        }
        if answer == Answer::Late && unread {
            self.quick_answers = 0;
        }
        if unread {
            self.unread_seen = true;
        } else if self.was_unread && self.slow && empty {
            if let Some(last) = self.last_read {
                self.read_every = Some(now - last);
            }
            self.last_read = Some(now);
        }
        self.was_unread = unread;
    }

    fn wait(&mut self, until: Instant) -> Verdict {
        self.next_look = Some(until);
        Verdict::Wait(until)
    }

    /// The "empty buffer" window after seeing `window`.
    fn note_window(&mut self, window: u32, now: Instant) -> u32 {
        let (current, previous, since) = &mut self.peak;
        if now >= *since + PEAK_EPOCH {
            (*previous, *current, *since) = (*current, 0, now);
        }
        *current = (*current).max(window);
        (*current).max(*previous)
    }

    /// The client's window moved right (it read), or with data queued it took some.
    fn note_progress(&mut self, b: &Backlog, now: Instant) {
        let edge = b.acked + u64::from(b.peer_window);
        let (mark_edge, mark_acked, _) = self.progress;
        if edge >= mark_edge + PROGRESS_BYTES || (b.notsent > 0 && b.acked > mark_acked) {
            self.progress = (edge.max(mark_edge), b.acked, now);
        }
    }

    /// A part went out (including any prefix sent ahead of it).
    pub fn part_sent(&mut self, now: Instant) {
        self.prefix_sent = 0;
        self.unread_seen = false;
        self.last_send = Some(now);
        self.next_look = None;
        self.progress.2 = now;
    }

    /// One byte of [`PART_PREFIX`] went out.
    pub fn probe_sent(&mut self, now: Instant) {
        self.prefix_sent += 1;
        self.probe_out = Some(self.prefix_sent == 1);
        let every = match self.prefix_sent {
            1 => (self.rtt + PROBE_ANSWER_MIN).min(PROBE_FIRST),
            n if n <= FAST_PROBES => PROBE_EVERY,
            n => (PROBE_EVERY * (1 << (n - FAST_PROBES).min(8))).min(PROBE_EVERY_MAX),
        };
        self.next_look = Some(now + every);
    }
}

#[cfg(test)]
mod tests;
