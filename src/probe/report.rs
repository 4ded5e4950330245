//! The probe's figures: per-client counters while running, a fixed-size latency histogram, and
//! the [`ProbeReport`] (JSON field names are part of the interface, see [`crate::probe`]).

use std::time::{Duration, Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::mjpeg::parser::Part;

/// Exact below 256 µs, then 128 sub-buckets per power of two (≤ 0.8 % error), up to 2^40 µs.
const SUB_BITS: u32 = 7;
const SUB: u64 = 1 << SUB_BITS;
const MAX_LATENCY_US: u64 = 1 << 40;

/// A latency histogram in microseconds; fixed size (~35 KB) whatever the number of samples.
#[derive(Clone)]
pub(crate) struct LatencyHistogram {
    counts: Vec<u64>,
    samples: u64,
    max_us: u64,
}

impl LatencyHistogram {
    pub(crate) fn new() -> Self {
        Self {
            counts: vec![0; Self::index(MAX_LATENCY_US) + 1],
            samples: 0,
            max_us: 0,
        }
    }

    fn index(us: u64) -> usize {
        let v = us.min(MAX_LATENCY_US);
        if v < 2 * SUB {
            return v as usize;
        }
        let shift = (63 - v.leading_zeros()) - SUB_BITS;
        (2 * SUB + (u64::from(shift) - 1) * SUB + ((v >> shift) - SUB)) as usize
    }

    /// The middle of bucket `i`, in µs.
    fn value(i: usize) -> u64 {
        let i = i as u64;
        if i < 2 * SUB {
            return i;
        }
        let shift = (i - 2 * SUB) / SUB + 1;
        let mantissa = (i - 2 * SUB) % SUB + SUB;
        (mantissa << shift) + (1 << shift) / 2
    }

    pub(crate) fn record(&mut self, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        self.counts[Self::index(us)] += 1;
        self.samples += 1;
        self.max_us = self.max_us.max(us.min(MAX_LATENCY_US));
    }

    pub(crate) fn merge(&mut self, other: &Self) {
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.samples += other.samples;
        self.max_us = self.max_us.max(other.max_us);
    }

    /// The `q`-quantile (0..=1) in µs, `None` without samples.
    fn quantile_us(&self, q: f64) -> Option<u64> {
        let rank = ((q * self.samples as f64).ceil() as u64).clamp(1, self.samples.max(1));
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if c > 0 && seen >= rank {
                return Some(Self::value(i).min(self.max_us));
            }
        }
        None
    }

    pub(crate) fn summary(&self) -> Latency {
        let ms = |us: Option<u64>| us.map(|v| v as f64 / 1000.0);
        Latency {
            samples: self.samples,
            p50: ms(self.quantile_us(0.50)),
            p99: ms(self.quantile_us(0.99)),
            max: ms((self.samples > 0).then_some(self.max_us)),
        }
    }
}

/// The file number and Unix time (s) in a `bench:<n>:<unix ns>` JPEG comment right after SOI,
/// if any: the benchmarks' feeder stamps each frame file so, just before it is renamed into the
/// watched folder, so latency and skipped frames mean the same for every server measured.
pub fn producer_stamp(jpeg: &[u8]) -> Option<(u64, f64)> {
    let rest = jpeg.strip_prefix(&[0xFF, 0xD8, 0xFF, 0xFE])?;
    let len = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]) as usize;
    let text = std::str::from_utf8(rest.get(2..len)?).ok()?;
    let (n, ns) = text.strip_prefix("bench:")?.split_once(':')?;
    Some((n.parse().ok()?, ns.parse::<u64>().ok()? as f64 / 1e9))
}

