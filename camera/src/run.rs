//! `streamserver-camera run`: one camera stream for the server, over the protocol of
//! `streamserver::source::camera::protocol` on stdin/stdout.
//!
//! In order: the parent-death signal and parent check, stdout set aside for the protocol (fd 1
//! then points at stderr), the preamble and Hello — all before libcamera is touched. Then:
//!
//! - the `commands` thread reads stdin and forwards each command (and the end of stdin) to the
//!   control thread as an [`Event`]; it keeps reading until the pipe ends, so the server never
//!   blocks writing a command;
//! - the control thread (this one) waits for Start, parses its [`HelperSettings`], maps the
//!   server's shared memory for frames when Start offers it (one that fails its checks is
//!   reported as Failed, and the helper exits), starts the `capture` thread (the synthetic
//!   camera or libcamera) and then handles events: Demand sets the output's wanted flag;
//!   Still/SetControls/ListControls go to the capture thread, which serves them between frames
//!   (`requests`), unless the camera is not started yet or
//!   [`MAX_PENDING_REQUESTS`](streamserver::source::camera::protocol::MAX_PENDING_REQUESTS)
//!   wait already (then RequestError says so); Started, the answers to requests and a capture
//!   failure are written for the capture thread (which never writes; a failure is reported
//!   before the camera is stopped, which can hang), and an Alive is written when one is due;
//! - Stop or the end of stdin stops the capture (the camera is stopped and released), and the
//!   helper exits 0; a capture failure is sent as Failed with its kind and the helper exits 1,
//!   as it does when the server is gone (a write fails) or breaks the protocol.
//!
//! A capture thread that does not stop within [`STOP_WAIT`] (a camera hung inside libcamera)
//! is left behind: [`Outcome::capture_stuck`] tells `main` to end the process at once, and the
//! kernel frees the camera. The `commands` thread is never joined: it ends with stdin or with
//! the process.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use streamserver::source::camera::protocol::requests::ControlsReply;
use streamserver::source::camera::protocol::{
    Command, CommandReader, Failure, FailureKind, HelperSettings, MessageWriter, ProtocolError,
    Started,
};
use streamserver::source::camera::shm::SlotWriter;
use streamserver::source::StopFlag;
use streamserver::util::panic_message;
use tracing::{error, info, warn};

use crate::context::Capture;
use crate::error::CaptureError;
use crate::output::ProtocolOutput;
use crate::process::{self, ProcessError};
use crate::report::Report;
use crate::requests::{self, Inbox, Outbox, Request};
use crate::synthetic::{self, Fault};
use crate::version;

/// How long Stop waits for the capture thread before the helper exits without it.
pub const STOP_WAIT: Duration = Duration::from_secs(3);
/// How often the control thread wakes to write a due Alive.
const TICK: Duration = Duration::from_millis(25);
/// Events waiting for the control thread.
const EVENTS: usize = 16;
/// The answer to a request before the camera runs.
const NOT_STARTED: &str = "the camera is not started yet";

/// `run`'s options (from the command line).
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The server's pid: exit at once if the parent is another process.
    pub parent_pid: Option<u32>,
    /// The synthetic camera instead of libcamera.
    pub synthetic: bool,
    /// A fault for the synthetic camera to inject.
    pub fault: Option<Fault>,
}

/// How the helper ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// 0: stopped as asked; 1: failed (after Failed, or the server is gone).
    pub code: u8,
    /// The capture thread did not stop: end the process without waiting for it.
    pub capture_stuck: bool,
}

/// `run` could not even start talking to the server.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("cannot greet the server: {0}")]
    Hello(#[source] ProtocolError),
    #[error("cannot start thread `{name}`: {source}")]
    Thread {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
}

/// What the control thread hears about.
enum Event {
    Command(Command),
    /// stdin ended: `None` cleanly (the server closed it), else how the protocol broke.
    CommandsEnded(Option<ProtocolError>),
    Started(Started),
    /// The capture failed and is stopping the camera (which may hang).
    Failing(Failure),
    CaptureEnded(Result<(), Failure>),
    /// The answer to a SetControls or ListControls.
    Reply(u32, ControlsReply),
}

/// The capture thread's [`Report`]: events for the control thread.
struct Events<'a>(&'a SyncSender<Event>);

impl Report for Events<'_> {
    fn started(&mut self, started: Started) {
        let _ = self.0.send(Event::Started(started));
    }

    fn failing(&mut self, error: &CaptureError) {
        let _ = self.0.send(Event::Failing(failure(error)));
    }

    fn reply(&mut self, id: u32, reply: ControlsReply) {
        let _ = self.0.send(Event::Reply(id, reply));
    }
}

