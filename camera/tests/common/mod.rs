//! The real `streamserver-camera` binary as the server sees it: spawned with piped stdio, its
//! messages read by the library's `MessageReader` on a thread of their own (so every wait here
//! is bounded), its commands written by the library's `CommandWriter`, its stderr collected.
#![allow(dead_code)] // each test file uses a part

pub mod bars;
pub mod drill;
pub mod http;
pub mod overlay_ref;

use std::io::Read;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use streamserver::config::{CameraConfig, EncoderConfig, OverlayConfig, PixelFormat};
use streamserver::source::camera::protocol::requests::ControlsReply;
use streamserver::source::camera::protocol::{
    CommandWriter, Hello, HelperSettings, Limits, Message, MessageReader, ProtocolError,
};
use streamserver::source::camera::shm::{self, FrameRegion, ShmLayout};

pub const HELPER: &str = env!("CARGO_BIN_EXE_streamserver-camera");

/// What the reader thread saw.
pub enum Seen {
    Hello(Hello),
    Message(Message),
    /// The stream ended (cleanly: `is_closed`) or broke.
    End(ProtocolError),
}

pub struct Helper {
    pub child: Child,
    pub commands: Option<CommandWriter<ChildStdin>>,
    reads: Receiver<Seen>,
    /// The helper's stderr so far, and whether it has ended.
    stderr: Arc<Mutex<(String, bool)>>,
}

impl Helper {
    /// Spawns the helper with `args` and reads its preamble and Hello.
    pub fn spawn(args: &[&str]) -> (Helper, Hello) {
        let helper = Self::spawn_raw(Command::new(HELPER).args(args));
        match helper.read(Duration::from_secs(10)) {
            Seen::Hello(hello) => (helper, hello),
            Seen::End(e) => panic!("no Hello: {e}; stderr: {}", helper.stderr()),
            Seen::Message(m) => panic!("a message before Hello: {m:?}"),
        }
    }

    /// [`Helper::spawn`] with a new region of shared memory of `layout` as fd 3, read as the
    /// server reads it (offer it in the Start settings: `shared_frames`).
    pub fn spawn_shared(args: &[&str], layout: ShmLayout) -> (Helper, Hello, Arc<FrameRegion>) {
        let (region, fd) = FrameRegion::create("test", layout).unwrap();
        let mut command = Command::new(HELPER);
        command.args(args);
        shm::pass_to_child(&mut command, &fd);
        let helper = Self::spawn_with(&mut command, Some(region.clone()));
        drop(fd);
        match helper.read(Duration::from_secs(10)) {
            Seen::Hello(hello) => (helper, hello, region),
            Seen::End(e) => panic!("no Hello: {e}; stderr: {}", helper.stderr()),
            Seen::Message(m) => panic!("a message before Hello: {m:?}"),
        }
    }

    /// Spawns `command` with piped stdio; the handshake is read by the reader thread.
    pub fn spawn_raw(command: &mut Command) -> Helper {
        Self::spawn_with(command, None)
    }