/// What one client saw, over all its connections.
pub(crate) struct ClientStats {
    pub(crate) frames: u64,
    pub(crate) bytes: u64,
    pub(crate) min_size: Option<usize>,
    pub(crate) max_size: usize,
    /// `X-Frame-Seq` of the previous part on the current connection.
    last_seq: Option<u64>,
    pub(crate) gap_events: u64,
    pub(crate) seq_skipped: u64,
    pub(crate) seq_repeats: u64,
    pub(crate) seq_backwards: u64,
    pub(crate) reconnects: u64,
    pub(crate) errors: u64,
    pub(crate) last_error: Option<String>,
    pub(crate) resyncs: u64,
    started: Instant,
    first_frame: Option<Instant>,
    last_frame: Option<Instant>,
    pub(crate) latency: LatencyHistogram,
}

impl ClientStats {
    pub(crate) fn new(started: Instant) -> Self {
        Self {
            frames: 0,
            bytes: 0,
            min_size: None,
            max_size: 0,
            last_seq: None,
            gap_events: 0,
            seq_skipped: 0,
            seq_repeats: 0,
            seq_backwards: 0,
            reconnects: 0,
            errors: 0,
            last_error: None,
            resyncs: 0,
            started,
            first_frame: None,
            last_frame: None,
            latency: LatencyHistogram::new(),
        }
    }

    /// Counts a part that has fully arrived at `now` (`wall`: the same moment, wall clock).
    pub(crate) fn record_part(&mut self, part: &Part, now: Instant, wall: SystemTime) {
        let size = part.body.len();
        self.frames += 1;
        self.bytes += size as u64;
        self.min_size = Some(self.min_size.map_or(size, |m| m.min(size)));
        self.max_size = self.max_size.max(size);
        self.first_frame.get_or_insert(now);
        self.last_frame = Some(now);
        // A producer stamp in the JPEG (the benchmarks' feeder) beats `X-Frame-Seq` and
        // `X-Timestamp`: the file number and the moment it was renamed into place are the same
        // origin for every server (their headers mean different things, or are missing).
        let stamp = producer_stamp(&part.body);
        if let Some(seq) = stamp.map(|s| s.0).or(part.headers.frame_seq) {
            match self.last_seq {
                Some(last) if seq == last => self.seq_repeats += 1,
                Some(last) if seq < last => self.seq_backwards += 1,
                Some(last) if seq > last + 1 => {
                    self.gap_events += 1;
                    self.seq_skipped += seq - last - 1;
                }
                _ => {}
            }
            self.last_seq = Some(seq);
        }
        if let Some(ts) = stamp.map(|s| s.1).or(part.headers.timestamp) {
            let now_s = wall
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0.0, |d| d.as_secs_f64());
            // A timestamp from the future (clock skew) counts as zero latency.
            self.latency
                .record(Duration::from_secs_f64((now_s - ts).clamp(0.0, 1e9)));
        }
    }

    /// A connection ended: frames missed until the next one are not sequence gaps.
    pub(crate) fn connection_ended(&mut self) {
        self.last_seq = None;
    }

    /// Frames per second between the first and the last frame (over the whole run if fewer than
    /// two frames arrived).
    fn fps(&self, ended: Instant) -> f64 {
        match (self.first_frame, self.last_frame) {
            (Some(first), Some(last)) if self.frames >= 2 && last > first => {
                (self.frames - 1) as f64 / (last - first).as_secs_f64()
            }
            _ => self.frames as f64 / (ended - self.started).as_secs_f64().max(1e-6),
        }
    }

    pub(crate) fn report(&self, client: usize, ended: Instant) -> ClientReport {
        ClientReport {
            client,
            frames: self.frames,
            bytes: self.bytes,
            fps: self.fps(ended),
            first_frame_ms: self
                .first_frame
                .map(|t| (t - self.started).as_secs_f64() * 1000.0),
            frame_bytes: SizeRange::of(self.frames, self.bytes, self.min_size, self.max_size),
            seq_gap_events: self.gap_events,
            seq_skipped: self.seq_skipped,
            seq_repeats: self.seq_repeats,
            seq_backwards: self.seq_backwards,
            reconnects: self.reconnects,
            errors: self.errors,
            last_error: self.last_error.clone(),
            multipart_resyncs: self.resyncs,
            latency_ms: self.latency.summary(),
        }
    }
}

