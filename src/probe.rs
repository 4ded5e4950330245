//! `streamserver probe URL`: an MJPEG client that measures a stream, and the benchmarks' load
//! client; [`attack`] is the hostile traffic of the attack drills (loopback only).
//!
//! It opens `--clients N` connections (hyper 1 client over tokio TCP, `http://` only, Basic auth
//! from `user:pass@` in the URL) and reads `multipart/x-mixed-replace` with the tolerant
//! [`crate::multipart`] parser, so it works against any MJPEG server (any boundary, parts with or
//! without `Content-Length`). Each client reconnects after an error with a capped backoff. The run
//! ends after `--duration` seconds or once every client has `--frames` frames, whichever comes
//! first (10 s if neither is given; with only `--frames`, at most 60 s + 1 s per frame).
//! `--read-fps F` makes each client read at most F parts a second without touching the socket in
//! between (a slow client: its latency shows how old the frames it gets are), `--stalled N` adds N
//! connections that send the request and never read, held for the whole run. Every connect,
//! response and read has `--timeout` (a stalled stream is an error and a reconnect).
//!
//! The exit status is success if every client received at least one frame (and at least
//! `--frames` if given). The library API is [`probe`] with [`ProbeOptions`] → [`ProbeReport`].
//!
//! # Figures and `--json` field names (stable)
//!
//! | field | meaning |
//! |---|---|
//! | `url`, `clients`, `elapsed_s` | what was probed, by how many clients, for how long (s) |
//! | `frames`, `bytes` | parts received and their body bytes, all clients |
//! | `fps_total`, `fps_per_client_avg` | sum and mean of the clients' fps; a client's fps is measured between its first and last frame |
//! | `frame_bytes.{min,avg,max}` | part body sizes |
//! | `seq_gap_events`, `seq_skipped` | `X-Frame-Seq` jumps within one connection, and the sequence numbers they skipped (frames the server dropped for this client) |
//! | `seq_repeats`, `seq_backwards` | parts whose `X-Frame-Seq` equals (idle re-send) or is below the previous one |
//! | `reconnects`, `errors` | connections re-opened; connection attempts that failed |
//! | `latency_ms.{samples,p50,p99,max}` | wall-clock time when a part had fully arrived minus its `X-Timestamp`, all clients (`null` without `X-Timestamp`; meaningful only with synchronised clocks) |
//! | `stalled.{requested,connected,errors}` | the `--stalled` connections |
//! | `ok` | the exit status as a boolean |
//! | `per_client[]` | `client`, `frames`, `bytes`, `fps`, `first_frame_ms`, `frame_bytes`, `seq_*`, `reconnects`, `errors`, `last_error`, `multipart_resyncs`, `latency_ms` |
//!
//! A part whose JPEG opens with a `bench:<n>:<unix ns>` comment (the benchmarks' feeder, see
//! [`producer_stamp`]) is counted by that number and time instead of `X-Frame-Seq` and
//! `X-Timestamp`, so the same figures can be compared across servers.

pub mod attack;
mod client;
mod report;

use std::time::{Duration, Instant};

use tokio::task::JoinSet;
use tracing::debug;

pub use report::{producer_stamp, ClientReport, Latency, ProbeReport, SizeRange, StalledReport};

use crate::mjpeg::client::{ClientError, Target};
use crate::mjpeg::parser::{Limits, DEFAULT_MAX_HEADER_BYTES};
use crate::util::error_chain;
use client::ConnSettings;
use report::ClientStats;

/// Most concurrent clients (and stalled connections) one probe opens.
pub const MAX_CLIENTS: usize = 4096;
const DEFAULT_DURATION: Duration = Duration::from_secs(10);
const BACKOFF_INITIAL: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    #[error("invalid probe options: {0}")]
    InvalidOptions(String),
    #[error(transparent)]
    Client(#[from] ClientError),
}

impl ProbeError {
    /// Whether reconnecting can help (a 404 or an HTML page will not change).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::InvalidOptions(_) => false,
            Self::Client(err) => err.is_retryable(),
        }
    }
}

/// `streamserver probe`: measure an MJPEG stream.
#[derive(clap::Args, Debug, Clone)]
#[command(after_help = "Examples:\n  \
    streamserver probe http://raspberrypi.local:8080/stream.mjpg\n  \
    streamserver probe http://127.0.0.1:8080/stream.mjpg --clients 20 --duration 30 --json\n  \
    streamserver probe http://cam/stream.mjpg --clients 5 --read-fps 2 --stalled 10")]
