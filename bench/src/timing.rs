//! Interleaved timing: several cases take turns in short slices until each has run long enough,
//! so on a noisy shared machine a burst of load hits all of them alike. Every call is timed on
//! its own and summarised as mean, p50 and p99.

use std::time::{Duration, Instant};

/// Length of one turn of a case.
const SLICE: Duration = Duration::from_millis(50);
/// Untimed warm-up of each case before the first timed turn.
const WARMUP: Duration = Duration::from_millis(200);
/// Upper bound on timed calls per case (bounds memory for very fast cases).
const MAX_SAMPLES: usize = 1_000_000;

/// Per-call times of one case.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    pub samples: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p99: Duration,
}

impl Summary {
    /// Summarises per-call times (empty input gives zeros).
    pub fn of(mut times: Vec<Duration>) -> Self {
        times.sort_unstable();
        let n = times.len();
        if n == 0 {
            return Self {
                samples: 0,
                mean: Duration::ZERO,
                p50: Duration::ZERO,
                p99: Duration::ZERO,
            };
        }
        let total: Duration = times.iter().sum();
        let at = |q: f64| times[((n as f64 * q) as usize).min(n - 1)];
        Self {
            samples: n,
            mean: total / n as u32,
            p50: at(0.50),
            p99: at(0.99),
        }
    }
}

/// A named piece of work timed call by call.
pub struct Case<'a> {
    pub name: String,
    pub run: Box<dyn FnMut() + 'a>,
}

/// Runs the cases in turns of [`SLICE`] until each has been timed for at least `per_case`;
/// returns their summaries in order.
pub fn interleaved(cases: &mut [Case], per_case: Duration) -> Vec<Summary> {
    for case in cases.iter_mut() {
        let start = Instant::now();
        while start.elapsed() < WARMUP {
            (case.run)();
        }
    }
    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); cases.len()];
    let mut spent = vec![Duration::ZERO; cases.len()];
    while spent.iter().any(|s| *s < per_case) {
        for (i, case) in cases.iter_mut().enumerate() {
            if spent[i] >= per_case || times[i].len() >= MAX_SAMPLES {
                spent[i] = spent[i].max(per_case);
                continue;
            }
            let slice = Instant::now();
            while slice.elapsed() < SLICE {
                let t = Instant::now();
                (case.run)();
                let dt = t.elapsed();
                times[i].push(dt);
                spent[i] += dt;
            }
        }
    }
    times.into_iter().map(Summary::of).collect()
}

/// Milliseconds with three decimals, for tables.
pub fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

#[cfg(test)]
mod tests;
