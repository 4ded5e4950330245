//! The camera helper as a child process: spawned in a process group of its own with its stdin
//! and stdout as protocol pipes (and the shared memory for frames as fd 3), its stderr logged
//! line by line under the stream's id (the last lines kept for error messages), and — however
//! the conversation ends — killed as a whole group with SIGKILL and reaped, so no orphan (the
//! helper or a libcamera IPA proxy it started) keeps the camera and no zombie or file
//! descriptor is left behind.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tracing::{error, info, warn};

use super::{shm, CameraError};

/// stderr lines kept for error messages.
const TAIL_LINES: usize = 12;
/// Longest stderr line kept or logged (a runaway line is cut).
const MAX_LINE_CHARS: usize = 400;
/// How long a killed helper may take to be reaped before we stop waiting.
const REAP_WAIT: Duration = Duration::from_secs(5);

/// A running helper.
pub struct HelperProcess {
    child: Child,
    /// The helper's stdin (commands), until taken.
    pub stdin: Option<ChildStdin>,
    /// The helper's stdout (messages), until taken.
    pub stdout: Option<ChildStdout>,
    tail: Arc<Mutex<VecDeque<String>>>,
    stderr_thread: Option<JoinHandle<()>>,
    reaped: Option<ExitStatus>,
}

impl HelperProcess {
    /// Starts `path args…` for stream `stream` in its own process group, with `frames` (the
    /// shared memory for frames) as its fd 3. The helper inherits the environment except
    /// systemd's notification variables (only the server talks to systemd).
    pub fn spawn(
        path: &Path,
        args: &[String],
        stream: &str,
        frames: Option<&OwnedFd>,
    ) -> Result<Self, CameraError> {
        let mut command = Command::new(path);
        if let Some(fd) = frames {
            shm::pass_to_child(&mut command, fd);
        }
        let mut child = command
            .args(args)
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("WATCHDOG_PID")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|source| CameraError::HelperSpawn {
                path: path.to_owned(),
                source,
            })?;
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(TAIL_LINES)));
        let stderr = child.stderr.take().expect("stderr is piped");
        let (t, id) = (tail.clone(), stream.to_string());
        let stderr_thread = std::thread::Builder::new()
            .name(format!("camera-log-{stream}"))
            .spawn(move || log_lines(stderr, &id, &t))
            .ok();
        Ok(Self {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            tail,
            stderr_thread,
            reaped: None,
        })
    }

    /// The process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The last lines the helper wrote to stderr, one per line.
    pub fn stderr_tail(&self) -> String {
        let tail = self.tail.lock().unwrap_or_else(|e| e.into_inner());
        tail.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    /// The exit status if the helper has exited (reaping it), without waiting.
    pub fn try_status(&mut self) -> Option<ExitStatus> {
        if self.reaped.is_none() {
            self.reaped = self.child.try_wait().ok().flatten();
        }
        self.reaped
    }

    /// Waits up to `limit` for the helper to exit by itself.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_status() {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kills the helper's whole process group with SIGKILL, reaps the helper and waits for its
    /// log to end (all bounded). Safe to call more than once.
    pub fn kill(&mut self) -> Option<ExitStatus> {
        let pgid = self.child.id() as libc::pid_t;
        // SAFETY: kill(2) of our own child's process group (negative pid = group).
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        self.stdin = None;
        let status = self.wait_exit(REAP_WAIT);
        if status.is_none() {
            error!(
                pid = pgid,
                "the camera helper did not die within 5 s of SIGKILL"
            );
        }
        self.stdout = None;
        if let Some(t) = self.stderr_thread.take() {
            // The log ends when every writer of the pipe is gone; a surviving grandchild that
            // kept it (outside our group) must not block us.
            let until = Instant::now() + Duration::from_secs(1);
            while !t.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
            if t.is_finished() {
                let _ = t.join();
            }
        }
        status
    }
}

impl Drop for HelperProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Logs the helper's stderr under the stream's id, at the level the line suggests, and keeps the
/// last [`TAIL_LINES`] lines.
fn log_lines(stderr: impl std::io::Read, stream: &str, tail: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(stderr).split(b'\n') {
        let Ok(line) = line else { break };
        let text = String::from_utf8_lossy(&line);
        let text: String = text.trim_end().chars().take(MAX_LINE_CHARS).collect();
        if text.is_empty() {
            continue;
        }
        if text.contains("ERROR") || text.contains("FATAL") || text.contains("error while") {
            error!(stream, helper = %text, "camera helper");
        } else if text.contains("WARN") {
            warn!(stream, helper = %text, "camera helper");
        } else {
            info!(stream, helper = %text, "camera helper");
        }
        let mut t = tail.lock().unwrap_or_else(|e| e.into_inner());
        if t.len() == TAIL_LINES {
            t.pop_front();
        }
        t.push_back(text);
    }
}

/// Where the helper binary is: the configured path, else `streamserver-camera` next to the
/// running `streamserver`, else the first one on `PATH`; the sibling path when none exists (for
/// the error message).
pub fn helper_path(configured: Option<&Path>) -> PathBuf {
    const NAME: &str = "streamserver-camera";
    if let Some(p) = configured {
        return p.to_owned();
    }
    let sibling = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|dir| dir.join(NAME)));
    if let Some(s) = sibling.as_ref().filter(|s| s.is_file()) {
        return s.clone();
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(NAME))
            .find(|p| p.is_file())
    });
    on_path.or(sibling).unwrap_or_else(|| PathBuf::from(NAME))
}

#[cfg(test)]
mod tests;
