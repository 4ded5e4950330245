//! `folder-bench`: file close → client receive latency of the folder source (see
//! `streamserver::source::folder_bench`). Run it in release mode:
//! `cargo run --release --bin folder-bench -- --clients 10 --fps 30 --seconds 10`.

use clap::Parser;
use streamserver::source::folder_bench::{self, FolderBenchOptions};

#[derive(Parser)]
#[command(about = "Folder source latency: a feeder renames JPEGs into place, N clients watch")]
struct Args {
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
    dir: std::path::PathBuf,
    /// The server's max_client_fps (0 = unpaced clients; the shipped default is 30).
    #[arg(long, default_value_t = 0)]
    max_client_fps: u32,
    /// Fail (exit 1) when p99 is above this many milliseconds.
    #[arg(long)]
    max_p99_ms: Option<f64>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let report = runtime.block_on(folder_bench::run(FolderBenchOptions {
        clients: args.clients,
        fps: args.fps,
        seconds: args.seconds,
        width: args.width,
        height: args.height,
        dir: args.dir,
        max_client_fps: args.max_client_fps,
    }))?;
    println!("{report}");
    if let Some(max) = args.max_p99_ms {
        anyhow::ensure!(
            report.p99_ms <= max,
            "p99 {:.2} ms is above {max} ms",
            report.p99_ms
        );
    }
    Ok(())
}