pub struct ProbeArgs {
    /// Stream URL (http:// only; user:pass@host for Basic auth), e.g.
    /// http://raspberrypi.local:8080/stream.mjpg.
    pub url: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=MAX_CLIENTS as u64))]
    pub clients: u64,
    /// Stop after this many seconds (default 10 s unless --frames is given).
    #[arg(long, value_name = "SECONDS", value_parser = positive_secs)]
    pub duration: Option<Duration>,
    /// Stop once every client has received this many frames.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub frames: Option<u64>,
    /// Print one JSON object (field names documented in the probe module) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Slow clients: each reads at most F frames per second, not reading the socket in between.
    #[arg(long, value_name = "F", value_parser = positive_f64)]
    pub read_fps: Option<f64>,
    /// Extra connections that send the request and never read, held for the whole run.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=MAX_CLIENTS as u64))]
    pub stalled: u64,
    /// Connect, response and read timeout; a stream silent this long is reconnected.
    #[arg(long, value_name = "SECONDS", default_value = "5", value_parser = positive_secs)]
    pub timeout: Duration,
    /// Largest accepted part (bytes).
    #[arg(long, value_name = "BYTES", default_value_t = crate::mjpeg::parser::DEFAULT_MAX_PART_BYTES)]
    pub max_part_bytes: usize,
    /// Socket receive buffer (SO_RCVBUF) of every connection; small values make --read-fps and
    /// --stalled clients behave like clients on a slow network. Default: the kernel's.
    #[arg(long, value_name = "BYTES")]
    pub recv_buffer: Option<usize>,
}

fn positive_f64(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("{s:?} is not a positive number")),
    }
}

fn positive_secs(s: &str) -> Result<Duration, String> {
    positive_f64(s).and_then(|v| Duration::try_from_secs_f64(v).map_err(|e| e.to_string()))
}

/// What to probe and how; [`ProbeOptions::new`] gives the command's defaults.
#[derive(Debug, Clone)]
pub struct ProbeOptions {
    pub url: String,
    pub clients: usize,
    pub duration: Option<Duration>,
    pub frames: Option<u64>,
    /// Each client reads at most this many parts per second.
    pub read_fps: Option<f64>,
    /// Connections that send the request and never read.
    pub stalled: usize,
    /// Connect, response and per-read timeout.
    pub timeout: Duration,
    pub max_part_bytes: usize,
    /// `SO_RCVBUF` of every connection (None: kernel default).
    pub recv_buffer_bytes: Option<usize>,
}

impl ProbeOptions {
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            clients: 1,
            duration: None,
            frames: None,
            read_fps: None,
            stalled: 0,
            timeout: Duration::from_secs(5),
            max_part_bytes: crate::mjpeg::parser::DEFAULT_MAX_PART_BYTES,
            recv_buffer_bytes: None,
        }
    }

    /// How long the run may last at most.
    fn run_time(&self) -> Duration {
        match (self.duration, self.frames) {
            (Some(d), _) => d,
            // The slowest sane stream still re-sends a frame about once a second.
            (None, Some(n)) => Duration::from_secs(60).saturating_add(Duration::from_secs(n)),
            (None, None) => DEFAULT_DURATION,
        }
    }
}

impl From<ProbeArgs> for ProbeOptions {
    fn from(a: ProbeArgs) -> Self {
        Self {
            url: a.url,
            clients: a.clients as usize,
            duration: a.duration,
            frames: a.frames,
            read_fps: a.read_fps,
            stalled: a.stalled as usize,
            timeout: a.timeout,
            max_part_bytes: a.max_part_bytes,
            recv_buffer_bytes: a.recv_buffer,
        }
    }
}

