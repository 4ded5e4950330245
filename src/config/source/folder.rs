//! `[stream.folder]`: the directory a `source = "folder"` stream watches and how it treats files.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::super::values::{check_max_pixels, DEFAULT_MAX_PIXELS};
use super::OnStale;

/// `[stream.folder]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FolderConfig {
    /// The directory to watch (required). Created if missing.
    pub path: PathBuf,
    /// File extensions that are frames, case-insensitive, with or without the dot.
    pub extensions: Vec<String>,
    /// Decode every frame completely before publishing (catches corrupt image data; costs a
    /// full decode per file). Off: markers and header are checked.
    pub full_decode: bool,
    /// Larger files are skipped (bytes).
    pub max_file_bytes: usize,
    /// Largest picture accepted (width × height), checked from the JPEG header before any
    /// decode buffer is allocated.
    pub max_pixels: u64,
    /// No new file for this long makes the stream stale.
    #[serde(with = "humantime_serde")]
    pub stale_after: Duration,
    pub on_stale: OnStale,
    /// JPEG shown by `on_stale = "placeholder"` (the built-in picture if unset).
    pub placeholder_image: Option<PathBuf>,
    /// Delete frame files older than this (unset: never delete anything).
    #[serde(with = "humantime_serde")]
    pub max_frame_age: Option<Duration>,
}

impl Default for FolderConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::new(),
            extensions: vec!["jpg".into(), "jpeg".into()],
            full_decode: false,
            max_file_bytes: 16 * 1024 * 1024,
            max_pixels: DEFAULT_MAX_PIXELS,
            stale_after: Duration::from_secs(10),
            on_stale: OnStale::LastFrame,
            placeholder_image: None,
            max_frame_age: None,
        }
    }
}

impl FolderConfig {
    /// Checks values serde cannot: `(key, message)` of the first bad one.
    pub fn validate(&self) -> Result<(), (&'static str, String)> {
        if self.path.as_os_str().is_empty() {
            return Err(("path", "is required: the directory to watch".into()));
        }
        if self.extensions.is_empty()
            || self
                .extensions
                .iter()
                .any(|e| e.trim_matches('.').is_empty())
        {
            return Err((
                "extensions",
                "needs at least one non-empty extension".into(),
            ));
        }
        if self.max_file_bytes == 0 {
            return Err(("max_file_bytes", "must be at least 1".into()));
        }
        check_max_pixels(self.max_pixels).map_err(|m| ("max_pixels", m))?;
        if self.stale_after.is_zero() {
            return Err(("stale_after", "must be above 0".into()));
        }
        if self.max_frame_age.is_some_and(|a| a.is_zero()) {
            return Err((
                "max_frame_age",
                "must be above 0 (leave it unset to keep all files)".into(),
            ));
        }
        Ok(())
    }
}
