//! Fuzzes the camera helper protocol's readers: random bytes (and mutations of the seed
//! streams) as a helper's stdout and as its stdin, read in random chunks as a pipe delivers them.
//! Input: one byte (bit 0: a stdin stream of commands, else a stdout stream of messages; the
//! rest seeds the read sizes), then the stream.
//!
//! Checked besides "no panic": everything read respects its bound; the outcome does not depend
//! on the chunking; and what was accepted is canonical — the writers, given the messages read,
//! write the very bytes that were read (so reader and writer agree on every rule).

#![no_main]

use std::io::Read;

use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;
use streamserver::source::camera::protocol::{
    Command, CommandReader, CommandWriter, Limits, Message, MessageReader, MessageWriter,
    ProtocolError, MAX_TEXT_BYTES,
};

/// Small, so that the fuzzer crosses them easily.
const LIMITS: Limits = Limits {
    max_frame_bytes: 1024,
    max_still_bytes: 2048,
};

/// Hands out `data` in reads of 1 to 16 bytes (a xorshift sequence), as a pipe may.
struct Chunked<'a> {
    data: &'a [u8],
    state: u32,
}

impl Read for Chunked<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.state ^= self.state << 13;
        self.state ^= self.state >> 17;
        self.state ^= self.state << 5;
        let n = buf.len().min((self.state % 16 + 1) as usize);
        self.data.read(&mut buf[..n])
    }
}

/// The error, in a form that must not depend on chunking (the stranger's text shown in
/// NotOurProtocol is whatever the first read returned).
fn outcome(e: &ProtocolError) -> String {
    match e {
        ProtocolError::NotOurProtocol { .. } => "not our protocol".into(),
        e => e.to_string(),
    }
}

/// JSON text as the writers would write it again, if they can (RawValue trims whitespace).
fn raw(json: &str) -> Option<Box<RawValue>> {
    RawValue::from_string(json.to_owned())
        .ok()
        .filter(|r| r.get() == json)
}

fn messages(r: impl Read) -> (Vec<u8>, Vec<Message>, String) {
    let (mut reader, hello) = match MessageReader::handshake(r, LIMITS) {
        Ok(ok) => ok,
        Err(e) => return (Vec::new(), Vec::new(), outcome(&e)),
    };
    let mut w = MessageWriter::hello(Vec::new(), &hello).expect("a Hello read is writable");
    let mut read = Vec::new();
    let end = loop {
        let m = match reader.read_message() {
            Ok(m) => m,
            Err(e) => break outcome(&e),
        };
        let written = match &m {
            Message::Started(s) => w.started(s),
            Message::Frame(f) => {
                assert!(!f.jpeg.is_empty() && f.jpeg.len() <= LIMITS.max_frame_bytes);
                w.frame(&f.info, &f.jpeg)
            }
            Message::Alive { seq } => w.alive(*seq),
            Message::Failed(f) => {
                assert!(f.message.len() <= MAX_TEXT_BYTES);
                w.failed(f.kind, &f.message)
            }
            Message::StillResult {
                id,
                width,
                height,
                jpeg,
            } => {
                assert!(!jpeg.is_empty() && jpeg.len() <= LIMITS.max_still_bytes);
                w.still_result(*id, *width, *height, jpeg)
            }
            Message::ControlsReply { id, json } => match raw(json) {
                Some(raw) => w.controls_reply(*id, &raw),
                None => return (Vec::new(), read, "not canonical".into()),
            },
            Message::RequestError { id, message } => w.request_error(*id, message),
        };
        written.unwrap_or_else(|e| panic!("read {m:?} but the writer refuses it: {e}"));
        read.push(m);
    };
    (w.get_ref().clone(), read, end)
}

fn commands(r: impl Read) -> (Vec<u8>, Vec<Command>, String) {
    let mut reader = CommandReader::new(r);
    let mut w = CommandWriter::new(Vec::new());
    let mut read = Vec::new();
    let end = loop {
        let c = match reader.read_command() {
            Ok(c) => c,
            Err(e) => break outcome(&e),
        };
        let written = match &c {
            Command::Start { settings_json } => match raw(settings_json) {
                Some(raw) => w.start(&raw),
                None => return (Vec::new(), read, "not canonical".into()),
            },
            Command::Demand { wanted } => w.demand(*wanted),
            Command::Stop => w.stop(),
            Command::Still { id } => w.still(*id),
            Command::SetControls { id, json } => match raw(json) {
                Some(raw) => w.set_controls(*id, &raw),
                None => return (Vec::new(), read, "not canonical".into()),
            },
            Command::ListControls { id } => w.list_controls(*id),
        };
        written.unwrap_or_else(|e| panic!("read {c:?} but the writer refuses it: {e}"));
        read.push(c);
    };
    (w.get_ref().clone(), read, end)
}

fuzz_target!(|input: &[u8]| {
    let Some((&mode, data)) = input.split_first() else {
        return;
    };
    let chunked = Chunked {
        data,
        state: u32::from(mode) | 0x100,
    };
    let (rewritten, whole, chunked) = if mode & 1 == 1 {
        let (bytes, read, end) = commands(data);
        let (_, c_read, c_end) = commands(chunked);
        (
            bytes,
            (format!("{read:?}"), end),
            (format!("{c_read:?}"), c_end),
        )
    } else {
        let (bytes, read, end) = messages(data);
        let (_, c_read, c_end) = messages(chunked);
        (
            bytes,
            (format!("{read:?}"), end),
            (format!("{c_read:?}"), c_end),
        )
    };
    assert_eq!(whole, chunked, "the outcome depends on the chunking");
    if whole.1 != "not canonical" {
        assert!(
            data.starts_with(&rewritten),
            "written again, the messages read differ from the input"
        );
    }
});
