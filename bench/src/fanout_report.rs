//! The fan-out figures as Markdown: every run, the ratio table (ours against the floor run of
//! the same turn), and the verdicts on issue 13's targets: CPU per delivered frame ≤ 1.2× the
//! floor's at 1, 50 and 200 clients and ≤ 1.3× with 50 slow; p99 latency ≤ the floor's + 1 ms;
//! slow clients' frames ≤ 2 s old at p99 with the fast clients unmoved; on the shaped link p99
//! ≤ 350 ms, each viewer within 20 % of the other's fps and CPU ≤ 1.5× the floor's; RSS ≤ 8 MiB
//! at one client and ≤ 30 MB at 500 clients with 100 never reading.

use std::fmt::Write as _;

use crate::fanout::{RunResult, Suite};
use streamserver::probe::Latency;

const MIB: f64 = 1024.0 * 1024.0;

fn ms(l: &Latency) -> String {
    let f = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.1}"));
    format!("{} / {}", f(l.p50), f(l.p99))
}

/// Lowest and highest fps of one probe's clients.
fn fps_range(r: &RunResult) -> (f64, f64) {
    let fps = r.fast.per_client.iter().map(|c| c.fps);
    let lo = fps.clone().fold(f64::INFINITY, f64::min);
    (
        if lo.is_finite() { lo } else { 0.0 },
        fps.fold(0.0, f64::max),
    )
}

/// One run as a table row (header in [`render`]).
pub fn row(r: &RunResult) -> String {
    let (lo, hi) = fps_range(r);
    format!(
        "| {} | {} | {} | {} / {} | {:.1} ({lo:.1}–{hi:.1}) | {:.1} | {:.2} | {:.1} | {} | {} | {} | {} |",
        r.scenario.name,
        r.target.name,
        r.repeat,
        r.frames(),
        r.files,
        r.fast.fps_per_client_avg,
        r.cpu_us_per_frame(),
        r.switches_per_frame(),
        r.rss.max as f64 / MIB,
        ms(&r.fast.latency_ms),
        r.slow.as_ref().map_or("–".into(), |s| ms(&s.latency_ms)),
        r.fast.errors + r.slow.as_ref().map_or(0, |s| s.errors),
        r.threads,
    )
}

fn median(v: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    v.sort_by(f64::total_cmp);
    (!v.is_empty()).then(|| (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2.0)
}

/// `lo–hi` (one value if they agree), `–` without values.
fn range(v: &[f64], digits: usize) -> String {
    let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let Some(lo) = v.iter().copied().reduce(f64::min) else {
        return "–".into();
    };
    let hi = v.iter().copied().fold(lo, f64::max);
    if format!("{lo:.digits$}") == format!("{hi:.digits$}") {
        format!("{lo:.digits$}")
    } else {
        format!("{lo:.digits$}–{hi:.digits$}")
    }
}

/// The runs of one scenario (by name) for the floor or for a variant of ours.
fn runs<'a>(suite: &'a Suite, scenario: &str, target: &str) -> Vec<&'a RunResult> {
    suite
        .runs
        .iter()
        .filter(|r| r.scenario.name == scenario && r.target.name == target)
        .collect()
}

/// Per turn: `f(ours run, floor run)`.
fn paired(
    ours: &[&RunResult],
    floor: &[&RunResult],
    f: impl Fn(&RunResult, &RunResult) -> Option<f64>,
) -> Vec<f64> {
    ours.iter()
        .filter_map(|o| {
            let fl = floor.iter().find(|f| f.repeat == o.repeat)?;
            f(o, fl)
        })
        .collect()
}

fn cpu_ratio(o: &RunResult, f: &RunResult) -> Option<f64> {
    Some(o.cpu_us_per_frame() / f.cpu_us_per_frame())
}

fn scenarios(suite: &Suite) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in &suite.runs {
        if !names.contains(&r.scenario.name) {
            names.push(r.scenario.name.clone());
        }
    }
    names
}

fn variants(suite: &Suite) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for r in suite.runs.iter().filter(|r| !r.target.floor) {
        if !names.contains(&r.target.name) {
            names.push(r.target.name.clone());
        }
    }
    names
}

