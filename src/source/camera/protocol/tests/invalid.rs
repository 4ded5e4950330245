//! Malformed payloads and out-of-order messages are typed errors; the writers refuse the same
//! things without writing a byte.

use super::*;

/// The error after a valid stream up to Started followed by `extra`.
fn error_after_started(extra: &[u8]) -> ProtocolError {
    let mut bytes = after_started();
    bytes.extend_from_slice(extra);
    let (messages, end) = read_messages(&bytes, Limits::default()).unwrap();
    assert_eq!(messages[0], Message::Started(started()));
    end
}

fn message(code: u8, payload: &[u8]) -> Vec<u8> {
    let mut m = header(code, payload.len() as u32);
    m.extend_from_slice(payload);
    m
}

fn reason(e: ProtocolError) -> String {
    match e {
        ProtocolError::Invalid { reason, .. } => reason,
        other => panic!("not Invalid: {other:?}"),
    }
}

fn str_field(s: &[u8]) -> Vec<u8> {
    [&(s.len() as u16).to_le_bytes()[..], s].concat()
}

#[test]
fn malformed_messages_are_typed_errors() {
    let e = error_after_started(&message(0x0a, &[]));
    assert!(matches!(e, ProtocolError::UnknownType { code: 0x0a, .. }));
    assert_eq!(
        e.to_string(),
        "the camera helper sent an unknown message type 0x0a"
    );
    // A command on the helper's stdout (a crossed pipe) is an unknown type too.
    let e = error_after_started(&message(0x82, &[1]));
    assert!(matches!(e, ProtocolError::UnknownType { code: 0x82, .. }));
    let frame = |w: u32, seq: u64| {
        let fixed = [
            &seq.to_le_bytes()[..],
            &[0; 8],
            &w.to_le_bytes(),
            &480u32.to_le_bytes(),
        ];
        message(0x03, &[&fixed.concat()[..], b"\xff\xd8"].concat())
    };
    assert_eq!(
        reason(error_after_started(&frame(0, 1))),
        "width 0 is outside 1..=65535"
    );
    assert_eq!(
        reason(error_after_started(&frame(65536, 1))),
        "width 65536 is outside 1..=65535"
    );
    let twice = [frame(640, 4), frame(640, 4)].concat();
    assert_eq!(
        reason(error_after_started(&twice)),
        "4 after 4: it must strictly increase"
    );
    let alive_back = [frame(640, 4), message(0x04, &3u64.to_le_bytes())].concat();
    assert_eq!(
        reason(error_after_started(&alive_back)),
        "3 after 4: it must strictly increase"
    );
    let e = error_after_started(&message(0x05, &[0, 0, 0]));
    assert_eq!(reason(e), "unknown failure kind 0");
    let e = error_after_started(&message(0x05, &[7, 0, 0]));
    assert_eq!(reason(e), "unknown failure kind 7");
    let e = error_after_started(&message(
        0x08,
        &[&[1, 0, 0, 0][..], &str_field(b"\xc3\x28")].concat(),
    ));
    assert!(reason(e).starts_with("RequestError.message is not UTF-8"));
    let e = error_after_started(&message(
        0x08,
        &[&[1, 0, 0, 0][..], &str_field(b"a\x1b[2Jb")].concat(),
    ));
    assert_eq!(
        reason(e),
        "RequestError.message contains control characters"
    );
    let e = error_after_started(&message(
        0x08,
        &[&[1, 0, 0, 0][..], &str_field(b"ok"), b"!"].concat(),
    ));
    assert_eq!(reason(e), "1 bytes left over after its fields");
    let e = error_after_started(&message(0x08, &[1, 0, 0, 0, 9, 0, b'a']));
    assert_eq!(reason(e), "payload ends inside RequestError.message");
    let e = error_after_started(&message(0x07, b"\x01\x00\x00\x00{\"a\": tru"));
    assert!(reason(e).starts_with("json is not JSON"));
    let e = error_after_started(&message(0x01, &[0; 6]));
    assert_eq!(reason(e), "out of order: a second Hello");
    let e = error_after_started(&after_started()[after_started().len() - 50..]);
    assert!(matches!(
        e,
        ProtocolError::UnknownType { .. } | ProtocolError::Invalid { .. }
    ));
}

#[test]
fn started_is_checked_and_comes_first_and_once() {
    let (bytes, _, _) = every_message();
    let skip_started = {
        let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
        let start = w.get_ref().len();
        w.started(&started()).unwrap();
        [&w.get_ref()[..start], &bytes[w.get_ref().len()..]].concat()
    };
    let (messages, end) = read_messages(&skip_started, Limits::default()).unwrap();
    assert!(messages.is_empty());
    assert_eq!(reason(end), "out of order: before Started");
    let again = {
        let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
        let start = w.get_ref().len();
        w.started(&started()).unwrap();
        [&w.get_ref()[..], &w.get_ref()[start..]].concat()
    };
    let (_, end) = read_messages(&again, Limits::default()).unwrap();
    assert_eq!(reason(end), "out of order: a second Started");
    for fps in [0.0, -1.0, f64::NAN, f64::INFINITY, 1000.5] {
        let mut s = Vec::new();
        s.extend(640u32.to_le_bytes());
        s.extend(480u32.to_le_bytes());
        s.extend(str_field(b"NV12"));
        s.extend(fps.to_bits().to_le_bytes());
        s.extend(str_field(b"cam"));
        s.extend(str_field(b""));
        let mut stream = MessageWriter::hello(Vec::new(), &hello())
            .unwrap()
            .get_ref()
            .clone();
        stream.extend(message(0x02, &s));
        let (_, end) = read_messages(&stream, Limits::default()).unwrap();
        assert!(reason(end).starts_with("fps "), "fps {fps}");
    }
}