fn failure(error: &CaptureError) -> Failure {
    Failure {
        kind: error.kind(),
        message: error.to_string(),
    }
}

pub fn run(options: &Options) -> Result<Outcome, RunError> {
    process::die_with_parent(options.parent_pid)?;
    let stdout = process::protocol_stdout()?;
    let writer = MessageWriter::hello(stdout, &version::hello()).map_err(RunError::Hello)?;
    let output = ProtocolOutput::new(writer);
    let (events_tx, events) = mpsc::sync_channel(EVENTS);
    spawn("commands", {
        let tx = events_tx.clone();
        move || read_commands(&tx)
    })?;
    let settings = match wait_for_start(&events, &output) {
        Ok(Some(settings)) => settings,
        Ok(None) => return Ok(done(0)),
        Err(()) => return Ok(done(1)),
    };
    output.set_max_frame_bytes(settings.max_frame_bytes);
    let stop = StopFlag::new();
    let (outbox, inbox) = requests::queue();
    let capture = spawn("capture", {
        let (output, stop, options) = (output.clone(), stop.clone(), options.clone());
        move || capture(&settings, &output, &stop, &options, &events_tx, &inbox)
    })?;
    let code = control(&events, &output, &outbox);
    stop.raise();
    let capture_stuck = !wait_for_capture(&events, capture, code);
    info!(
        frames_dropped = output.dropped(),
        frames_inline = output.inline_frames(),
        code,
        "helper done"
    );
    Ok(Outcome {
        code,
        capture_stuck,
    })
}

fn done(code: u8) -> Outcome {
    Outcome {
        code,
        capture_stuck: false,
    }
}

fn spawn(
    name: &'static str,
    f: impl FnOnce() + Send + 'static,
) -> Result<JoinHandle<()>, RunError> {
    std::thread::Builder::new()
        .name(name.into())
        .spawn(f)
        .map_err(|source| RunError::Thread { name, source })
}

/// The `commands` thread: stdin → events, until the pipe ends or breaks.
fn read_commands(events: &SyncSender<Event>) {
    let mut reader = CommandReader::new(std::io::stdin().lock());
    loop {
        let event = match reader.read_command() {
            Ok(command) => Event::Command(command),
            Err(e) if e.is_closed() => Event::CommandsEnded(None),
            Err(e) => Event::CommandsEnded(Some(e)),
        };
        let last = matches!(event, Event::CommandsEnded(_));
        if events.send(event).is_err() || last {
            return;
        }
    }
}

/// The settings of Start (with the shared memory it offers mapped into `output`); `None` when
/// stdin ended first; `Err` after sending Failed.
fn wait_for_start(
    events: &Receiver<Event>,
    output: &ProtocolOutput,
) -> Result<Option<HelperSettings>, ()> {
    let fail = |kind, message: String| {
        error!("{message}");
        let _ = output.failed(kind, &message);
        Err(())
    };
    match events.recv() {
        Ok(Event::Command(Command::Start { settings_json })) => {
            let settings = match HelperSettings::from_json(&settings_json) {
                Ok(settings) => settings,
                Err(e) => return fail(FailureKind::Config, e.to_string()),
            };
            if let Some(layout) = settings.shared_frames {
                match SlotWriter::open_inherited(&layout) {
                    Ok(slots) => output.share_frames(slots),
                    Err(e) => return fail(FailureKind::Other, e.to_string()),
                }
            }
            Ok(Some(settings))
        }
        Ok(Event::CommandsEnded(None)) | Err(_) => {
            info!("the server closed stdin before Start; exiting");
            Ok(None)
        }
        Ok(Event::CommandsEnded(Some(e))) => fail(FailureKind::Other, format!("protocol: {e}")),
        // The reader refuses anything but Start first, and nothing else sends events yet.
        Ok(_) => fail(FailureKind::Other, "an event before Start".into()),
    }
}

/// The `capture` thread: one run of the camera, reported as events.
fn capture(
    settings: &HelperSettings,
    output: &ProtocolOutput,
    stop: &StopFlag,
    options: &Options,
    events: &SyncSender<Event>,
    inbox: &Inbox,
) {
    let mut report = Events(events);
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut cx = Capture {
            settings,
            output,
            stop,
            report: &mut report,
            inbox,
        };
        if options.synthetic {
            synthetic::run(&mut cx, options.fault)
        } else {
            camera(&mut cx)
        }
    }));
    let ended = match result {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(failure(&e)),
        Err(panic) => Err(Failure {
            kind: FailureKind::Other,
            message: format!("capture thread panicked: {}", panic_message(&*panic)),
        }),
    };
    let _ = events.send(Event::CaptureEnded(ended));
}

