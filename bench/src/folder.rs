//! `streamserver-bench folder`: the folder source's latency from a producer's rename to the
//! clients' receipt, next to the floor server on the same frames (the issue 4 target: p99
//! ≤ 15 ms with 10 clients while a producer writes 30 fps of 1280×720 files).
//!
//! The runs are fan-out runs ([`super::fanout`]): a feeder renames camera-sized JPEGs into the
//! watched folder, the server is a child process, `streamserver probe` clients read the stream.
//! Every file carries its number and rename time, so each receipt is timed exactly and files a
//! client never got count as missed.

use std::fmt::Write as _;

use crate::fanout::{RunResult, Suite};

fn lat(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.2}"))
}

/// Receipts, files missed, latency and CPU per server and turn, and the p99 verdict.
pub fn render(suite: &Suite) -> String {
    let mut md = String::from(
        "| server | turn | files written | receipts | missed (per client avg) | rename → receipt ms p50 / p99 / max | CPU µs / delivered frame | ratio to the floor |\n\
         |---|---|---|---|---|---|---|---|\n",
    );
    let floor = |r: &RunResult| {
        suite
            .runs
            .iter()
            .find(|f| f.target.floor && f.repeat == r.repeat && f.scenario == r.scenario)
    };
    for r in &suite.runs {
        let ratio = match (r.target.floor, floor(r)) {
            (false, Some(f)) => format!("{:.2}", r.cpu_us_per_frame() / f.cpu_us_per_frame()),
            _ => "–".into(),
        };
        let l = &r.fast.latency_ms;
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {:.1} | {} / {} / {} | {:.1} | {ratio} |",
            r.target.name,
            r.repeat,
            r.files,
            r.fast.frames,
            r.fast.seq_skipped as f64 / r.fast.clients.max(1) as f64,
            lat(l.p50),
            lat(l.p99),
            lat(l.max),
            r.cpu_us_per_frame(),
        );
    }
    let ours: Vec<f64> = suite
        .runs
        .iter()
        .filter(|r| !r.target.floor)
        .filter_map(|r| r.fast.latency_ms.p99)
        .collect();
    if !ours.is_empty() {
        let worst = ours.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            md,
            "\nTarget p99 ≤ 15 ms (rename → receipt, ours): worst {worst:.2} ms, {}",
            if worst <= 15.0 {
                "**met**"
            } else {
                "**not met**"
            }
        );
    }
    md
}

#[cfg(test)]
mod tests;
