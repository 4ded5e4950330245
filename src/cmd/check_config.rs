//! `streamserver check-config`: loads a config like the server would, runs every stream's
//! start-up checks and loads the `[server.tls]` certificate, prints a one-line summary (with
//! the camera helper each camera stream will run, or that it is missing; the logins; http or
//! https); the first problem is the error (exit 1).

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::load_config;
use crate::config::{SourceConfig, StreamConfig};
use crate::source::camera::process::helper_path;

pub fn run(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (config, path) = load_config(path)?;
    for stream in &config.streams {
        crate::source::preflight(stream).with_context(|| format!("stream {}", stream.id))?;
    }
    if let Some(tls) = &config.server.tls {
        crate::http::tls::TlsCerts::load(tls).context("[server.tls]")?;
    }
    let logins = match config.users.len() {
        0 => "no [[user]]: open to all".to_string(),
        n => format!("{n} [[user]] entries"),
    };
    let scheme = if config.server.tls.is_some() {
        "https"
    } else {
        "http"
    };
    println!(
        "{}: ok ({} stream(s): {}; listen {} ({scheme}); {logins})",
        path.map(|p| p.display().to_string())
            .unwrap_or_else(|| "built-in defaults".into()),
        config.streams.len(),
        config
            .streams
            .iter()
            .map(|s| format!("{} = {}{}", s.id, s.source.kind().name(), helper_note(s)))
            .collect::<Vec<_>>()
            .join(", "),
        config.server.listen
    );
    Ok(ExitCode::SUCCESS)
}

/// For a camera (or auto) stream: which camera helper it will run, or that it is missing.
fn helper_note(stream: &StreamConfig) -> String {
    let camera = match &stream.source {
        SourceConfig::Camera(c) | SourceConfig::Auto { camera: c, .. } => c,
        _ => return String::new(),
    };
    let helper = helper_path(camera.helper.as_deref());
    if helper.is_file() {
        format!(" (helper {})", helper.display())
    } else {
        format!(
            " (helper {} is missing: install streamserver-camera with ./install-service.sh)",
            helper.display()
        )
    }
}
