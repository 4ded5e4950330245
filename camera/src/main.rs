//! `streamserver-camera`: the camera helper of streamserver, the only binary that links
//! libcamera. The server starts one per camera stream (`run`) and reads its JPEG frames over a
//! pipe; a hung camera is fixed by killing this process, and a libcamera that cannot be loaded
//! is an error on one stream, not a dead server.
//!
//! Commands: `run` (the default; speaks the protocol of `streamserver::source::camera::protocol`
//! on stdin/stdout), `list` (the cameras, as `streamserver list-cameras` shows them), `version`.
//!
//! Modules in data-flow order:
//! - [`run`]: the protocol conversation, the control loop and the threads around the capture.
//! - [`context`], [`requests`]: what a capture run gets, and the server's requests it serves
//!   between frames.
//! - [`synthetic`]: the synthetic camera (the library's test pattern), no libcamera needed.
//! - `device` (libcamera builds): the libcamera camera — setup, capture loop, `list`.
//! - [`controls`], [`mapping`], [`timing`], [`format`]: what the libcamera camera needs that is
//!   pure code (tested in every build): controls, mapped buffers, timestamps, format names.
//! - [`still`]: stills: the ids waiting, and the thread that encodes a still and answers them.
//! - [`output`]: the protocol writer the encode pool publishes into; [`report`]: what a capture
//!   run tells the control thread.
//! - [`process`]: the parent-death signal and the protocol's stdout.
//! - [`version`], [`error`].

mod context;
mod controls;
#[cfg(has_libcamera)]
mod device;
mod error;
mod format;
#[cfg_attr(not(has_libcamera), allow(dead_code))]
mod mapping;
mod output;
mod process;
mod report;
mod requests;
mod run;
mod still;
mod synthetic;
#[cfg_attr(not(has_libcamera), allow(dead_code))]
mod timing;
mod version;

use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use tracing_subscriber::EnvFilter;

/// The camera helper of streamserver (started by the server; see `run --help`).
#[derive(Debug, Parser)]
#[command(
    name = "streamserver-camera",
    version,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Speak the camera protocol on stdin/stdout (what the server starts; the default).
    Run(RunArgs),
    /// List the cameras with their formats and sizes.
    List,
    /// Print this helper's version, its protocol version and libcamera's versions (built
    /// against, loaded).
    Version,
}

#[derive(Debug, Clone, Args)]
struct RunArgs {
    /// The server's pid: exit at once when the parent is another process (the server died
    /// before this helper could ask to die with it).
    #[arg(long, env = "STREAMSERVER_CAMERA_PARENT_PID", value_name = "PID")]
    parent_pid: Option<u32>,
    /// Stream the library's moving test pattern instead of a camera (no libcamera needed).
    #[arg(long, env = "STREAMSERVER_CAMERA_SYNTHETIC")]
    synthetic: bool,
    /// With --synthetic, inject a fault: fail-start, hang-after=N, crash-after=N (frames),
    /// ignore-stills (Still requests are never answered).
    #[arg(
        long,
        env = "STREAMSERVER_CAMERA_FAULT",
        value_name = "FAULT",
        requires = "synthetic"
    )]
    fault: Option<synthetic::Fault>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Log lines go to stderr, which the server logs under the stream's id with its own time.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .with_target(false)
        .with_env_filter(
            EnvFilter::try_from_env("STREAMSERVER_CAMERA_LOG")
                .unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    match cli.command.unwrap_or(Cmd::Run(cli.run)) {
        Cmd::Run(args) => run(args),
        Cmd::List => list(),
        Cmd::Version => {
            print!("{}", version::text());
            ExitCode::SUCCESS
        }
    }
}

fn run(args: RunArgs) -> ExitCode {
    let options = run::Options {
        parent_pid: args.parent_pid,
        synthetic: args.synthetic,
        fault: args.fault,
    };
    match run::run(&options) {
        Ok(outcome) if outcome.capture_stuck => {
            // A thread is stuck inside libcamera: exit without running destructors that could
            // wait for it; the kernel frees the camera.
            // SAFETY: _exit ends the process at once; nothing after it runs.
            unsafe { libc::_exit(i32::from(outcome.code)) }
        }
        Ok(outcome) => ExitCode::from(outcome.code),
        Err(err) => {
            eprintln!("streamserver-camera: {err}");
            ExitCode::from(2)
        }
    }
}

fn list() -> ExitCode {
    #[cfg(has_libcamera)]
    match device::list::text() {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("streamserver-camera: {err}");
            ExitCode::FAILURE
        }
    }
    #[cfg(not(has_libcamera))]
    {
        eprintln!("streamserver-camera: {}", error::NO_LIBCAMERA);
        ExitCode::FAILURE
    }
}
