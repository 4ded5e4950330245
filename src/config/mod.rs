//! The typed configuration (`config.toml`).
//!
//! Everything is checked at load: unknown keys are rejected, addresses, paths, durations
//! (`"500ms"`, `"5s"`) and enums are parsed into their types, and every error is one line naming
//! the file, the line and the key (`config.toml:12: stream[0].fps: …`). Each stage gets only its
//! own sub-struct: [`ServerConfig`] for HTTP, [`LoggingConfig`] for logs, [`StreamConfig`] per
//! stream (source, encoder, supervisor), [`UserConfig`] per `[[user]]` (who may do what; the
//! decisions are `auth`'s).

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod addr;
mod lines;
mod overlay;
mod server;
mod source;
mod stream;
pub mod users;
mod values;
use lines::{array_entry_line, find_key_line, line_of, source_table_line};

pub use overlay::{OverlayConfig, OverlayPosition, MAX_OVERLAY_CHARS};
pub use server::{LogLevel, LogRotation, LoggingConfig, ServerConfig, TlsConfig};
pub use source::*;
pub use stream::{EncoderConfig, StreamConfig, SupervisorConfig, WhileDown, MAX_ENCODE_WORKERS};
pub use users::{Grant, Permission, UserConfig};
pub use values::{
    check_http_url, ListenAddrs, PixelFormat, Quality, StreamId, Subsampling, DEFAULT_MAX_PIXELS,
    MAX_PIXELS_LIMIT,
};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: cannot read")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// `line` is 1-based; `key` is the dotted path of the offending key (may be empty for syntax).
    #[error("{path}:{line}: {key}{sep}{message}", sep = if key.is_empty() { "" } else { ": " })]
    Invalid {
        path: PathBuf,
        line: usize,
        key: String,
        message: String,
    },
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub logging: LoggingConfig,
    #[serde(default = "default_streams", rename = "stream")]
    pub streams: Vec<StreamConfig>,
    /// `[[user]]`: who may do what (none: everything is open).
    #[serde(default, rename = "user")]
    pub users: Vec<UserConfig>,
}

fn default_streams() -> Vec<StreamConfig> {
    vec![StreamConfig::auto()]
}

impl Default for Config {
    /// Built-in defaults: one stream, `main`, on `source = "auto"`.
    fn default() -> Self {
        Config {
            server: ServerConfig::default(),
            logging: LoggingConfig::default(),
            streams: default_streams(),
            users: Vec::new(),
        }
    }
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let de = toml::Deserializer::new(text);
        let config: Config = serde_path_to_error::deserialize(de).map_err(|err| {
            let key = err.path().to_string();
            let inner = err.into_inner();
            let message = inner.message().trim().replace('\n', " ");
            // A stream without the table its source needs fails as a whole (see
            // `SourceConfig::from_tables`): name the table and point at the `source` line.
            if let Some((index, table)) = missing_source_table(&key, &message) {
                let key = format!("{key}.{table}");
                return ConfigError::Invalid {
                    path: path.to_owned(),
                    line: source_table_line(text, index, &key),
                    key,
                    message,
                };
            }
            let line = inner
                .span()
                .map(|s| line_of(text, s.start))
                .unwrap_or_else(|| find_key_line(text, &key));
            ConfigError::Invalid {
                path: path.to_owned(),
                line,
                key: if key == "." { String::new() } else { key },
                message,
            }
        })?;
        config.validate(text, path)?;
        Ok(config)
    }

    /// Checks that need the whole file: stream ids unique, at least one stream.
    fn validate(&self, text: &str, path: &Path) -> Result<(), ConfigError> {
        let invalid = |key: String, message: String| ConfigError::Invalid {
            path: path.to_owned(),
            line: find_key_line(text, &key),
            key,
            message,
        };
        if self.streams.is_empty() {
            return Err(invalid(
                "stream".into(),
                "at least one [[stream]] is needed".into(),
            ));
        }
        for (i, s) in self.streams.iter().enumerate() {
            if self.streams[..i].iter().any(|o| o.id == s.id) {
                return Err(invalid(
                    format!("stream[{i}].id"),
                    format!("duplicate stream id {:?}", s.id.0),
                ));
            }
        }
        for (i, s) in self.streams.iter().enumerate() {
            if let Err((key, message)) = s.validate() {
                let key = format!("stream[{i}].{key}");
                // A missing key has no line of its own: point at its table, or at `source`.
                let line = [key.as_str(), key.rsplit_once('.').map_or("", |k| k.0)]
                    .iter()
                    .map(|k| find_key_line(text, k))
                    .chain(std::iter::once(source_table_line(text, i, &key)))
                    .find(|&l| l > 1)
                    .unwrap_or(1);
                return Err(ConfigError::Invalid {
                    path: path.to_owned(),
                    line,
                    key,
                    message,
                });
            }
        }
        let ids: Vec<&str> = self.streams.iter().map(|s| s.id.0.as_str()).collect();
        if let Err((key, message)) = users::validate_users(&self.users, &ids) {
            // A key the entry does not have (e.g. no `token`) points at its `[[user]]` line.
            let line = match find_key_line(text, &key) {
                1 => user_index(&key).map_or(1, |i| array_entry_line(text, "user", i)),
                line => line,
            };
            return Err(ConfigError::Invalid {
                path: path.to_owned(),
                line,
                key,
                message,
            });
        }
        if let Err((key, message)) = self.server.validate() {
            return Err(invalid(format!("server.{key}"), message));
        }
        Ok(())
    }
}

/// `2` of `user[2].view`.
fn user_index(key: &str) -> Option<usize> {
    key.strip_prefix("user[")?.split_once(']')?.0.parse().ok()
}

/// `(stream index, table)` when `key` is a whole stream (`stream[2]`) and `message` is the
/// missing-table error of `SourceConfig::from_tables` (`… needs a [stream.folder] table …`).
fn missing_source_table<'m>(key: &str, message: &'m str) -> Option<(usize, &'m str)> {
    let index = key
        .strip_prefix("stream[")?
        .strip_suffix(']')?
        .parse()
        .ok()?;
    let table = message.split_once("needs a [stream.")?.1.split_once(']')?.0;
    Some((index, table))
}

#[cfg(test)]
mod tests;
