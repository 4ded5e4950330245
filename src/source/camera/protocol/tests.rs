//! Round trips, truncation at every byte, bounds checked before reading, version and garbage
//! handling, refusals that write nothing, and a real OS pipe. Random input: `tests/random.rs`.

mod invalid;
mod pipes;
mod random;
mod shared;

use std::io::{self, Read, Write};

use bytes::Bytes;
use serde_json::json;

use super::*;

pub(super) fn hello() -> Hello {
    Hello {
        helper_version: "0.1.0-test".into(),
        libcamera_built: "0.4.0".into(),
        libcamera_loaded: "v0.5.1+12-abc".into(),
    }
}

pub(super) fn started() -> Started {
    Started {
        width: 1920,
        height: 1080,
        format: "YUV420".into(),
        fps: 29.97,
        camera_id: "/base/soc/i2c0mux/i2c@1/imx708@1a".into(),
        model: "imx708_wide".into(),
    }
}

pub(super) fn jpeg(n: usize, salt: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31) ^ salt).collect()
}

fn info(seq: u64) -> FrameInfo {
    FrameInfo {
        seq,
        captured_unix_ns: 1_700_000_000_123_456_789 + seq,
        width: 640,
        height: 480,
    }
}

/// A helper's stdout with every message type, and the stream length after each message.
fn every_message() -> (Vec<u8>, Vec<usize>, Vec<Message>) {
    let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
    let mut ends = vec![w.get_ref().len()];
    let frame = jpeg(3000, 7);
    let still = jpeg(5000, 9);
    let controls = json!({"Brightness": {"min": -1.0, "max": 1.0, "default": 0.0}});
    w.started(&started()).unwrap();
    ends.push(w.get_ref().len());
    w.frame(&info(5), &frame).unwrap();
    ends.push(w.get_ref().len());
    w.alive(9).unwrap();
    ends.push(w.get_ref().len());
    w.still_result(3, 4608, 2592, &still).unwrap();
    ends.push(w.get_ref().len());
    w.controls_reply(4, &controls).unwrap();
    ends.push(w.get_ref().len());
    w.request_error(5, "stills are not supported by this helper")
        .unwrap();
    ends.push(w.get_ref().len());
    w.failed(FailureKind::CameraBusy, "camera in use\n\tby rpicam-vid")
        .unwrap();
    ends.push(w.get_ref().len());
    let expected = vec![
        Message::Started(started()),
        Message::Frame(Frame {
            info: info(5),
            jpeg: Bytes::from(frame),
        }),
        Message::Alive { seq: 9 },
        Message::StillResult {
            id: 3,
            width: 4608,
            height: 2592,
            jpeg: Bytes::from(still),
        },
        Message::ControlsReply {
            id: 4,
            json: controls.to_string(),
        },
        Message::RequestError {
            id: 5,
            message: "stills are not supported by this helper".into(),
        },
        Message::Failed(Failure {
            kind: FailureKind::CameraBusy,
            message: "camera in use\n\tby rpicam-vid".into(),
        }),
    ];
    (w.get_ref().clone(), ends, expected)
}

/// A server's commands of every type, and the stream length after each.
fn every_command() -> (Vec<u8>, Vec<usize>, Vec<Command>) {
    let settings = json!({"select": 0, "width": 1280, "height": 720, "fps": 30.0});
    let controls = json!({"AfMode": "continuous", "LensPosition": 1.5});
    let mut w = CommandWriter::new(Vec::new());
    let mut ends = Vec::new();
    w.start(&settings).unwrap();
    ends.push(w.get_ref().len());
    w.demand(false).unwrap();
    ends.push(w.get_ref().len());
    w.demand(true).unwrap();
    ends.push(w.get_ref().len());
    w.still(1).unwrap();
    ends.push(w.get_ref().len());
    w.set_controls(2, &controls).unwrap();
    ends.push(w.get_ref().len());
    w.list_controls(u32::MAX).unwrap();
    ends.push(w.get_ref().len());
    w.stop().unwrap();
    ends.push(w.get_ref().len());
    let expected = vec![
        Command::Start {
            settings_json: settings.to_string(),
        },
        Command::Demand { wanted: false },
        Command::Demand { wanted: true },
        Command::Still { id: 1 },
        Command::SetControls {
            id: 2,
            json: controls.to_string(),
        },
        Command::ListControls { id: u32::MAX },
        Command::Stop,
    ];
    (w.get_ref().clone(), ends, expected)
}