    /// [`Helper::spawn_raw`], the reader leasing FrameShm frames from `region`.
    fn spawn_with(command: &mut Command, region: Option<Arc<FrameRegion>>) -> Helper {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn streamserver-camera");
        let stdout = child.stdout.take().unwrap();
        let (tx, reads) = mpsc::sync_channel(64);
        std::thread::spawn(move || {
            let limits = Limits::default();
            let mut reader = match MessageReader::handshake(stdout, limits) {
                Ok((mut reader, hello)) => {
                    if let Some(region) = region {
                        reader.share_frames(region);
                    }
                    let _ = tx.send(Seen::Hello(hello));
                    reader
                }
                Err(e) => {
                    let _ = tx.send(Seen::End(e));
                    return;
                }
            };
            loop {
                match reader.read_message() {
                    Ok(m) => {
                        if tx.send(Seen::Message(m)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = tx.send(Seen::End(e));
                        return;
                    }
                }
            }
        });
        let stderr = Arc::new(Mutex::new((String::new(), false)));
        let mut pipe = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]).into_owned();
                collected.lock().unwrap().0.push_str(&text);
            }
            collected.lock().unwrap().1 = true;
        });
        let commands = child.stdin.take().map(CommandWriter::new);
        Helper {
            child,
            commands,
            reads,
            stderr,
        }
    }

    /// The helper's stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().unwrap().0.clone()
    }

    /// All of the helper's stderr, once it has ended (bounded wait).
    pub fn stderr_to_end(&self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        while !self.stderr.lock().unwrap().1 {
            assert!(
                Instant::now() < deadline,
                "stderr still open after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        self.stderr()
    }

    pub fn read(&self, within: Duration) -> Seen {
        match self.reads.recv_timeout(within) {
            Ok(r) => r,
            Err(RecvTimeoutError::Timeout) => {
                panic!(
                    "nothing from the helper within {within:?}; stderr: {}",
                    self.stderr()
                )
            }
            Err(RecvTimeoutError::Disconnected) => panic!("the reader thread is gone"),
        }
    }

    /// The next message if one comes within `within` (None on silence); panics when the
    /// stream ends first.
    pub fn poll(&self, within: Duration) -> Option<Message> {
        match self.reads.recv_timeout(within) {
            Ok(Seen::Message(m)) => Some(m),
            Ok(Seen::End(e)) => panic!("the helper's stdout ended: {e}; stderr: {}", self.stderr()),
            Ok(Seen::Hello(_)) => unreachable!("Hello comes once"),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => panic!("the reader thread is gone"),
        }
    }

    /// The next message; panics when the stream ends first.
    pub fn next(&self, within: Duration) -> Message {
        match self.read(within) {
            Seen::Message(m) => m,
            Seen::End(e) => panic!("the helper's stdout ended: {e}; stderr: {}", self.stderr()),
            Seen::Hello(_) => unreachable!("Hello comes once"),
        }
    }

    /// The end of the helper's stdout (after any messages, which are returned).
    pub fn until_end(&self, within: Duration) -> (Vec<Message>, ProtocolError) {
        let deadline = Instant::now() + within;
        let mut seen = Vec::new();
        loop {
            match self.read(deadline.saturating_duration_since(Instant::now())) {
                Seen::Message(m) => seen.push(m),
                Seen::End(e) => return (seen, e),
                Seen::Hello(_) => unreachable!(),
            }
        }
    }

    pub fn commands(&mut self) -> &mut CommandWriter<ChildStdin> {
        self.commands.as_mut().expect("stdin still open")
    }

    /// Waits (bounded) for the helper to exit.
    pub fn wait_exit(&mut self, within: Duration) -> ExitStatus {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the helper did not exit within {within:?}; stderr: {}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Settings for a `width`×`height` stream at 30 fps with one encode worker.
pub fn settings(width: u32, height: u32, format: PixelFormat) -> HelperSettings {
    HelperSettings {
        stream: "t".into(),
        camera: CameraConfig {
            width,
            height,
            format,
            fps: 30.0,
            ..CameraConfig::default()
        },
        encoder: EncoderConfig {
            workers: 1,
            ..EncoderConfig::default()
        },
        overlay: OverlayConfig::default(),
        controls: Default::default(),
        max_frame_bytes: 4 << 20,
        shared_frames: None,
    }
}

/// Says, in one line on stderr that the test harness does not capture, why a test file did
/// not run here.
pub fn skipped(reason: &str) {
    use std::io::Write;
    let exe = std::env::current_exe().unwrap_or_default();
    let name = exe
        .file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit_once('-').map(|(name, _hash)| name.to_string()))
        .unwrap_or_default();
    let line = format!("SKIPPED: tests/{name}.rs: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// The mean luma (0..=255) of a JPEG.
pub fn mean_luma(jpeg: &[u8]) -> f64 {
    let (_, _, y) = overlay_ref::luma(jpeg);
    y.iter().map(|&v| f64::from(v)).sum::<f64>() / y.len() as f64
}

impl Helper {
    /// The next message that is not a Frame or an Alive (those are counted into `frames`).
    pub fn next_answer(&self, within: Duration, frames: &mut usize) -> Message {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(!left.is_zero(), "no answer within {within:?}");
            match self.next(left) {
                Message::Frame(_) | Message::Alive { .. } => *frames += 1,
                other => return other,
            }
        }
    }

    /// The ControlsReply to request `id` (frames in between are skipped).
    pub fn controls_reply(&self, id: u32) -> ControlsReply {
        let mut frames = 0;
        match self.next_answer(Duration::from_secs(10), &mut frames) {
            Message::ControlsReply { id: got, json } if got == id => {
                ControlsReply::from_json(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
            }
            other => panic!("expected ControlsReply {id}, got {other:?}"),
        }
    }
}
