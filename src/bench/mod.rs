//! `streamserver-bench`: the measurements behind `BENCHMARKS.md` (issue 2's encode benchmark,
//! issue 3's fan-out benchmark). The binary `src/bin/streamserver-bench.rs` only parses the
//! command line; the work is here so it stays testable and each part stays small:
//!
//! - [`picture`]: the deterministic natural-ish test picture in every pixel format (+ PPM).
//! - [`timing`]: interleaved timing of several cases and their mean/p50/p99.
//! - [`encode`]: our [`crate::encoder::Encoder`] next to libjpeg-turbo called directly.
//! - [`tjbench`]: the system `tjbench` (libjpeg-turbo-progs) as an outside reference.
//! - [`fanout`]: the real server binary under the `streamserver probe` load client, with the
//!   server's CPU time and RSS read from `/proc`.
//! - [`fanout_report`]: the fan-out table and the verdicts on the targets.
//! - [`proc`]: `/proc/PID` sampling and the fd limit.
//! - [`workers`]: throughput per pixel format and worker count through the encode pool.
//! - [`markdown`]: the machine description and section replacement in `BENCHMARKS.md`.

pub mod encode;
pub mod fanout;
pub mod fanout_report;
pub mod markdown;
pub mod picture;
pub mod proc;
pub mod timing;
pub mod tjbench;
pub mod workers;