/// Reads the helper stream `bytes` to its end: its messages and the error that ended it.
fn read_messages(
    bytes: &[u8],
    limits: Limits,
) -> Result<(Vec<Message>, ProtocolError), ProtocolError> {
    let (mut r, h) = MessageReader::handshake(bytes, limits)?;
    assert_eq!(h, hello());
    let mut messages = Vec::new();
    loop {
        match r.read_message() {
            Ok(m) => messages.push(m),
            Err(e) => return Ok((messages, e)),
        }
    }
}

fn read_commands(bytes: &[u8]) -> (Vec<Command>, ProtocolError) {
    let mut r = CommandReader::new(bytes);
    let mut commands = Vec::new();
    loop {
        match r.read_command() {
            Ok(c) => commands.push(c),
            Err(e) => return (commands, e),
        }
    }
}

#[test]
fn every_message_round_trips() {
    let (bytes, _, expected) = every_message();
    let (messages, end) = read_messages(&bytes, Limits::default()).unwrap();
    assert_eq!(messages, expected);
    assert!(end.is_closed(), "{end}");
    assert_eq!(end.to_string(), "the camera helper closed the pipe");
}

#[test]
fn every_command_round_trips() {
    let (bytes, _, expected) = every_command();
    let (commands, end) = read_commands(&bytes);
    assert_eq!(commands, expected);
    assert!(end.is_closed(), "{end}");
}

#[test]
fn helper_stream_cut_at_every_byte_is_a_typed_error() {
    let (bytes, ends, expected) = every_message();
    for cut in 0..bytes.len() {
        let result = read_messages(&bytes[..cut], Limits::default());
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        match (cut, result) {
            (0, Err(ProtocolError::NoHello)) => {}
            (c, Err(ProtocolError::Truncated { got, expected, .. })) if c < ends[0] => {
                assert!(got < expected, "cut {c}: {got} of {expected}");
            }
            (c, Ok((messages, end))) if c >= ends[0] => {
                assert_eq!(messages[..], expected[..whole - 1], "cut {c}");
                if ends.contains(&c) {
                    assert!(end.is_closed(), "cut {c} at a boundary: {end}");
                } else {
                    let ProtocolError::Truncated { got, expected, .. } = end else {
                        panic!("cut {c} mid-message: {end}");
                    };
                    assert!(got < expected, "cut {c}: {got} of {expected}");
                    assert!(end.to_string().contains("closed the pipe mid-message"));
                }
            }
            (c, other) => panic!("cut {c}: {other:?}"),
        }
    }
}

#[test]
fn command_stream_cut_at_every_byte_is_a_typed_error() {
    let (bytes, ends, expected) = every_command();
    for cut in 0..bytes.len() {
        let (commands, end) = read_commands(&bytes[..cut]);
        let whole = ends.iter().filter(|&&e| e <= cut).count();
        assert_eq!(commands[..], expected[..whole], "cut {cut}");
        match end {
            ProtocolError::Closed { peer } if cut == 0 || ends.contains(&cut) => {
                assert_eq!(peer, Peer::Server);
            }
            ProtocolError::Truncated { got, expected, .. } if !ends.contains(&cut) => {
                assert!(got < expected);
            }
            other => panic!("cut {cut}: {other:?}"),
        }
    }
}

/// Serves `bytes`, then fails every read: a reader that reads past them gets an I/O error.
struct Tripwire<'a>(&'a [u8]);

impl Read for Tripwire<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("tripwire: read past the header"));
        }
        self.0.read(buf)
    }
}

/// The start of a helper stream up to and including Started.
fn after_started() -> Vec<u8> {
    let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
    w.started(&started()).unwrap();
    w.get_ref().clone()
}

fn header(code: u8, len: u32) -> Vec<u8> {
    let mut h = vec![code];
    h.extend_from_slice(&len.to_le_bytes());
    h
}

fn message_error(bytes: &[u8], limits: Limits) -> ProtocolError {
    let (mut r, _) = MessageReader::handshake(Tripwire(bytes), limits).unwrap();
    r.read_message().unwrap(); // Started
    r.read_message().unwrap_err()
}

