//! Unit tests of `fanout_report`: pairing by turn, ratios and verdicts on made-up runs.

use super::*;
use crate::fanout::Scenario;
use crate::proc::{RssSummary, ThreadStat};
use crate::server::Target;
use streamserver::probe::{ClientReport, ProbeReport, SizeRange, StalledReport};

fn latency(p50: f64, p99: f64) -> Latency {
    Latency {
        samples: 100,
        p50: Some(p50),
        p99: Some(p99),
        max: Some(p99),
    }
}

fn probe(frames: u64, fps: &[f64], p50: f64, p99: f64) -> ProbeReport {
    let n = fps.len().max(1) as u64;
    let client = |i: usize, fps: f64| ClientReport {
        client: i,
        frames: frames / n,
        bytes: 0,
        fps,
        first_frame_ms: Some(1.0),
        frame_bytes: SizeRange {
            min: 0,
            avg: 0.0,
            max: 0,
        },
        seq_gap_events: 0,
        seq_skipped: 0,
        seq_repeats: 0,
        seq_backwards: 0,
        reconnects: 0,
        errors: 0,
        last_error: None,
        multipart_resyncs: 0,
        latency_ms: latency(p50, p99),
    };
    ProbeReport {
        url: "http://x/stream.mjpg".into(),
        clients: fps.len(),
        elapsed_s: 10.0,
        frames,
        bytes: 0,
        fps_total: fps.iter().sum(),
        fps_per_client_avg: fps.iter().sum::<f64>() / fps.len() as f64,
        frame_bytes: SizeRange {
            min: 0,
            avg: 0.0,
            max: 0,
        },
        seq_gap_events: 0,
        seq_skipped: 0,
        seq_repeats: 0,
        seq_backwards: 0,
        reconnects: 0,
        errors: 0,
        latency_ms: latency(p50, p99),
        stalled: StalledReport {
            requested: 0,
            connected: 0,
            errors: 0,
        },
        ok: true,
        per_client: fps.iter().enumerate().map(|(i, &f)| client(i, f)).collect(),
    }
}

fn run(
    sc: &str,
    target: Target,
    repeat: usize,
    cpu_us: f64,
    p99: f64,
    fps: &[f64],
    rss_mib: f64,
) -> RunResult {
    let fast = probe(1000, fps, p99 / 2.0, p99);
    RunResult {
        target,
        scenario: Scenario::parse(sc).unwrap(),
        repeat,
        frame_bytes: 35_000,
        cpu: ThreadStat {
            cpu_ns: (cpu_us * 1000.0 * 1000.0) as u64,
            switches: 2000,
        },
        threads: 3,
        files: 300,
        rss: RssSummary {
            samples: 10,
            first: 0,
            settled: 0,
            last: 0,
            max: (rss_mib * MIB) as u64,
        },
        fast,
        slow: None,
    }
}

#[test]
fn ratios_pair_the_runs_of_one_turn_and_verdicts_follow_the_targets() {
    let (ours, floor) = (Target::ours(), Target::floor());
    let suite = Suite {
        runs: vec![
            run("1", ours.clone(), 0, 110.0, 5.0, &[30.0], 7.5),
            run("1", floor.clone(), 0, 100.0, 4.5, &[30.0], 1.6),
            run("1", floor.clone(), 1, 50.0, 4.0, &[30.0], 1.6),
            run("1", ours.clone(), 1, 75.0, 9.0, &[30.0], 7.6),
            run("shaped", ours.clone(), 0, 300.0, 320.0, &[5.0, 4.5], 9.0),
            run("shaped", floor.clone(), 0, 250.0, 900.0, &[9.0, 1.0], 1.6),
        ],
        skipped: vec![],
        shaping: String::new(),
    };
    let md = render(&suite);
    // Turn 0: 1.10×, turn 1: 1.50× (not 0.75× or 2.2×: runs pair by turn).
    assert!(md.contains("| 1.10–1.50 (median 1.30) |"), "{md}");
    assert!(
        md.contains("1 client: 1.30× (1.10–1.50), **not met**"),
        "{md}"
    );
    assert!(
        md.contains("p99 latency ≤ the floor's + 1 ms, 1 client: +2.8 ms"),
        "{md}"
    );
    assert!(
        md.contains("RSS at one client ≤ 8 MiB: 7.5–7.6 MiB, **met**"),
        "{md}"
    );
    assert!(
        md.contains("Shaped link p99 ≤ 350 ms: 320 ms, **met**"),
        "{md}"
    );
    assert!(md.contains("slower / faster 0.90, **met**"), "{md}");
    assert!(
        md.contains("1.5× the floor's: 1.20× (1.20), **met**"),
        "{md}"
    );
    assert_eq!(
        md.matches("| 1 client | streamserver |").count(),
        3,
        "ratio row and two runs"
    );
}