#[cfg(has_libcamera)]
fn camera(cx: &mut Capture) -> Result<(), CaptureError> {
    crate::device::run(cx)
}

#[cfg(not(has_libcamera))]
fn camera(_: &mut Capture) -> Result<(), CaptureError> {
    Err(CaptureError::NoLibcamera)
}

/// The control loop after Start; returns the exit code.
fn control(events: &Receiver<Event>, output: &ProtocolOutput, outbox: &Outbox) -> u8 {
    let mut started = false;
    loop {
        let sent = match events.recv_timeout(TICK) {
            Ok(Event::Command(command)) => match command {
                Command::Demand { wanted } => {
                    output.set_wanted(wanted);
                    Ok(())
                }
                Command::Stop => {
                    info!("stopping as asked");
                    return 0;
                }
                Command::Still { id } => forward(output, outbox, started, Request::Still { id }),
                Command::SetControls { id, json } => {
                    forward(output, outbox, started, Request::SetControls { id, json })
                }
                Command::ListControls { id } => {
                    forward(output, outbox, started, Request::ListControls { id })
                }
                Command::Start { .. } => unreachable!("the reader refuses a second Start"),
            },
            Ok(Event::CommandsEnded(None)) => {
                info!("the server closed stdin; stopping");
                return 0;
            }
            Ok(Event::CommandsEnded(Some(e))) => {
                error!(error = %e, "protocol error; stopping");
                let _ = output.failed(FailureKind::Other, &format!("protocol: {e}"));
                return 1;
            }
            Ok(Event::Started(s)) => {
                started = true;
                output.started(&s)
            }
            Ok(Event::Reply(id, reply)) => output.controls_reply(id, &reply).or_else(|e| {
                // A reply over its bounds is refused before a byte is written: say so instead.
                warn!(id, error = %e, "controls reply not sent");
                output.request_error(id, &e.to_string())
            }),
            Ok(Event::Failing(failure)) | Ok(Event::CaptureEnded(Err(failure))) => {
                error!(kind = failure.kind.name(), "{}", failure.message);
                let _ = output.failed(failure.kind, &failure.message);
                return 1;
            }
            Ok(Event::CaptureEnded(Ok(()))) => {
                let failure = Failure {
                    kind: FailureKind::Other,
                    message: "the capture ended by itself".into(),
                };
                error!(kind = failure.kind.name(), "{}", failure.message);
                let _ = output.failed(failure.kind, &failure.message);
                return 1;
            }
            Err(RecvTimeoutError::Timeout) => Ok(()),
            Err(RecvTimeoutError::Disconnected) => {
                unreachable!("the capture thread holds a sender")
            }
        };
        if let Err(e) = sent.and_then(|()| output.alive_if_due().map(drop)) {
            if output.is_broken() {
                warn!(error = %e, "the server is gone; stopping");
                return 1;
            }
            error!(error = %e, "a message could not be sent; stopping");
            let _ = output.failed(FailureKind::Other, &e.to_string());
            return 1;
        }
    }
}

/// Hands a request to the capture thread, or answers RequestError when it cannot take it.
fn forward(
    output: &ProtocolOutput,
    outbox: &Outbox,
    started: bool,
    request: Request,
) -> Result<(), ProtocolError> {
    let id = request.id();
    match started {
        false => output.request_error(id, NOT_STARTED),
        true => outbox
            .offer(request)
            .or_else(|message| output.request_error(id, &message)),
    }
}

/// Waits up to [`STOP_WAIT`] for the capture thread's end; false when it is stuck. A failure
/// while stopping is logged unless one was sent already (`code` 1).
fn wait_for_capture(events: &Receiver<Event>, capture: JoinHandle<()>, code: u8) -> bool {
    let deadline = Instant::now() + STOP_WAIT;
    while !capture.is_finished() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            warn!(waited = ?STOP_WAIT, "the capture thread did not stop (camera hung?); exiting without it");
            return false;
        }
        match events.recv_timeout(left.min(TICK)) {
            Ok(Event::CaptureEnded(Err(f))) if code == 0 => {
                warn!(kind = f.kind.name(), "while stopping: {}", f.message)
            }
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
    let _ = capture.join();
    true
}
