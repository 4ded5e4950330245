//! `streamserver-bench fanout`: our folder source next to the floor server
//! ([`super::floor`]), on the same frames, the same load client and the same window,
//! interleaved (ours, floor, floor, ours, …) so a burst of load on a shared machine hits both.
//!
//! One run is a fresh folder, a fresh [`Feeder`] and a fresh server process
//! ([`super::server`]); after `settle` the probes load it for `window`: fast readers, slow ones
//! (reading one frame a second through the kernel's default receive buffer) and connections
//! that never read. Server CPU is the sum over its threads' `schedstat` from the probes' start
//! to their end, per frame delivered to all clients; RSS is sampled every second. The `shaped`
//! scenario runs inside a network namespace with a shaped loopback ([`super::netns`]): two
//! viewers sharing 8 Mbit/s, 1280×720 frames. The figures and verdicts are rendered by
//! [`super::fanout_report`].

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use crate::feeder::{pictures, Feeder};
use crate::netns::{ShapedLink, Shaping};
use crate::proc::{threads, threads_delta, RssSummary, Sampler, ThreadStat};
use crate::server::{spawn_probe, wait_probe, Binaries, Server, ServerError, Target};
use streamserver::probe::ProbeReport;

#[derive(Debug, thiserror::Error)]
pub enum FanoutError {
    #[error(transparent)]
    Server(#[from] ServerError),
    #[error("cannot {what}")]
    Io {
        what: String,
        source: std::io::Error,
    },
    #[error("cannot make the frames")]
    Frames(#[from] streamserver::pipeline::encoder::EncodeError),
    #[error("bad scenario {0:?}: use N, F+Sslow, F+Sstalled or shaped")]
    BadScenario(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> FanoutError {
    let what = what.into();
    move |source| FanoutError::Io { what, source }
}

/// The frames of a run: size, and the JPEG size aimed at (else a camera-like texture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameSpec {
    pub width: usize,
    pub height: usize,
    pub bytes: Option<usize>,
}

/// One load.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub fast: usize,
    /// Clients reading `slow_fps` parts a second.
    pub slow: usize,
    pub slow_fps: f64,
    /// Connections that send the request and never read.
    pub stalled: usize,
    /// Run on the shaped link with the shaped frames.
    pub shaped: bool,
}

impl Scenario {
    fn fast(n: usize) -> Self {
        Self {
            name: if n == 1 {
                "1 client".into()
            } else {
                format!("{n} clients")
            },
            fast: n,
            slow: 0,
            slow_fps: 1.0,
            stalled: 0,
            shaped: false,
        }
    }

    /// `N` fast clients, `F+Sslow` (S reading 1 frame/s), `F+Sstalled` (S never reading), or
    /// `shaped` (two viewers on the shaped link).
    pub fn parse(s: &str) -> Result<Self, FanoutError> {
        let bad = || FanoutError::BadScenario(s.into());
        let num = |v: &str| v.parse::<usize>().map_err(|_| bad());
        if s == "shaped" {
            return Ok(Self {
                name: "shaped link, 2 viewers".into(),
                shaped: true,
                ..Self::fast(2)
            });
        }
        let Some((f, rest)) = s.split_once('+') else {
            return Ok(Self::fast(num(s).ok().filter(|&n| n > 0).ok_or_else(bad)?));
        };
        let f = num(f)?;
        if let Some(n) = rest.strip_suffix("slow") {
            let n = num(n)?;
            Ok(Self {
                name: format!("{} clients, {n} reading 1 frame/s", f + n),
                slow: n,
                ..Self::fast(f)
            })
        } else if let Some(n) = rest.strip_suffix("stalled") {
            let n = num(n)?;
            Ok(Self {
                name: format!("{} clients, {n} never reading", f + n),
                stalled: n,
                ..Self::fast(f)
            })
        } else {
            Err(bad())
        }
    }

    /// The scenarios.
    pub const SUITE: &'static str = "1,50,200,150+50slow,400+100stalled,shaped";

    pub fn clients(&self) -> usize {
        self.fast + self.slow + self.stalled
    }
}

/// What every run shares.
#[derive(Debug, Clone)]
pub struct FanoutOptions {
    pub bins: Binaries,
    /// Interleaved in this order, reversed on odd turns.
    pub targets: Vec<Target>,
    /// Where run folders are made (a tmpfs such as /dev/shm keeps the disk out of it).
    pub dir: PathBuf,
    pub fps: u32,
    pub frames: FrameSpec,
    pub shaped_frames: FrameSpec,
    pub shaping: Shaping,
    /// Measured load per run.
    pub window: Duration,
    /// Server up and frames flowing before the load starts.
    pub settle: Duration,
    pub repeats: usize,
    /// A shell command run as `HOOK start|end PID TARGET` around each load window (to attach a
    /// profiler to the window only).
    pub hook: Option<String>,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    pub target: Target,
    pub scenario: Scenario,
    pub repeat: usize,
    pub frame_bytes: usize,
    /// Server CPU (all threads) and context switches in the window.
    pub cpu: ThreadStat,
    pub threads: usize,
    /// Files the feeder wrote in the window.
    pub files: u64,
    pub rss: RssSummary,
    pub fast: ProbeReport,
    pub slow: Option<ProbeReport>,
}

impl RunResult {
    pub fn frames(&self) -> u64 {
        self.fast.frames + self.slow.as_ref().map_or(0, |s| s.frames)
    }
    pub fn cpu_us_per_frame(&self) -> f64 {
        self.cpu.cpu_ns as f64 / 1e3 / self.frames().max(1) as f64
    }
    pub fn switches_per_frame(&self) -> f64 {
        self.cpu.switches as f64 / self.frames().max(1) as f64
    }
}

/// Every run, and the scenarios that could not run (and why).
#[derive(Debug, Clone, Default)]
pub struct Suite {
    pub runs: Vec<RunResult>,
    pub skipped: Vec<(Scenario, String)>,
    pub shaping: String,
}

/// Runs every scenario `repeats` times per target, interleaved; progress on stderr.
pub fn run(opts: &FanoutOptions, scenarios: &[Scenario]) -> Result<Suite, FanoutError> {
    let mut suite = Suite {
        shaping: opts.shaping.to_string(),
        ..Suite::default()
    };
    let mut frames: HashMap<FrameSpec, Arc<Vec<Vec<u8>>>> = HashMap::new();
    for sc in scenarios {
        let spec = if sc.shaped {
            opts.shaped_frames
        } else {
            opts.frames
        };
        let pics = match frames.get(&spec) {
            Some(p) => p.clone(),
            None => {
                let p = Arc::new(pictures(spec.width, spec.height, spec.bytes)?);
                eprintln!(
                    "fanout: {} frames of {}–{} bytes at {}×{}",
                    p.len(),
                    p.iter().map(Vec::len).min().unwrap_or(0),
                    p.iter().map(Vec::len).max().unwrap_or(0),
                    spec.width,
                    spec.height
                );
                frames.insert(spec, p.clone());
                p
            }
        };
        let _link = if sc.shaped {
            match ShapedLink::enter(&opts.shaping) {
                Ok(link) => Some(link),
                Err(err) => {
                    eprintln!("fanout: {}: SKIPPED: {err}", sc.name);
                    suite.skipped.push((sc.clone(), err.to_string()));
                    continue;
                }
            }
        } else {
            None
        };
        for rep in 0..opts.repeats {
            let mut order = opts.targets.clone();
            if rep % 2 == 1 {
                order.reverse();
            }
            for target in &order {
                let r = run_one(opts, &pics, sc, target, rep)?;
                eprintln!("{}", crate::fanout_report::row(&r));
                suite.runs.push(r);
            }
        }
    }
    Ok(suite)
}

fn run_one(
    opts: &FanoutOptions,
    frames: &Arc<Vec<Vec<u8>>>,
    sc: &Scenario,
    target: &Target,
    repeat: usize,
) -> Result<RunResult, FanoutError> {
    let base = opts.dir.join(format!(
        "streamserver-bench-fanout-{}-{}",
        std::process::id(),
        target.name
    ));
    let _ = std::fs::remove_dir_all(&base);
    let (watch, stage) = (base.join("watch"), base.join("stage"));
    for d in [&watch, &stage] {
        std::fs::create_dir_all(d).map_err(io(format!("create {}", d.display())))?;
    }
    let feeder = Feeder::start(frames.clone(), stage, watch.clone(), opts.fps)
        .map_err(io("start the feeder"))?;
    let server = Server::start(&opts.bins, target, &base, &watch);
    let result = server.and_then(|mut server| {
        eprintln!(
            "fanout: {} / {} #{repeat}: pid {}, {:?} of load",
            sc.name,
            target.name,
            server.pid(),
            opts.window
        );
        std::thread::sleep(opts.settle);
        let r = measure(opts, sc, target, &server, &feeder);
        server.stop();
        r
    });
    let fed = feeder.stop().map_err(io("feed frames"));
    let mut r = result?;
    fed?;
    r.repeat = repeat;
    r.frame_bytes = frames.iter().map(Vec::len).sum::<usize>() / frames.len().max(1);
    let _ = std::fs::remove_dir_all(&base);
    Ok(r)
}

fn measure(
    opts: &FanoutOptions,
    sc: &Scenario,
    target: &Target,
    server: &Server,
    feeder: &Feeder,
) -> Result<RunResult, ServerError> {
    let pid = server.pid();
    let url = format!("http://{}/stream.mjpg", server.addr);
    let hook = |phase: &str| {
        if let Some(h) = &opts.hook {
            let cmd = format!("{h} {phase} {pid} {}", target.name);
            match Command::new("sh").arg("-c").arg(&cmd).status() {
                Ok(s) if s.success() => {}
                other => eprintln!("fanout: hook `{cmd}`: {other:?}"),
            }
        }
    };
    hook("start");
    let sampler = Sampler::start(pid, Duration::from_secs(1));
    let (s0, f0) = (threads(pid), feeder.written());
    let fast = spawn_probe(
        &opts.bins.streamserver,
        &url,
        sc.fast,
        None,
        sc.stalled,
        opts.window,
    )?;
    let slow = match sc.slow {
        0 => None,
        n => Some(spawn_probe(
            &opts.bins.streamserver,
            &url,
            n,
            Some(sc.slow_fps),
            0,
            opts.window,
        )?),
    };
    let fast = wait_probe(fast);
    let slow = slow.map(wait_probe).transpose();
    let s1 = threads(pid);
    let files = feeder.written() - f0;
    let rss = sampler.finish();
    hook("end");
    Ok(RunResult {
        target: target.clone(),
        scenario: sc.clone(),
        repeat: 0,
        frame_bytes: 0,
        cpu: threads_delta(&s0, &s1),
        threads: s1.len(),
        files,
        rss,
        fast: fast?,
        slow: slow?,
    })
}

#[cfg(test)]
mod tests;
