//! `streamserver-bench`: the benchmarks behind `BENCHMARKS.md`, as a command so anyone can rerun
//! them (`cargo build --release --workspace`, then `target/release/streamserver-bench encode`,
//! `… fanout`, `… workers` or `… folder`). This file parses the command line and prints; each
//! benchmark is a module:
//!
//! - [`picture`]: the deterministic natural-ish test picture in every pixel format (+ PPM).
//! - [`timing`]: interleaved timing of several cases and their mean/p50/p99.
//! - [`encode`]: our encoder next to libjpeg-turbo called directly.
//! - [`tjbench`]: the system `tjbench` (libjpeg-turbo-progs) as an outside reference.
//! - [`fanout`]: our folder source and the floor server, interleaved, under the `streamserver
//!   probe` load client, with the servers' CPU time and RSS read from `/proc`; `folder` runs
//!   the same way.
//! - [`fanout_report`]: the fan-out tables and the verdicts on the targets.
//! - [`floor`]: builds the floor server (`../shared/bench/floor-server.c`) with `cc`.
//! - [`feeder`]: the frames and the producer that renames them into the watched folder.
//! - [`server`]: the servers as child processes, their variants, the probe load client.
//! - [`netns`]: the shaped link (a network namespace with a shaped loopback; needs root).
//! - [`proc`]: `/proc/PID` sampling and the fd limit.
//! - [`workers`]: throughput per pixel format and worker count through the encode pool.
//! - [`transform`]: overlay and quarter-turn costs next to the encode.
//! - [`hop`]: the camera helper's frame hop (encoded straight into shared memory, copied into
//!   it, and inline through its pipe), next to the encode.
//! - [`folder`]: the folder source's rename → client-receipt latency, next to the floor.
//! - [`markdown`]: the machine description and section replacement in `BENCHMARKS.md`.
//! - [`attack`]: the attack drills (slowloris, floods, bad requests, password guessing, one
//!   address until refused) against the release server, with a healthy and a new viewer.
//! - [`attack_watch`]: the drills' viewers and the server's RSS and descriptors.
//! - [`attack_report`]: the drills' table and the verdicts on the targets.

mod attack;
mod attack_report;
mod attack_watch;
mod encode;
mod fanout;
mod fanout_report;
mod feeder;
mod floor;
mod folder;
mod hop;
mod markdown;
mod netns;
mod picture;
mod proc;
mod server;
mod timing;
mod tjbench;
mod transform;
mod workers;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    about = "Benchmarks of streamserver (encode, fan-out, folder); figures for BENCHMARKS.md"
)]
struct Cli {
    /// Rewrite this section's generated block in the given Markdown file (BENCHMARKS.md).
    #[arg(long, global = true, value_name = "PATH")]
    write_md: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// JPEG encode time per frame: our Encoder vs libjpeg-turbo called directly vs tjbench.
    Encode {
        /// Timed seconds per case (ours and raw each, interleaved).
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// Sizes to run, e.g. 640x480,1280x720 (even widths and heights).
        #[arg(long, value_delimiter = ',', value_parser = parse_size)]
        sizes: Option<Vec<(usize, usize)>>,
        /// Skip the system tjbench reference.
        #[arg(long)]
        no_tjbench: bool,
    },
    /// Encoding throughput per pixel format, size and 1/2/3 pool workers, next to libjpeg-turbo.
    Workers {
        /// Seconds per pool case.
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
        /// JPEG quality 1-100.
        #[arg(long, default_value_t = 80)]
        quality: u8,
    },
    /// The camera helper's hop (encoded straight into shared memory, copied into it, and inline
    /// through the pipe) next to the encode, and the real synthetic helper's CPU per frame (640×480, 1280×720, 1920×1080 at
    /// 30 fps).
    Hop {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        /// The helper binary (default: `streamserver-camera` next to this binary).
        #[arg(long)]
        helper: Option<PathBuf>,
    },
    /// Overlay and quarter-turn costs next to the encode (1280×720, 1920×1080).
    Transform {
        /// Timed seconds per case (interleaved).
        #[arg(long, default_value_t = 2.0)]
        seconds: f64,
    },
    /// Fan-out: our folder source next to the floor server (../shared/bench/floor-server.c),
    /// interleaved, under the probe load client: CPU per delivered frame, RSS, latency, slow
    /// clients' frame age, and the shaped link (needs root; skipped otherwise).
    Fanout {
        /// Scenarios: N fast clients, F+Sslow (S reading 1 frame/s), F+Sstalled (S never
        /// reading), shaped (two viewers sharing 8 Mbit/s).
        #[arg(long, value_delimiter = ',', default_value = fanout::Scenario::SUITE)]
        scenarios: Vec<String>,
        /// Seconds of load per run.
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        #[arg(long, default_value_t = 640)]
        width: usize,
        #[arg(long, default_value_t = 480)]
        height: usize,
        /// JPEG size aimed at (bytes).
        #[arg(long, default_value_t = 35_000)]
        frame_bytes: usize,
        /// Frames of the shaped-link scenario.
        #[arg(long, default_value = "1280x720", value_parser = parse_size)]
        shaped_size: (usize, usize),
        #[arg(long, default_value_t = 89_000)]
        shaped_frame_bytes: usize,
        /// Frames per second the producer writes.
        #[arg(long, default_value_t = 30)]
        fps: u32,
        #[command(flatten)]
        run: RunArgs,
    },
    /// Attack drills from other loopback addresses while a viewer streams and a new one logs
    /// in: slowloris, connection flood, malformed requests, wrong passwords, one address until
    /// refused; the viewers' figures and the server's RSS and descriptors.
    Attack {
        /// The server binary (default: `streamserver` next to this binary).
        #[arg(long)]
        server: Option<PathBuf>,
        /// A tenth of the sizes (100 slowloris connections, 1,000 requests, 5 s).
        #[arg(long)]
        quick: bool,
        /// Only these drills: slowloris, flood, malformed, passwords, refused.
        #[arg(long, value_delimiter = ',')]
        drills: Option<Vec<String>>,
        /// Run everything at the same priority (default: the attack at nice 10, as if its CPU
        /// were its own like a host elsewhere on the LAN, and the server and viewers at nice -5
        /// so other work on a shared machine does not pass for the attack's effect; needs root).
        #[arg(long)]
        same_priority: bool,
    },
    /// Folder source: rename → client receipt latency with N clients, next to the floor server.
    Folder {
        #[arg(long, default_value_t = 10)]
        clients: usize,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        /// Seconds of load per run.
        #[arg(long, default_value_t = 10.0)]
        seconds: f64,
        #[arg(long, default_value_t = 1280)]
        width: usize,
        #[arg(long, default_value_t = 720)]
        height: usize,
        /// Our server's max_client_fps (0 = unpaced clients, the built-in default).
        #[arg(long, default_value_t = 0)]
        max_client_fps: u32,
        #[command(flatten)]
        run: RunArgs,
    },
}