/// Smallest, mean and largest part body (bytes); all zero without frames.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SizeRange {
    pub min: u64,
    pub avg: f64,
    pub max: u64,
}

impl SizeRange {
    pub(crate) fn of(frames: u64, bytes: u64, min: Option<usize>, max: usize) -> Self {
        Self {
            min: min.unwrap_or(0) as u64,
            avg: if frames == 0 {
                0.0
            } else {
                bytes as f64 / frames as f64
            },
            max: max as u64,
        }
    }
}

/// Receive time minus `X-Timestamp`, in milliseconds; `null` without samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub samples: u64,
    pub p50: Option<f64>,
    pub p99: Option<f64>,
    pub max: Option<f64>,
}

/// One client's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClientReport {
    pub client: usize,
    pub frames: u64,
    pub bytes: u64,
    pub fps: f64,
    pub first_frame_ms: Option<f64>,
    pub frame_bytes: SizeRange,
    pub seq_gap_events: u64,
    pub seq_skipped: u64,
    pub seq_repeats: u64,
    pub seq_backwards: u64,
    pub reconnects: u64,
    pub errors: u64,
    pub last_error: Option<String>,
    pub multipart_resyncs: u64,
    pub latency_ms: Latency,
}

/// The connections that sent a request and never read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StalledReport {
    pub requested: usize,
    pub connected: usize,
    pub errors: usize,
}

/// Everything a probe run measured (the `--json` output).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeReport {
    pub url: String,
    pub clients: usize,
    pub elapsed_s: f64,
    pub frames: u64,
    pub bytes: u64,
    pub fps_total: f64,
    pub fps_per_client_avg: f64,
    pub frame_bytes: SizeRange,
    pub seq_gap_events: u64,
    pub seq_skipped: u64,
    pub seq_repeats: u64,
    pub seq_backwards: u64,
    pub reconnects: u64,
    pub errors: u64,
    pub latency_ms: Latency,
    pub stalled: StalledReport,
    /// Every client got at least one frame (and at least `--frames` when given).
    pub ok: bool,
    pub per_client: Vec<ClientReport>,
}

impl ProbeReport {
    pub(crate) fn build(
        url: String,
        stats: &[ClientStats],
        stalled: StalledReport,
        started: Instant,
        frames_wanted: Option<u64>,
    ) -> Self {
        let ended = Instant::now();
        let per_client: Vec<_> = stats
            .iter()
            .enumerate()
            .map(|(i, s)| s.report(i, ended))
            .collect();
        let mut latency = LatencyHistogram::new();
        stats.iter().for_each(|s| latency.merge(&s.latency));
        let sum = |f: fn(&ClientReport) -> u64| per_client.iter().map(f).sum::<u64>();
        let frames = sum(|c| c.frames);
        let bytes = sum(|c| c.bytes);
        let fps_total: f64 = per_client.iter().map(|c| c.fps).sum();
        let want = frames_wanted.unwrap_or(1).max(1);
        Self {
            url,
            clients: stats.len(),
            elapsed_s: (ended - started).as_secs_f64(),
            frames,
            bytes,
            fps_total,
            fps_per_client_avg: fps_total / stats.len().max(1) as f64,
            frame_bytes: SizeRange::of(
                frames,
                bytes,
                stats.iter().filter_map(|s| s.min_size).min(),
                stats.iter().map(|s| s.max_size).max().unwrap_or(0),
            ),
            seq_gap_events: sum(|c| c.seq_gap_events),
            seq_skipped: sum(|c| c.seq_skipped),
            seq_repeats: sum(|c| c.seq_repeats),
            seq_backwards: sum(|c| c.seq_backwards),
            reconnects: sum(|c| c.reconnects),
            errors: sum(|c| c.errors),
            latency_ms: latency.summary(),
            stalled,
            ok: !per_client.is_empty() && per_client.iter().all(|c| c.frames >= want),
            per_client,
        }
    }
}

#[cfg(test)]
mod tests;
