//! The system `tjbench` (Debian's libjpeg-turbo-progs) as an outside reference: it compresses a
//! PPM of the same picture with its own loop. It links the system libjpeg-turbo (2.1.x on
//! Debian 12), not the 3.x built into the `turbojpeg` crate, so it is a sanity check of the
//! order of magnitude, not the ratio target.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum TjbenchError {
    #[error("cannot run tjbench (install libjpeg-turbo-progs)")]
    Spawn(#[source] std::io::Error),
    #[error("tjbench failed ({status}): {stderr}")]
    Failed { status: String, stderr: String },
    #[error("no result line in tjbench's output: {0:?}")]
    Parse(String),
}

/// Compression time per frame reported by `tjbench`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TjbenchResult {
    /// From RGB pixels (`-rgb`): colour conversion + compression.
    pub from_rgb: Duration,
    /// From planar YUV (`-yuv`, its "Comp Perf"): compression only.
    pub from_yuv: Duration,
}

/// Runs `tjbench PPM QUALITY -rgb -subsamp 420 -componly -nowrite -quiet` (and again with
/// `-yuv`) for `bench_secs` each.
pub fn run(
    ppm: &Path,
    quality: u8,
    pixels: usize,
    bench_secs: f64,
) -> Result<TjbenchResult, TjbenchError> {
    let run = |yuv: bool| -> Result<Duration, TjbenchError> {
        let mut cmd = Command::new("tjbench");
        cmd.arg(ppm).arg(quality.to_string());
        cmd.args(["-rgb", "-subsamp", "420", "-componly", "-nowrite", "-quiet"]);
        cmd.args(["-benchtime", &bench_secs.to_string(), "-warmup", "0.5"]);
        if yuv {
            cmd.arg("-yuv");
        }
        let out = cmd.output().map_err(TjbenchError::Spawn)?;
        if !out.status.success() {
            return Err(TjbenchError::Failed {
                status: out.status.to_string(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        let text = String::from_utf8_lossy(&out.stdout);
        let mpix = parse_comp_perf(&text, yuv).ok_or_else(|| TjbenchError::Parse(text.into()))?;
        Ok(Duration::from_secs_f64(pixels as f64 / (mpix * 1e6)))
    };
    Ok(TjbenchResult {
        from_rgb: run(false)?,
        from_yuv: run(true)?,
    })
}

/// The "Comp Perf" column (Mpixels/s) of the `-quiet` result line, e.g.
/// `RGB  (TD)  4:2:0    80    640    480     207.6   3.426   N/A` (with `-yuv` an "Encode Perf"
/// column comes first).
pub fn parse_comp_perf(output: &str, yuv: bool) -> Option<f64> {
    let line = output
        .lines()
        .find(|l| l.starts_with("RGB ") && l.contains("(TD)"))?;
    let fields: Vec<&str> = line.split_whitespace().collect();
    let perf: f64 = fields.get(if yuv { 7 } else { 6 })?.parse().ok()?;
    (perf > 0.0).then_some(perf)
}

#[cfg(test)]
mod tests;
