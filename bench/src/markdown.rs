//! What `BENCHMARKS.md` needs around the figures: the machine and date, and the in-place
//! replacement of one section's generated block (between `<!-- bench:NAME:start -->` and
//! `<!-- bench:NAME:end -->`), so each benchmark rewrites only its own figures.

use std::path::Path;
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum MarkdownError {
    #[error("cannot read or write {path}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} has no '{marker}' line: add the section's start/end markers")]
    NoMarker { path: String, marker: String },
}

/// One line per fact: date, CPU model, cores, kernel, load average at the start.
pub fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map(|(_, m)| m.trim().to_string())
        .unwrap_or_else(|| "unknown".into());
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let date = Command::new("date")
        .args(["-u", "+%Y-%m-%d %H:%M UTC"])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    format!(
        "- Date: {date}\n- Machine: {model}, nproc {nproc}, Linux {}, load average at start {} \
         (shared machine: other builds were running)\n",
        kernel.trim(),
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    )
}

/// Replaces the text between the `name` markers in `path` with `body`.
pub fn replace_section(path: &Path, name: &str, body: &str) -> Result<(), MarkdownError> {
    let shown = path.display().to_string();
    let io = |source| MarkdownError::Io {
        path: shown.clone(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    let updated = replace_in(&text, name, body).map_err(|marker| MarkdownError::NoMarker {
        path: shown.clone(),
        marker,
    })?;
    std::fs::write(path, updated).map_err(io)
}

/// `text` with the block between the `name` markers replaced; Err(missing marker).
pub fn replace_in(text: &str, name: &str, body: &str) -> Result<String, String> {
    let (start, end) = (
        format!("<!-- bench:{name}:start -->"),
        format!("<!-- bench:{name}:end -->"),
    );
    let a = text.find(&start).ok_or_else(|| start.clone())? + start.len();
    let b = a + text[a..].find(&end).ok_or_else(|| end.clone())?;
    Ok(format!(
        "{}\n{}\n{}",
        &text[..a],
        body.trim_end(),
        &text[b..]
    ))
}

#[cfg(test)]
mod tests;