/// Runs the probe and returns its figures (connection failures are counted, not returned).
pub async fn probe(opts: ProbeOptions) -> Result<ProbeReport, ProbeError> {
    let target = Target::parse(&opts.url).map_err(ClientError::Http)?;
    if !(1..=MAX_CLIENTS).contains(&opts.clients) || opts.stalled > MAX_CLIENTS {
        return Err(ProbeError::InvalidOptions(format!(
            "clients must be 1..={MAX_CLIENTS} and stalled at most {MAX_CLIENTS}"
        )));
    }
    if opts.timeout.is_zero() || opts.read_fps.is_some_and(|f| !(f.is_finite() && f > 0.0)) {
        return Err(ProbeError::InvalidOptions(
            "timeout and read_fps must be positive".into(),
        ));
    }
    let settings = std::sync::Arc::new(ConnSettings {
        target,
        timeout: opts.timeout,
        limits: Limits {
            max_part_bytes: opts.max_part_bytes,
            max_header_bytes: DEFAULT_MAX_HEADER_BYTES,
        },
        recv_buffer_bytes: opts.recv_buffer_bytes,
        read_interval: opts.read_fps.map(|f| Duration::from_secs_f64(1.0 / f)),
        frames: opts.frames,
    });
    let started = Instant::now();
    let deadline = tokio::time::Instant::now() + opts.run_time();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut stalled = JoinSet::new();
    for _ in 0..opts.stalled {
        let (s, stop) = (settings.clone(), stop_rx.clone());
        stalled.spawn(async move {
            tokio::select! {
                r = s.hold_stalled(stop) => r,
                _ = tokio::time::sleep_until(deadline + s.timeout) => Ok(()),
            }
        });
    }
    let mut clients = JoinSet::new();
    for id in 0..opts.clients {
        let s = settings.clone();
        clients.spawn(async move { (id, run_client(&s, id, started, deadline).await) });
    }
    let mut stats: Vec<Option<ClientStats>> = (0..opts.clients).map(|_| None).collect();
    while let Some(res) = clients.join_next().await {
        // A panicking client task is a bug; let it surface.
        let (id, s) = res.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()));
        stats[id] = Some(s);
    }
    let _ = stop_tx.send(true);
    let mut stalled_report = StalledReport {
        requested: opts.stalled,
        connected: 0,
        errors: 0,
    };
    while let Some(res) = stalled.join_next().await {
        match res {
            Ok(Ok(())) => stalled_report.connected += 1,
            Ok(Err(err)) => {
                debug!(err = %error_chain(&err), "stalled connection failed");
                stalled_report.errors += 1;
            }
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    let stats: Vec<ClientStats> = stats.into_iter().flatten().collect();
    Ok(ProbeReport::build(
        opts.url,
        &stats,
        stalled_report,
        started,
        opts.frames,
    ))
}

/// One client: connect, read, reconnect with capped backoff, until the deadline or its frames.
async fn run_client(
    s: &ConnSettings,
    id: usize,
    started: Instant,
    deadline: tokio::time::Instant,
) -> ClientStats {
    let mut stats = ClientStats::new(started);
    let mut backoff = BACKOFF_INITIAL;
    while tokio::time::Instant::now() < deadline {
        let frames_before = stats.frames;
        let result = tokio::select! {
            r = s.stream_once(&mut stats) => r,
            _ = tokio::time::sleep_until(deadline) => Ok(()),
        };
        stats.connection_ended();
        let Err(err) = result else { break };
        stats.errors += 1;
        let chain = error_chain(&err);
        debug!(client = id, err = %chain, frames = stats.frames, "probe connection failed");
        stats.last_error = Some(chain);
        if !err.is_retryable() {
            break;
        }
        if stats.frames > frames_before {
            backoff = BACKOFF_INITIAL;
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = tokio::time::sleep_until(deadline) => break,
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
        stats.reconnects += 1;
    }
    stats
}

/// The `probe` command: runs, prints text or JSON, returns whether the probe succeeded.
pub async fn run(args: ProbeArgs) -> Result<bool, ProbeError> {
    let json = args.json;
    let report = probe(args.into()).await?;
    if json {
        println!(
            "{}",
            serde_json::to_string(&report).expect("a report always serialises")
        );
    } else {
        print!("{}", text_report(&report));
    }
    Ok(report.ok)
}

fn text_report(r: &ProbeReport) -> String {
    let kb = |b: f64| format!("{:.1} KB", b / 1000.0);
    let ms = |v: Option<f64>| v.map_or("-".into(), |v| format!("{v:.1} ms"));
    let mut out = format!(
        "probe {}: {} client(s), {:.2} s\n\
         frames      {} ({:.1} fps per client, {:.1} fps total), {}\n\
         frame size  min {} / avg {} / max {}\n\
         seq gaps    {} gap(s), {} frame(s) skipped; {} repeat(s), {} backwards\n\
         latency     p50 {} / p99 {} / max {} ({} samples, from X-Timestamp)\n\
         reconnects  {}, errors {}\n",
        r.url,
        r.clients,
        r.elapsed_s,
        r.frames,
        r.fps_per_client_avg,
        r.fps_total,
        kb(r.bytes as f64),
        kb(r.frame_bytes.min as f64),
        kb(r.frame_bytes.avg),
        kb(r.frame_bytes.max as f64),
        r.seq_gap_events,
        r.seq_skipped,
        r.seq_repeats,
        r.seq_backwards,
        ms(r.latency_ms.p50),
        ms(r.latency_ms.p99),
        ms(r.latency_ms.max),
        r.latency_ms.samples,
        r.reconnects,
        r.errors,
    );
    if r.stalled.requested > 0 {
        out += &format!(
            "stalled     {}/{} held, {} failed\n",
            r.stalled.connected, r.stalled.requested, r.stalled.errors
        );
    }
    if r.clients > 1 || !r.ok {
        for c in &r.per_client {
            out += &format!(
                "  client {}: {} frames, {:.1} fps, latency p50 {}, {} gap(s), {} reconnect(s){}\n",
                c.client,
                c.frames,
                c.fps,
                ms(c.latency_ms.p50),
                c.seq_gap_events,
                c.reconnects,
                c.last_error
                    .as_ref()
                    .map_or(String::new(), |e| format!(", last error: {e}")),
            );
        }
    }
    out += if r.ok {
        "result      ok\n"
    } else {
        "result      FAILED: a client got too few frames\n"
    };
    out
}