/// How the fan-out and folder runs are made.
#[derive(clap::Args, Debug)]
struct RunArgs {
    /// Runs per scenario and server (interleaved: ours, floor, floor, ours, …).
    #[arg(long, default_value_t = 2)]
    repeats: usize,
    /// Seconds between the server's start and the load.
    #[arg(long, default_value_t = 2.0)]
    settle: f64,
    /// Where the run folders are made (a tmpfs keeps the disk out of the figures).
    #[arg(long, default_value = "/dev/shm")]
    dir: PathBuf,
    /// The floor server's source (default: ../shared/bench/floor-server.c next to the repository).
    #[arg(long)]
    floor_src: Option<PathBuf>,
    /// Our server binary (default: `streamserver` next to this binary).
    #[arg(long)]
    server: Option<PathBuf>,
    /// Servers, interleaved: ours, floor, or variants of ours NAME:env=K=V;server=LINE;log=LINE;bin=PATH.
    #[arg(long, value_delimiter = ',', default_value = "ours,floor")]
    targets: Vec<String>,
    /// Command our server runs under, space separated (e.g. valgrind --tool=callgrind).
    #[arg(long, default_value = "")]
    wrap: String,
    /// Shell command run as `HOOK start|end PID TARGET` around each load window.
    #[arg(long)]
    hook: Option<String>,
}

impl RunArgs {
    fn options(
        self,
        fps: u32,
        seconds: f64,
        frames: fanout::FrameSpec,
        shaped_frames: fanout::FrameSpec,
        extra_server_toml: &str,
    ) -> anyhow::Result<fanout::FanoutOptions> {
        let limit = proc::raise_fd_limit()?;
        eprintln!("fd limit {limit}");
        let exe = std::env::current_exe()?;
        let bin_dir = exe.parent().context("the bench binary's directory")?;
        let src = self.floor_src.unwrap_or_else(floor::default_source);
        let floor = floor::build(&src, bin_dir)?;
        let mut targets = self
            .targets
            .iter()
            .map(|t| server::Target::parse(t))
            .collect::<Result<Vec<_>, _>>()?;
        for t in targets.iter_mut().filter(|t| !t.floor) {
            t.server_toml += extra_server_toml;
        }
        let secs = |s: f64| Duration::try_from_secs_f64(s).context("durations");
        Ok(fanout::FanoutOptions {
            bins: server::Binaries {
                streamserver: self
                    .server
                    .unwrap_or_else(|| exe.with_file_name("streamserver")),
                floor,
                wrap: self.wrap.split_whitespace().map(str::to_owned).collect(),
            },
            targets,
            dir: self.dir,
            fps,
            frames,
            shaped_frames,
            shaping: Default::default(),
            window: secs(seconds)?,
            settle: secs(self.settle)?,
            repeats: self.repeats,
            hook: self.hook,
        })
    }
}