#[test]
fn malformed_commands_are_typed_errors() {
    let start = message(0x81, b"{}");
    let cases: [(&[u8], &str); 6] = [
        (&message(0x82, &[1]), "out of order: before Start"),
        (
            &[&start[..], &start].concat(),
            "out of order: a second Start",
        ),
        (
            &[&start[..], &message(0x82, &[2])].concat(),
            "wanted is 2, not 0 or 1",
        ),
        (
            &[&start[..], &message(0x83, &[0])].concat(),
            "payload of 1 bytes, must be 0",
        ),
        (&message(0x81, b"{\"width\": }"), "settings is not JSON"),
        (&message(0x81, b"\xff{}"), "settings is not UTF-8"),
    ];
    for (bytes, expected) in cases {
        let (_, end) = read_commands(bytes);
        assert!(reason(end).starts_with(expected), "{expected}");
    }
    let (_, end) = read_commands(&[&start[..], &message(0x03, &[])].concat());
    assert!(matches!(
        end,
        ProtocolError::UnknownType {
            peer: Peer::Server,
            code: 0x03
        }
    ));
}

/// `send` on `w` is refused and writes nothing.
fn refuse<F>(w: &mut MessageWriter<Vec<u8>>, send: F)
where
    F: FnOnce(&mut MessageWriter<Vec<u8>>) -> Result<(), ProtocolError>,
{
    let before = w.get_ref().len();
    let e = send(w).unwrap_err();
    assert!(matches!(e, ProtocolError::Refused { .. }), "{e:?}");
    assert_eq!(w.get_ref().len(), before, "{e}: bytes were written");
}

#[test]
fn writers_refuse_what_readers_reject_and_write_nothing() {
    let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
    refuse(&mut w, |w| w.frame(&info(1), b"jpeg"));
    refuse(&mut w, |w| w.alive(1));
    refuse(&mut w, |w| w.controls_reply(1, &json!({})));
    refuse(&mut w, |w| {
        w.started(&Started {
            width: 0,
            ..started()
        })
    });
    refuse(&mut w, |w| {
        w.started(&Started {
            fps: f64::NAN,
            ..started()
        })
    });
    refuse(&mut w, |w| {
        w.started(&Started {
            format: "x".repeat(33),
            ..started()
        })
    });
    refuse(&mut w, |w| {
        w.started(&Started {
            model: "a\u{7}b".into(),
            ..started()
        })
    });
    w.started(&started()).unwrap();
    refuse(&mut w, |w| w.started(&started()));
    w.frame(&info(10), b"jpeg").unwrap();
    refuse(&mut w, |w| w.frame(&info(10), b"jpeg"));
    refuse(&mut w, |w| w.alive(9));
    refuse(&mut w, |w| w.frame(&info(11), b""));
    refuse(&mut w, |w| {
        w.frame(
            &FrameInfo {
                width: 70000,
                ..info(11)
            },
            b"j",
        )
    });
    refuse(&mut w, |w| w.still_result(1, 0, 1, b"j"));
    let huge = vec!["x".repeat(1000); 300];
    refuse(&mut w, |w| w.controls_reply(1, &huge));
    w.frame(&info(11), b"jpeg").unwrap();
    // Everything that was sent reads back.
    let (messages, end) = read_messages(w.get_ref(), Limits::default()).unwrap();
    assert_eq!(messages.len(), 3);
    assert!(end.is_closed());

    let mut c = CommandWriter::new(Vec::new());
    assert!(matches!(c.demand(true), Err(ProtocolError::Refused { .. })));
    let big = "x".repeat(MAX_SETTINGS_BYTES);
    assert!(matches!(c.start(&big), Err(ProtocolError::Refused { .. })));
    assert!(c.get_ref().is_empty());
    c.start(&json!({})).unwrap();
    assert!(matches!(
        c.start(&json!({})),
        Err(ProtocolError::Refused { .. })
    ));
    let e = c
        .set_controls(1, &vec![0u8; MAX_SET_CONTROLS_BYTES])
        .unwrap_err();
    assert!(
        e.to_string().starts_with("not sent: SetControls: JSON of"),
        "{e}"
    );
    assert_eq!(read_commands(c.get_ref()).0.len(), 1);
}

#[test]
fn long_failure_text_is_cut_at_a_character_boundary() {
    let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
    let text = format!("x{}", "é".repeat(3000));
    w.failed(FailureKind::Libcamera, &text).unwrap();
    let (messages, _) = read_messages(w.get_ref(), Limits::default()).unwrap();
    let [Message::Failed(f)] = &messages[..] else {
        panic!("{messages:?}");
    };
    assert_eq!(f.message.len(), MAX_TEXT_BYTES - 1);
    assert!(text.starts_with(&f.message));
    assert_eq!(f.to_string(), format!("libcamera: {}", f.message));
}

#[test]
fn failure_kinds_have_stable_codes_and_classes() {
    for (code, kind) in (1..).zip(FailureKind::ALL) {
        assert_eq!(kind as u8, code);
        assert_eq!(FailureKind::from_code(code), Some(kind));
        assert_eq!(kind.is_retryable(), kind != FailureKind::Config);
    }
    assert_eq!(FailureKind::from_code(0), None);
    assert_eq!(FailureKind::from_code(7), None);
}
