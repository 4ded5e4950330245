//! The source sections of a `[[stream]]`: which source feeds it (`source = "…"`) and that
//! source's own table (`[stream.test]`, `[stream.camera]`, `[stream.folder]`, `[stream.http]`,
//! `[stream.relay]`).
//!
//! [`SourceConfig`] is the one tagged enum the rest of the program sees: a source takes its own
//! variant's type and nothing else from the config. The file format keeps the kind and the table
//! apart (`source = "folder"` plus `[stream.folder]`); [`SourceConfig::from_tables`] joins them.
//! `source = "auto"` keeps both the camera's and the test pattern's tables until the server
//! decides at start which one it can run.

mod camera;
mod folder;
mod relay;
mod snapshot_poll;
mod test_pattern;

use serde::Deserialize;

pub use camera::{
    control_spec, unknown_control_message, AwbMode, CameraConfig, CameraSelector, ControlKind,
    ControlSpec, ControlValue, ControlValues, ExposureMode, Orientation, PointValue, Rect,
    Rotation, SizeValue, StillMode, ValueError, WhilePaused, CONTROLS, MAX_ARRAY_ELEMENTS,
    MAX_CONTROL_NAME_BYTES, MAX_STILL_SIDE, MAX_TEXT_VALUE_BYTES,
};
pub use folder::FolderConfig;
pub use relay::RelayConfig;
pub use snapshot_poll::{SnapshotPollConfig, Validate};
pub use test_pattern::TestPatternConfig;

/// The source kinds a `[[stream]]` can name in `source = "…"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A camera where the camera helper finds one, else the test pattern (decided at start).
    Auto,
    Test,
    Camera,
    Folder,
    /// `source = "http"`: a polled snapshot URL.
    #[serde(rename = "http")]
    SnapshotPoll,
    Relay,
}

impl SourceKind {
    /// The name used in the config file, logs and `/api/state`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Test => "test",
            Self::Camera => "camera",
            Self::Folder => "folder",
            Self::SnapshotPoll => "http",
            Self::Relay => "relay",
        }
    }
}

/// A stream's source with its settings.
#[derive(Debug, Clone)]
pub enum SourceConfig {
    /// Resolved at start into `Camera` or `Test` (see `source::resolve_auto`).
    Auto {
        camera: CameraConfig,
        test: TestPatternConfig,
    },
    Test(TestPatternConfig),
    Camera(CameraConfig),
    Folder(FolderConfig),
    SnapshotPoll(SnapshotPollConfig),
    Relay(RelayConfig),
}

/// The optional per-source tables of one `[[stream]]`, as written in the file.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SourceTables {
    pub test: Option<TestPatternConfig>,
    pub camera: Option<CameraConfig>,
    pub folder: Option<FolderConfig>,
    pub http: Option<SnapshotPollConfig>,
    pub relay: Option<RelayConfig>,
}

impl SourceConfig {
    /// Joins `source = kind` with its table. `test` and `camera` have defaults for every key;
    /// the others need their table (the error says which).
    pub fn from_tables(kind: SourceKind, t: SourceTables) -> Result<Self, String> {
        let needs = |table: &str, key: &str| {
            format!("source = \"{table}\" needs a [stream.{table}] table with `{key}`")
        };
        Ok(match kind {
            SourceKind::Auto => Self::Auto {
                camera: t.camera.unwrap_or_default(),
                test: t.test.unwrap_or_default(),
            },
            SourceKind::Test => Self::Test(t.test.unwrap_or_default()),
            SourceKind::Camera => Self::Camera(t.camera.unwrap_or_default()),
            SourceKind::Folder => Self::Folder(t.folder.ok_or_else(|| needs("folder", "path"))?),
            SourceKind::SnapshotPoll => {
                Self::SnapshotPoll(t.http.ok_or_else(|| needs("http", "url"))?)
            }
            SourceKind::Relay => Self::Relay(t.relay.ok_or_else(|| needs("relay", "url"))?),
        })
    }

    pub fn kind(&self) -> SourceKind {
        match self {
            Self::Auto { .. } => SourceKind::Auto,
            Self::Test(_) => SourceKind::Test,
            Self::Camera(_) => SourceKind::Camera,
            Self::Folder(_) => SourceKind::Folder,
            Self::SnapshotPoll(_) => SourceKind::SnapshotPoll,
            Self::Relay(_) => SourceKind::Relay,
        }
    }

    /// Checks serde cannot make: `(key below the stream, message)` of the first bad value,
    /// e.g. `("folder.path", "is required…")`.
    pub fn validate(&self) -> Result<(), (String, String)> {
        let (table, checked) = match self {
            Self::Test(_) => return Ok(()),
            Self::Auto { camera: c, .. } | Self::Camera(c) => ("camera", c.validate()),
            Self::Folder(c) => ("folder", owned(c.validate())),
            Self::SnapshotPoll(c) => ("http", owned(c.validate())),
            Self::Relay(c) => ("relay", owned(c.validate())),
        };
        checked.map_err(|(key, message)| (format!("{table}.{key}"), message))
    }
}

fn owned(r: Result<(), (&str, String)>) -> Result<(), (String, String)> {
    r.map_err(|(key, message)| (key.to_string(), message))
}

/// `on_stale` of the folder and http sources: what clients see once the input is stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnStale {
    /// Keep the last good frame on air (clients keep receiving it about once a second).
    LastFrame,
    /// Show `placeholder_image`, or the built-in "stream is down" picture.
    Placeholder,
    /// End every client stream; new clients are ended at once until a fresh frame arrives.
    Disconnect,
}

#[cfg(test)]
mod tests;
