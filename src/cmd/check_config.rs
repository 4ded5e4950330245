//! `streamserver check-config`: loads a config like the server would, runs every stream's
//! start-up checks, prints a one-line summary; the first problem is the error (exit 1).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::load_config;

pub fn run(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, path) = load_config(path)?;
    for stream in &config.streams {
        crate::source::preflight(stream).with_context(|| format!("stream {}", stream.id))?;
    }
    println!(
        "{}: ok ({} stream(s): {}; listen {})",
        path.map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in defaults".into()),
        config.streams.len(),
        config
            .streams
            .iter()
            .map(|s| format!("{} = {}", s.id, s.source.kind().name()))
            .collect::<Vec<_>>()
            .join(", "),
        config.server.listen
    );
    Ok(ExitCode::SUCCESS)
}
