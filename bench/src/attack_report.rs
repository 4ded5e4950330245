//! The attack drills' table and the verdicts on the targets: the healthy viewer keeps
//! ≥ 29 fps and its p99 frame age within 2× of before, the new viewer's first frame within 1 s,
//! no crash, RSS back within 1 MiB of the drill's start, no descriptor left over.

use std::fmt::Write as _;
use std::time::Duration;

use crate::attack::DrillResult;

pub const MIN_FPS: f64 = 29.0;
pub const MAX_FIRST_FRAME: Duration = Duration::from_secs(1);
pub const MAX_P99_RATIO: f64 = 2.0;
pub const MAX_RSS_GROWTH: u64 = 1 << 20;

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1 << 20) as f64)
}

/// What the server answered, most frequent first (`closed` = closed without an answer).
fn answers(r: &DrillResult) -> String {
    let rep = &r.report;
    let mut parts: Vec<(u64, String)> = (rep.statuses.iter())
        .map(|(status, n)| (*n, format!("{n}×{status}")))
        .collect();
    if rep.closed_unanswered > 0 {
        parts.push((
            rep.closed_unanswered,
            format!("{}×closed", rep.closed_unanswered),
        ));
    }
    parts.sort_by_key(|p| std::cmp::Reverse(p.0));
    let mut s: Vec<String> = parts.into_iter().map(|p| p.1).collect();
    if let Some(n) = rep.accepted_before_refusal {
        s.insert(0, format!("{n} streams before the refusal"));
    }
    s.insert(0, format!("{} connections", rep.connections));
    if rep.connect_errors > 0 {
        s.push(format!("{} connect errors", rep.connect_errors));
    }
    s.join(", ")
}

/// The table, one row per drill, and the verdicts.
pub fn render(results: &[DrillResult]) -> String {
    let mut out = String::new();
    out.push_str(
        "| drill | healthy fps before → during | healthy p99 age ms before → during | new viewer's first frame | server RSS MiB start / peak / after | server fds start / peak / after | what the attacker got |\n\
         | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for r in results {
        let viewer = match &r.new_viewer {
            Ok(d) => format!(
                "{} ms (at {} ms of {} ms)",
                d.as_millis(),
                r.viewer_at_ms,
                r.drill_ms
            ),
            Err(e) => format!("none: {e}"),
        };
        let _ = writeln!(
            out,
            "| {}: {} | {:.1} → {:.1} ({} frames in {:.1} s) | {:.1} → {:.1} | {viewer} | {} / {} / {} | {} / {} / {} | {} |",
            r.drill.name(),
            r.what,
            r.before.fps,
            r.during.fps,
            r.during.frames,
            r.during.secs,
            r.before.p99_ms,
            r.during.p99_ms,
            mib(r.rss[0]),
            mib(r.rss[1]),
            mib(r.rss[2]),
            r.fds[0],
            r.fds[1],
            r.fds[2],
            answers(r),
        );
    }
    out.push('\n');
    for line in verdicts(results) {
        let _ = writeln!(out, "- {line}");
    }
    out
}

/// One line per target: met or not, with the drills that missed it.
pub fn verdicts(results: &[DrillResult]) -> Vec<String> {
    let missed = |ok: &dyn Fn(&DrillResult) -> bool| -> Vec<&'static str> {
        results
            .iter()
            .filter(|r| !ok(r))
            .map(|r| r.drill.name())
            .collect()
    };
    let line = |target: &str, misses: Vec<&'static str>| {
        if misses.is_empty() {
            format!("met: {target}")
        } else {
            format!("NOT met: {target} (missed in: {})", misses.join(", "))
        }
    };
    vec![
        line(
            &format!("healthy viewer ≥ {MIN_FPS} fps during every drill"),
            missed(&|r| r.during.fps >= MIN_FPS),
        ),
        line(
            &format!("healthy viewer's p99 frame age within {MAX_P99_RATIO}× of before"),
            missed(&|r| r.during.p99_ms <= MAX_P99_RATIO * r.before.p99_ms),
        ),
        line(
            &format!(
                "new viewer's first frame within {} ms",
                MAX_FIRST_FRAME.as_millis()
            ),
            missed(&|r| r.new_viewer.as_ref().is_ok_and(|d| *d <= MAX_FIRST_FRAME)),
        ),
        line(
            "no crash (server and healthy viewer still there)",
            missed(&|r| r.survived),
        ),
        line(
            "server RSS back within 1 MiB of the drill's start",
            missed(&|r| r.rss[2] <= r.rss[0] + MAX_RSS_GROWTH),
        ),
        line("no descriptor left over", missed(&|r| r.fds[2] <= r.fds[0])),
    ]
}

#[cfg(test)]
mod tests;
