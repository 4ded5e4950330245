//! Unit tests of the attack verdicts.

use std::time::Duration;

use super::*;
use crate::attack::Drill;
use crate::attack_watch::Window;

fn result(
    fps: f64,
    p99: (f64, f64),
    first: Option<u64>,
    rss: [u64; 3],
    fds: [usize; 3],
) -> DrillResult {
    let w = |fps, p99_ms| Window {
        frames: 300,
        fps,
        p99_ms,
        secs: 10.0,
    };
    DrillResult {
        drill: Drill::Slowloris,
        what: "test".into(),
        report: Default::default(),
        before: w(30.0, p99.0),
        during: w(fps, p99.1),
        new_viewer: first
            .map(Duration::from_millis)
            .ok_or_else(|| "refused".to_string()),
        viewer_at_ms: 5000,
        drill_ms: 10000,
        rss,
        fds,
        survived: true,
    }
}

#[test]
fn each_target_is_judged_on_its_own() {
    let mib = 1 << 20;
    let good = result(
        30.0,
        (4.0, 7.9),
        Some(20),
        [18 * mib, 21 * mib, 18 * mib + mib / 2],
        [14, 80, 14],
    );
    assert!(verdicts(&[good]).iter().all(|v| v.starts_with("met")));
    let bad = result(
        28.5,
        (4.0, 8.1),
        None,
        [18 * mib, 21 * mib, 20 * mib],
        [14, 80, 15],
    );
    let v = verdicts(&[bad]);
    assert_eq!(
        v.iter().filter(|v| v.starts_with("NOT met")).count(),
        5,
        "{v:?}"
    );
    assert!(v[4].contains("missed in: slowloris"), "{v:?}");
    assert!(render(&[result(30.0, (1.0, 1.0), Some(1), [0; 3], [0; 3])])
        .contains("| slowloris: test |"));
}
