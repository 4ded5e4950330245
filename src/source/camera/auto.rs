//! `source = "auto"`: a camera where the camera helper exists and `streamserver-camera list`
//! finds one, else the built-in test pattern — decided once at start, with one log line saying
//! which and why. The installed service therefore streams the camera out of the box on a Pi,
//! and `scripts/run.sh` shows the test pattern on a laptop.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::error::{loader_error, CameraError};
use super::process::helper_path;
use crate::config::{SourceConfig, StreamConfig};

/// How long `streamserver-camera list` may take (libcamera enumerates the cameras).
pub const LIST_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs `<helper> list` (bounded by `limit`, killed after it): its output when it succeeds.
pub fn run_list(helper: &Path, limit: Duration) -> Result<String, CameraError> {
    let mut child = Command::new(helper)
        .arg("list")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| CameraError::HelperSpawn {
            path: helper.to_owned(),
            source,
        })?;
    let until = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().ok().flatten() {
            break Some(status);
        }
        if Instant::now() >= until {
            // The whole group, so nothing it started keeps our pipes open.
            // SAFETY: kill(2) of our own child's process group.
            unsafe { libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL) };
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let read = |r: Option<&mut dyn std::io::Read>| {
        let mut s = String::new();
        if let Some(r) = r {
            let _ = r.read_to_string(&mut s);
        }
        s
    };
    let out = read(child.stdout.as_mut().map(|s| s as &mut dyn std::io::Read));
    let err = read(child.stderr.as_mut().map(|s| s as &mut dyn std::io::Read));
    match status {
        None => Err(CameraError::StartTimeout { waited: limit }),
        Some(s) if s.success() => Ok(out),
        Some(s) => {
            if let Some(line) = loader_error(&err) {
                return Err(CameraError::HelperCannotLoad { detail: line });
            }
            let last = err.lines().rev().find(|l| !l.trim().is_empty());
            Err(CameraError::HelperExited {
                status: s.to_string(),
                stderr: last.unwrap_or("").trim().to_string(),
            })
        }
    }
}

/// The first camera line of `list` output (`0: imx708 …`), if any.
pub fn first_camera(list: &str) -> Option<&str> {
    list.lines().find(|l| {
        let (n, rest) = l.split_once(':').unwrap_or(("", ""));
        !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && !rest.trim().is_empty()
    })
}

/// Turns a `source = "auto"` stream into a camera or a test-pattern stream (others are
/// returned unchanged), logging the choice and its reason once.
pub fn resolve(mut stream: StreamConfig) -> StreamConfig {
    let SourceConfig::Auto { camera, test } = stream.source else {
        return stream;
    };
    let helper = helper_path(camera.helper.as_deref());
    let choice = if helper.is_file() {
        run_list(&helper, LIST_TIMEOUT).map(|out| first_camera(&out).map(str::to_string))
    } else {
        Ok(None)
    };
    stream.source = match choice {
        Ok(Some(line)) => {
            info!(stream = %stream.id, camera = %line, helper = %helper.display(),
                "source = \"auto\": streaming the camera");
            SourceConfig::Camera(camera)
        }
        Ok(None) if helper.is_file() => {
            info!(stream = %stream.id, helper = %helper.display(),
                "source = \"auto\": the camera helper finds no camera; serving the test pattern");
            SourceConfig::Test(test)
        }
        Ok(None) => {
            info!(stream = %stream.id, helper = %helper.display(),
                "source = \"auto\": no camera helper installed; serving the test pattern");
            SourceConfig::Test(test)
        }
        Err(err) => {
            warn!(stream = %stream.id, %err,
                "source = \"auto\": the camera helper does not work; serving the test pattern");
            SourceConfig::Test(test)
        }
    };
    stream
}

#[cfg(test)]
mod tests;