fn parse_size(s: &str) -> Result<(usize, usize), String> {
    let (w, h) = s.split_once('x').ok_or("expected WxH")?;
    let n = |v: &str| v.parse::<usize>().map_err(|e| format!("{v:?}: {e}"));
    Ok((n(w)?, n(h)?))
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("streamserver-bench: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let machine = markdown::machine();
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let (section, body) = match cli.command {
        Command::Encode {
            seconds,
            sizes,
            no_tjbench,
        } => {
            let opts = encode::EncodeOptions {
                sizes: sizes.unwrap_or_else(|| encode::DEFAULT_SIZES.to_vec()),
                per_case: Duration::try_from_secs_f64(seconds).context("--seconds")?,
                tjbench: !no_tjbench,
            };
            let report = encode::run(&opts)?;
            ("encode", encode::render(&report))
        }
        Command::Fanout {
            scenarios,
            seconds,
            width,
            height,
            frame_bytes,
            shaped_size,
            shaped_frame_bytes,
            fps,
            run,
        } => {
            let scenarios = scenarios
                .iter()
                .map(|s| fanout::Scenario::parse(s))
                .collect::<Result<Vec<_>, _>>()?;
            let frames = fanout::FrameSpec {
                width,
                height,
                bytes: Some(frame_bytes),
            };
            let shaped = fanout::FrameSpec {
                width: shaped_size.0,
                height: shaped_size.1,
                bytes: Some(shaped_frame_bytes),
            };
            let opts = run.options(fps, seconds, frames, shaped, "")?;
            let suite = fanout::run(&opts, &scenarios)?;
            ("fanout", fanout_report::render(&suite))
        }
        Command::Hop { seconds, helper } => ("hop", hop::run(seconds, helper.as_deref())?),
        Command::Transform { seconds } => (
            "transform",
            transform::run(Duration::try_from_secs_f64(seconds).context("--seconds")?)?,
        ),
        Command::Workers { seconds, quality } => ("workers", workers::run(seconds, quality)?),
        Command::Attack {
            server,
            quick,
            drills,
            same_priority,
        } => {
            let server = match server {
                Some(s) => s,
                None => std::env::current_exe()?.with_file_name("streamserver"),
            };
            let limit = proc::raise_fd_limit()?;
            eprintln!("fd limit {limit}");
            let scale = if quick { 10 } else { 1 };
            let opts = attack::AttackOptions {
                server,
                slowloris_connections: 1000 / scale,
                drill_time: Duration::from_secs(if quick { 5 } else { 10 }),
                requests: 10_000 / scale as u64,
                before: Duration::from_secs(5),
                attacker_nice: if same_priority { 0 } else { 10 },
                server_nice: if same_priority { 0 } else { -5 },
            };
            let chosen = match drills {
                None => attack::Drill::ALL.to_vec(),
                Some(names) => names
                    .iter()
                    .map(|n| attack::Drill::parse(n))
                    .collect::<Result<Vec<_>, _>>()?,
            };
            let results = attack::run(&opts, &chosen)?;
            let priority = match (opts.attacker_nice, opts.server_nice) {
                (0, 0) => "Everything ran at the same priority (`--same-priority`).".to_string(),
                (a, s) => format!(
                    "The attack's threads ran at nice {a} (its CPU is its own, as for a host \
                     elsewhere on the LAN), the server and the viewers at nice {s} (other builds \
                     on this shared machine must not pass for the attack's effect); \
                     `--same-priority` runs all at 0."
                ),
            };
            (
                "attack",
                format!("{priority}\n\n{}", attack_report::render(&results)),
            )
        }
        Command::Folder {
            clients,
            fps,
            seconds,
            width,
            height,
            max_client_fps,
            run,
        } => {
            let frames = fanout::FrameSpec {
                width,
                height,
                bytes: None,
            };
            let extra = format!("max_client_fps = {max_client_fps}\n");
            let opts = run.options(fps, seconds, frames, frames, &extra)?;
            let scenario = fanout::Scenario::parse(&clients.to_string())?;
            let suite = fanout::run(&opts, &[scenario])?;
            ("folder", folder::render(&suite))
        }
    };
    let text =
        format!("Command: `streamserver-bench {command}` (release build)\n\n{machine}\n{body}");
    println!("{text}");
    if let Some(path) = cli.write_md {
        markdown::replace_section(&path, section, &text)?;
        eprintln!("wrote the {section} section of {}", path.display());
    }
    Ok(())
}
