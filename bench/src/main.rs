//! `streamserver-bench`: the benchmarks behind `BENCHMARKS.md`, as a command so anyone can rerun
//! them (`cargo build --release --workspace`, then `target/release/streamserver-bench encode`,
//! `… fanout`, `… workers` or `… folder`). This file parses the command line and prints; each
//! benchmark is a module:
//!
//! - [`picture`]: the deterministic natural-ish test picture in every pixel format (+ PPM).
//! - [`timing`]: interleaved timing of several cases and their mean/p50/p99.
//! - [`encode`]: our encoder next to libjpeg-turbo called directly.
//! - [`tjbench`]: the system `tjbench` (libjpeg-turbo-progs) as an outside reference.
//! - [`fanout`]: the real server binary under the `streamserver probe` load client, with the
//!   server's CPU time and RSS read from `/proc`.
//! - [`fanout_report`]: the fan-out table and the verdicts on the targets.
//! - [`proc`]: `/proc/PID` sampling and the fd limit.
//! - [`workers`]: throughput per pixel format and worker count through the encode pool.
//! - [`transform`]: overlay and quarter-turn costs next to the encode.
//! - [`hop`]: the camera helper's frame hop (shared memory, and inline through its pipe), next
//!   to the encode.
//! - [`folder`]: the folder source's file-close → client-receive latency.
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
mod folder;
mod hop;
mod markdown;
mod picture;
mod proc;
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
    /// The camera helper's hop (through shared memory, and inline through the pipe) next to the
    /// encode, and the real synthetic helper's CPU per frame (640×480, 1280×720, 1920×1080 at
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
    /// Fan-out: the release server under the probe load client; server CPU, RSS, latency.
    /// Without --clients, runs the suite of scenarios.
    Fanout {
        /// The server binary (default: `streamserver` next to this binary).
        #[arg(long)]
        server: Option<PathBuf>,
        /// One scenario: this many fast readers (else: the suite).
        #[arg(long)]
        clients: Option<usize>,
        /// Extra clients reading --slow-fps frames per second.
        #[arg(long, default_value_t = 0)]
        slow: usize,
        #[arg(long, default_value_t = 1.0)]
        slow_fps: f64,
        /// Extra connections that never read.
        #[arg(long, default_value_t = 0)]
        stalled: usize,
        /// Seconds of load per scenario.
        #[arg(long, default_value_t = 10.0)]
        duration: f64,
        /// Seconds of the suite's long (memory flatness) run.
        #[arg(long, default_value_t = 120.0)]
        long: f64,
        /// Seconds of idle baseline before each load.
        #[arg(long, default_value_t = 3.0)]
        idle: f64,
        #[arg(long, default_value_t = 640)]
        width: u32,
        #[arg(long, default_value_t = 480)]
        height: u32,
        #[arg(long, default_value_t = 30)]
        fps: u32,
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
    /// Folder source: file close → client receive latency; a feeder renames JPEGs into place.
    Folder {
        #[arg(long, default_value_t = 10)]
        clients: usize,
        #[arg(long, default_value_t = 30)]
        fps: u32,
        #[arg(long, default_value_t = 10)]
        seconds: u32,
        #[arg(long, default_value_t = 1280)]
        width: usize,
        #[arg(long, default_value_t = 720)]
        height: usize,
        /// Where the frame folder is made (a tmpfs like /dev/shm, or the disk under test).
        #[arg(long, default_value = "/tmp")]
        dir: PathBuf,
        /// The server's max_client_fps (0 = unpaced clients; the shipped default is 30).
        #[arg(long, default_value_t = 0)]
        max_client_fps: u32,
    },
}

fn parse_drill(name: &str) -> anyhow::Result<attack::Drill> {
    Ok(match name {
        "slowloris" => attack::Drill::Slowloris,
        "flood" => attack::Drill::Flood,
        "malformed" => attack::Drill::Malformed,
        "passwords" => attack::Drill::Passwords,
        "refused" => attack::Drill::UntilRefused,
        other => anyhow::bail!(
            "unknown drill {other:?}: slowloris, flood, malformed, passwords, refused"
        ),
    })
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
            server,
            clients,
            slow,
            slow_fps,
            stalled,
            duration,
            long,
            idle,
            width,
            height,
            fps,
        } => {
            let server = match server {
                Some(s) => s,
                None => std::env::current_exe()?.with_file_name("streamserver"),
            };
            let limit = proc::raise_fd_limit()?;
            eprintln!("fd limit {limit}");
            let secs = |s: f64| Duration::try_from_secs_f64(s).context("durations");
            let opts = fanout::FanoutOptions {
                server,
                width,
                height,
                fps,
                idle: secs(idle)?,
            };
            let scenarios = match clients {
                Some(n) => vec![fanout::Scenario {
                    slow,
                    slow_fps,
                    stalled,
                    ..fanout::Scenario::new(
                        format!("{n} clients, {slow} slow, {stalled} stalled"),
                        n,
                        secs(duration)?,
                    )
                }],
                None => fanout::Scenario::suite(secs(duration)?, secs(long)?),
            };
            let mut results = Vec::new();
            for sc in &scenarios {
                let r = fanout::run(&opts, sc).with_context(|| format!("scenario {}", sc.name))?;
                eprintln!("{}", fanout_report::render(std::slice::from_ref(&r)));
                results.push(r);
            }
            ("fanout", fanout_report::render(&results))
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
                    .map(|n| parse_drill(n))
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
            dir,
            max_client_fps,
        } => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            let report = runtime.block_on(folder::run(folder::FolderBenchOptions {
                clients,
                fps,
                seconds,
                width,
                height,
                dir,
                max_client_fps,
            }))?;
            ("folder", format!("{report}\n"))
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