/// Everything: the ratio table, the verdicts, then every run.
pub fn render(suite: &Suite) -> String {
    let mut md = String::from(
        "| scenario | server | CPU µs / delivered frame | floor | ratio to the floor (per turn) | latency ms p50 / p99 | floor | slow clients' frame age p99 ms | floor | fps per client (min–max) | floor | RSS MiB (max) | floor |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for sc in scenarios(suite) {
        let floor = runs(suite, &sc, "floor");
        for v in variants(suite) {
            let ours = runs(suite, &sc, &v);
            if ours.is_empty() {
                continue;
            }
            let cpu =
                |rs: &[&RunResult]| rs.iter().map(|r| r.cpu_us_per_frame()).collect::<Vec<_>>();
            let lat = |rs: &[&RunResult]| {
                let p = |f: fn(&Latency) -> Option<f64>| {
                    range(
                        &rs.iter()
                            .filter_map(|r| f(&r.fast.latency_ms))
                            .collect::<Vec<_>>(),
                        1,
                    )
                };
                format!("{} / {}", p(|l| l.p50), p(|l| l.p99))
            };
            let slow = |rs: &[&RunResult]| {
                range(
                    &rs.iter()
                        .filter_map(|r| r.slow.as_ref()?.latency_ms.p99)
                        .collect::<Vec<_>>(),
                    0,
                )
            };
            let fps = |rs: &[&RunResult]| {
                let (lo, hi): (Vec<f64>, Vec<f64>) = rs.iter().map(|r| fps_range(r)).unzip();
                format!("{}–{}", range(&lo, 1), range(&hi, 1))
            };
            let rss = |rs: &[&RunResult]| {
                range(
                    &rs.iter()
                        .map(|r| r.rss.max as f64 / MIB)
                        .collect::<Vec<_>>(),
                    1,
                )
            };
            let ratios = paired(&ours, &floor, cpu_ratio);
            let ratio = match median(&ratios) {
                Some(m) => format!("{} (median {m:.2})", range(&ratios, 2)),
                None => "–".into(),
            };
            let _ = writeln!(
                md,
                "| {sc} | {v} | {} | {} | {ratio} | {} | {} | {} | {} | {} | {} | {} | {} |",
                range(&cpu(&ours), 1),
                range(&cpu(&floor), 1),
                lat(&ours),
                lat(&floor),
                slow(&ours),
                slow(&floor),
                fps(&ours),
                fps(&floor),
                rss(&ours),
                rss(&floor),
            );
        }
    }
    for (sc, why) in &suite.skipped {
        let _ = writeln!(md, "| {} | SKIPPED: {why} |||||||||||", sc.name);
    }
    if suite.runs.iter().any(|r| r.scenario.shaped) {
        let _ = writeln!(md, "\nShaped link: a network namespace, {}.", suite.shaping);
    }
    md.push('\n');
    md.push_str(&verdicts(suite));
    md.push_str("\nEvery run (CPU from `/proc/PID/task/*/schedstat`, from the probes' start to their end):\n\n");
    md.push_str(
        "| scenario | server | turn | frames delivered / files written | fps per fast client avg (min–max) | CPU µs/frame | context switches/frame | RSS MiB max | fast latency ms p50 / p99 | slow frame age ms p50 / p99 | errors | threads |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in &suite.runs {
        md.push_str(&row(r));
        md.push('\n');
    }
    md
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

/// One line per target the runs cover, for the first variant of ours (`streamserver`).
pub fn verdicts(suite: &Suite) -> String {
    let mut out = String::from("Targets (medians over the turns; ranges in brackets):\n");
    let Some(ours_name) = variants(suite).into_iter().next() else {
        return out;
    };
    let find = |pred: &dyn Fn(&RunResult) -> bool| -> Option<String> {
        suite
            .runs
            .iter()
            .find(|r| pred(r))
            .map(|r| r.scenario.name.clone())
    };
    let plain = |n: usize| {
        move |r: &RunResult| {
            r.scenario.fast == n
                && r.scenario.slow == 0
                && r.scenario.stalled == 0
                && !r.scenario.shaped
        }
    };
    let mut cpu_line = |sc: &str, limit: f64| {
        let ours = runs(suite, sc, &ours_name);
        let floor = runs(suite, sc, "floor");
        let ratios = paired(&ours, &floor, cpu_ratio);
        if let Some(m) = median(&ratios) {
            let _ = writeln!(
                out,
                "- CPU per delivered frame ≤ {limit}× the floor's, {sc}: {m:.2}× ({}), {}",
                range(&ratios, 2),
                verdict(m <= limit)
            );
        }
        let diffs = paired(&ours, &floor, |o, f| {
            Some(o.fast.latency_ms.p99? - f.fast.latency_ms.p99?)
        });
        if let Some(m) = median(&diffs) {
            let _ = writeln!(
                out,
                "- p99 latency ≤ the floor's + 1 ms, {sc}: {m:+.1} ms ({} ms), {}",
                range(&diffs, 1),
                verdict(m <= 1.0)
            );
        }
    };
    for n in [1, 50, 200] {
        if let Some(sc) = find(&plain(n)) {
            cpu_line(&sc, 1.2);
        }
    }
    let slow_sc = find(&|r| r.scenario.slow > 0);
    if let Some(sc) = &slow_sc {
        cpu_line(sc, 1.3);
    }
    if let Some(sc) = &slow_sc {
        let ours = runs(suite, sc, &ours_name);
        let ages: Vec<f64> = ours
            .iter()
            .filter_map(|r| r.slow.as_ref()?.latency_ms.p99)
            .collect();
        if let Some(m) = median(&ages) {
            let worst = ages.iter().copied().fold(0.0, f64::max);
            let _ = writeln!(
                out,
                "- Slow clients' frame age p99 ≤ 2 s: {m:.0} ms ({} ms), {}",
                range(&ages, 0),
                verdict(worst <= 2000.0)
            );
        }
        if let Some(base) = find(&plain(
            ours.first()
                .map_or(0, |r| r.scenario.fast + r.scenario.slow),
        )) {
            let alone = runs(suite, &base, &ours_name);
            let fig = |rs: &[&RunResult]| {
                let v = |f: &dyn Fn(&RunResult) -> Option<f64>| {
                    median(&rs.iter().filter_map(|r| f(r)).collect::<Vec<_>>())
                };
                (
                    v(&|r| Some(r.fast.fps_per_client_avg)).unwrap_or(0.0),
                    v(&|r| r.fast.latency_ms.p50).unwrap_or(f64::NAN),
                    v(&|r| r.fast.latency_ms.p99).unwrap_or(f64::NAN),
                )
            };
            let (with, without) = (fig(&ours), fig(&alone));
            let _ = writeln!(
                out,
                "- Fast clients unmoved by the slow ones: {:.1} fps, p50 / p99 {:.1} / {:.1} ms beside them; {:.1} fps, {:.1} / {:.1} ms in \"{base}\", {}",
                with.0,
                with.1,
                with.2,
                without.0,
                without.1,
                without.2,
                verdict(with.0 >= 0.98 * without.0 && with.1 <= without.1 + 1.0)
            );
        }
    }
    if let Some(sc) = find(&|r| r.scenario.shaped) {
        let ours = runs(suite, &sc, &ours_name);
        let floor = runs(suite, &sc, "floor");
        let p99: Vec<f64> = ours.iter().filter_map(|r| r.fast.latency_ms.p99).collect();
        let worst = p99.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "- Shaped link p99 ≤ 350 ms: {} ms, {}",
            range(&p99, 0),
            verdict(!p99.is_empty() && worst <= 350.0)
        );
        let fair: Vec<f64> = ours
            .iter()
            .map(|r| {
                let (lo, hi) = fps_range(r);
                if hi > 0.0 {
                    lo / hi
                } else {
                    0.0
                }
            })
            .collect();
        let least = fair.iter().copied().fold(1.0, f64::min);
        let _ = writeln!(
            out,
            "- Shaped link, each viewer within 20 % of the other's fps: slower / faster {}, {}",
            range(&fair, 2),
            verdict(!fair.is_empty() && least >= 0.8)
        );
        let ratios = paired(&ours, &floor, cpu_ratio);
        if let Some(m) = median(&ratios) {
            let _ = writeln!(
                out,
                "- Shaped link CPU per delivered frame ≤ 1.5× the floor's: {m:.2}× ({}), {}",
                range(&ratios, 2),
                verdict(m <= 1.5)
            );
        }
    }
    if let Some(sc) = find(&plain(1)) {
        let rss: Vec<f64> = runs(suite, &sc, &ours_name)
            .iter()
            .map(|r| r.rss.max as f64 / MIB)
            .collect();
        let worst = rss.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "- RSS at one client ≤ 8 MiB: {} MiB, {}",
            range(&rss, 1),
            verdict(worst <= 8.0)
        );
    }
    if let Some(sc) = find(&|r| r.scenario.stalled >= 100 && r.scenario.clients() >= 500) {
        let rss: Vec<f64> = runs(suite, &sc, &ours_name)
            .iter()
            .map(|r| r.rss.max as f64 / 1e6)
            .collect();
        let worst = rss.iter().copied().fold(0.0, f64::max);
        let _ = writeln!(
            out,
            "- RSS at {sc} ≤ 30 MB: {} MB, {}",
            range(&rss, 1),
            verdict(worst <= 30.0)
        );
    }
    out
}

#[cfg(test)]
mod tests;
