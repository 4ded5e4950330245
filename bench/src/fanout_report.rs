//! The fan-out figures as a Markdown table, and the verdicts on issue 3's targets: p99 ≤ 5 ms at
//! 100 clients; RSS ≤ 30 MB at 500 clients with 100 never reading; memory flat over the long
//! run; ≤ 18 µs of server CPU per delivered frame at 200 clients; slow readers' frames ≤ 2 s old
//! at p99 with the fast clients' figures unmoved.

use std::fmt::Write as _;

use crate::fanout::FanoutResult;
use streamserver::probe::Latency;

const MIB: f64 = 1024.0 * 1024.0;
const P99_TARGET_MS: f64 = 5.0;
const RSS_TARGET_MB: f64 = 30.0;
const CPU_TARGET_US: f64 = 18.0;
const SLOW_P99_TARGET_MS: f64 = 2000.0;
/// "Flat": the last RSS sample at most this much above the one a quarter into the run.
const FLAT_TOLERANCE: f64 = 0.05;

fn lat(l: &Latency) -> String {
    let f = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.1}"));
    format!("{} / {} / {}", f(l.p50), f(l.p99), f(l.max))
}

/// The table of all results.
pub fn render(results: &[FanoutResult]) -> String {
    let mut md = String::from(
        "| scenario | fast / slow / stalled | s | frames delivered | fps per fast client | server CPU µs/frame (all / above idle) | idle CPU % | RSS MiB first / last / max | latency ms p50 / p99 / max (fast) | slow clients latency ms p50 / p99 / max | errors |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in results {
        let sc = &r.scenario;
        let slow = r.slow.as_ref().map_or("–".into(), |s| lat(&s.latency_ms));
        let errors = r.fast.errors + r.slow.as_ref().map_or(0, |s| s.errors);
        let _ = writeln!(
            md,
            "| {} | {} / {} / {} | {:.0} | {} | {:.1} | {:.1} / {:.1} | {:.1} | {:.1} / {:.1} / {:.1} | {} | {} | {} |",
            sc.name,
            sc.clients,
            sc.slow,
            sc.stalled,
            r.elapsed.as_secs_f64(),
            r.frames(),
            r.fast.fps_per_client_avg,
            r.cpu_us_per_frame(),
            r.cpu_us_per_frame_above_idle(),
            r.idle_cpu_per_s.as_secs_f64() * 100.0,
            r.rss.first as f64 / MIB,
            r.rss.last as f64 / MIB,
            r.rss.max as f64 / MIB,
            lat(&r.fast.latency_ms),
            slow,
            errors,
        );
    }
    md.push('\n');
    md.push_str(&verdicts(results));
    md
}

fn find(results: &[FanoutResult], pred: impl Fn(&FanoutResult) -> bool) -> Option<&FanoutResult> {
    results.iter().find(|r| pred(r))
}

fn yes(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

/// One line per target that the results cover.
pub fn verdicts(results: &[FanoutResult]) -> String {
    let mut out = String::from("Targets:\n");
    let plain = |n: usize| {
        move |r: &FanoutResult| {
            r.scenario.clients == n && r.scenario.slow == 0 && r.scenario.stalled == 0
        }
    };
    if let Some(r) = find(results, plain(100)) {
        let p99 = r.fast.latency_ms.p99.unwrap_or(f64::INFINITY);
        let _ = writeln!(
            out,
            "- p99 latency ≤ {P99_TARGET_MS} ms at 100 clients: {p99:.1} ms, {}",
            yes(p99 <= P99_TARGET_MS)
        );
    }
    let stalled = |r: &&FanoutResult| r.scenario.stalled == 100 && r.scenario.clients == 400;
    if let Some(r) = results
        .iter()
        .filter(stalled)
        .min_by_key(|r| r.scenario.duration)
    {
        let mb = r.rss.max as f64 / 1e6;
        let _ = writeln!(
            out,
            "- RSS ≤ {RSS_TARGET_MB} MB at 500 clients, 100 never reading: max {mb:.1} MB, {}",
            yes(mb <= RSS_TARGET_MB)
        );
    }
    if let Some(r) = results
        .iter()
        .filter(stalled)
        .max_by_key(|r| r.scenario.duration)
    {
        let growth = r.rss.last as f64 / r.rss.settled.max(1) as f64 - 1.0;
        let _ = writeln!(
            out,
            "- Memory flat over the {:.0} s run (last sample ≤ {:.0}% above the one a quarter in): {:.1} → {:.1} MiB ({:+.1}%), {}",
            r.elapsed.as_secs_f64(),
            FLAT_TOLERANCE * 100.0,
            r.rss.settled as f64 / MIB,
            r.rss.last as f64 / MIB,
            growth * 100.0,
            yes(growth <= FLAT_TOLERANCE)
        );
    }
    let base200 = find(results, plain(200));
    if let Some(r) = base200 {
        let (all, above) = (r.cpu_us_per_frame(), r.cpu_us_per_frame_above_idle());
        let _ = writeln!(
            out,
            "- Server CPU ≤ {CPU_TARGET_US} µs per delivered frame at 200 clients: {all:.1} µs (all) / {above:.1} µs (above idle), {}",
            yes(all <= CPU_TARGET_US)
        );
    }
    if let Some(r) = find(results, |r| r.scenario.slow > 0) {
        if let Some(slow) = &r.slow {
            let p99 = slow.latency_ms.p99.unwrap_or(f64::INFINITY);
            let _ = writeln!(
                out,
                "- Slow readers ({} at {} fps) get frames ≤ 2 s old at p99: {p99:.0} ms, {}",
                r.scenario.slow,
                r.scenario.slow_fps,
                yes(p99 <= SLOW_P99_TARGET_MS)
            );
        }
        if let Some(b) = base200 {
            let _ = writeln!(
                out,
                "- Fast clients unmoved by the slow ones: latency p50 / p99 / max {} ms and {:.1} fps per client with them, {} ms and {:.1} fps with 200 fast clients only",
                lat(&r.fast.latency_ms),
                r.fast.fps_per_client_avg,
                lat(&b.fast.latency_ms),
                b.fast.fps_per_client_avg
            );
        }
    }
    out
}