#[test]
fn oversized_lengths_are_refused_before_reading_the_payload() {
    let limits = Limits {
        max_frame_bytes: 1000,
        max_still_bytes: 2000,
    };
    for code in [0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09] {
        for len in [u32::MAX, 1 << 24] {
            let mut bytes = after_started();
            bytes.extend(header(code, len));
            match message_error(&bytes, limits) {
                ProtocolError::TooLong { len: l, max, .. } => assert!(l > max),
                ProtocolError::Invalid { reason, .. } if code == 0x04 => {
                    assert_eq!(reason, format!("payload of {len} bytes, must be 8"))
                }
                ProtocolError::Invalid { reason, .. } if code == 0x09 => {
                    assert_eq!(reason, format!("payload of {len} bytes, must be 32"))
                }
                other => panic!("type {code:#04x} len {len}: {other:?}"),
            }
        }
    }
    // The configured bound is exact: one byte over it is refused, naming the config key.
    let mut bytes = after_started();
    bytes.extend(header(0x03, 24 + 1001));
    let e = message_error(&bytes, limits);
    assert_eq!(
        e.to_string(),
        "the camera helper sent a Frame JPEG of 1001 bytes, over the limit of 1000 bytes \
         (max_frame_bytes)"
    );
    let mut bytes = after_started();
    bytes.extend(header(0x03, 24 + 1000));
    let e = message_error(&bytes, limits);
    assert!(
        e.to_string().contains("tripwire"),
        "at the bound it reads: {e}"
    );
    for code in [0x81, 0x82, 0x83, 0x84, 0x85, 0x86] {
        let mut bytes = every_command().0[..every_command().1[0]].to_vec();
        bytes.extend(header(code, u32::MAX));
        let mut r = CommandReader::new(Tripwire(&bytes));
        r.read_command().unwrap();
        let e = r.read_command().unwrap_err();
        assert!(
            matches!(
                e,
                ProtocolError::TooLong { .. } | ProtocolError::Invalid { .. }
            ),
            "type {code:#04x}: {e:?}"
        );
    }
    let e = CommandReader::new(Tripwire(&header(0x81, 64 * 1024 + 1)))
        .read_command()
        .unwrap_err();
    assert!(
        matches!(e, ProtocolError::TooLong { max: 65536, .. }),
        "{e:?}"
    );
}

#[test]
fn another_protocol_version_is_refused_with_a_message_for_users() {
    let (ours, theirs) = (PROTOCOL_VERSION, PROTOCOL_VERSION + 1);
    let mut w = MessageWriter::hello_as(Vec::new(), theirs, &hello()).unwrap();
    w.started(&started()).unwrap();
    let e = MessageReader::handshake(&w.get_ref()[..], Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "camera helper 0.1.0-test speaks protocol {theirs}, this server speaks {ours}: \
             reinstall both binaries from the same version (./install-service.sh)"
        )
    );
    assert!(!e.is_retryable());
    // A future Hello with more fields still names the helper (its first field is frozen).
    let mut future = MAGIC.to_vec();
    future.extend(7u16.to_le_bytes());
    future.extend(header(0x01, 2 + 5 + 300));
    future.extend(5u16.to_le_bytes());
    future.extend(b"7.0.0");
    future.extend([0xAB; 300]);
    let e = MessageReader::handshake(&future[..], Limits::default()).unwrap_err();
    assert!(matches!(
        &e,
        ProtocolError::VersionMismatch { theirs: 7, ours: PROTOCOL_VERSION, helper_version: Some(v) } if v == "7.0.0"
    ));
    // Without a readable Hello the versions alone are named.
    let e = MessageReader::handshake(&future[..12], Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "camera helper speaks protocol 7, this server speaks {PROTOCOL_VERSION}: reinstall \
             both binaries from the same version (./install-service.sh)"
        )
    );
}

#[test]
fn something_else_on_stdout_is_shown_as_text() {
    let text = "/usr/local/bin/streamserver-camera: 1: Syntax error: \"(\" unexpected\n";
    let e = MessageReader::handshake(text.as_bytes(), Limits::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        format!(
            "the camera helper wrote something that is not the camera protocol: {:?} (is the \
             helper path a streamserver-camera binary?)",
            text.trim_end()
        )
    );
    assert!(!e.is_retryable());
    // At most 200 bytes of it, even from a long first write; binary is shown lossily.
    let long = [b"ELF\x7f\xff\x00".as_slice(), &[b'x'; 5000]].concat();
    let ProtocolError::NotOurProtocol { text } =
        MessageReader::handshake(&long[..], Limits::default()).unwrap_err()
    else {
        panic!("not NotOurProtocol");
    };
    assert!(text.starts_with("ELF\u{7f}\u{fffd}\u{0}xxx") && text.chars().count() == 200);
    // One byte is enough to tell; nothing at all is NoHello; the magic cut short is truncated.
    assert!(matches!(
        MessageReader::handshake(&b"x"[..], Limits::default()),
        Err(ProtocolError::NotOurProtocol { text }) if text == "x"
    ));
    let e = MessageReader::handshake(&b""[..], Limits::default()).unwrap_err();
    assert!(matches!(e, ProtocolError::NoHello), "{e:?}");
    let e = MessageReader::handshake(&MAGIC[..5], Limits::default()).unwrap_err();
    assert!(
        matches!(
            e,
            ProtocolError::Truncated {
                got: 5,
                expected: 10,
                ..
            }
        ),
        "{e:?}"
    );
}
