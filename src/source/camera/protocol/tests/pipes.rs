//! Real OS pipes between threads, and writers that take a few bytes at a time.

use std::thread;

use super::*;

/// Accepts at most 3 bytes a call, fails every other call with `Interrupted`, and has no
/// vectored write of its own (the default writes only the first slice).
struct Dribble {
    out: Vec<u8>,
    calls: usize,
}

impl Write for Dribble {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.calls += 1;
        if self.calls.is_multiple_of(2) {
            return Err(io::ErrorKind::Interrupted.into());
        }
        let n = buf.len().min(3);
        self.out.extend_from_slice(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn partial_and_interrupted_writes_go_on_where_they_stopped() {
    let (expected, _, messages) = every_message();
    let mut w = MessageWriter::hello(
        Dribble {
            out: Vec::new(),
            calls: 0,
        },
        &hello(),
    )
    .unwrap();
    w.started(&started()).unwrap();
    for m in &messages[1..] {
        match m {
            Message::Frame(f) => w.frame(&f.info, &f.jpeg),
            Message::Alive { seq } => w.alive(*seq),
            Message::StillResult {
                id,
                width,
                height,
                jpeg,
            } => w.still_result(*id, *width, *height, jpeg),
            Message::ControlsReply { id, json } => {
                let value: serde_json::Value = serde_json::from_str(json).unwrap();
                w.controls_reply(*id, &value)
            }
            Message::RequestError { id, message } => w.request_error(*id, message),
            Message::Failed(f) => w.failed(f.kind, &f.message),
            Message::Started(_) => unreachable!(),
        }
        .unwrap();
    }
    assert_eq!(w.get_ref().out, expected);
    assert!(w.get_ref().calls > expected.len() / 3);
}

#[test]
fn a_writer_whose_pipe_is_closed_gets_an_io_error() {
    let (reader, writer) = io::pipe().unwrap();
    drop(reader);
    let e = MessageWriter::hello(writer, &hello()).err().unwrap();
    let ProtocolError::Io { peer, source } = &e else {
        panic!("{e:?}");
    };
    assert_eq!(
        (*peer, source.kind()),
        (Peer::Server, io::ErrorKind::BrokenPipe)
    );
}

#[test]
fn frames_cross_a_real_pipe_both_ways() {
    const FRAMES: u64 = 20;
    const JPEG_BYTES: usize = 300 * 1024;
    let (from_helper, helper_out) = io::pipe().unwrap();
    let (helper_in, to_helper) = io::pipe().unwrap();
    // The helper: hello, then obeys commands; frames go out while wanted.
    let helper = thread::Builder::new()
        .name("test-helper".into())
        .spawn(move || -> Result<u64, ProtocolError> {
            let mut out = MessageWriter::hello(helper_out, &hello())?;
            let mut commands = CommandReader::new(helper_in);
            let mut seq = 0;
            loop {
                match commands.read_command() {
                    Ok(Command::Start { .. }) => out.started(&started())?,
                    Ok(Command::Demand { wanted: true }) => {
                        for _ in 0..FRAMES {
                            seq += 1;
                            out.frame(&info(seq), &jpeg(JPEG_BYTES, seq as u8))?;
                        }
                    }
                    Ok(Command::Demand { wanted: false }) => {
                        seq += 5;
                        out.alive(seq)?;
                    }
                    Ok(Command::Still { id } | Command::ListControls { id }) => {
                        out.request_error(id, "not supported by this helper")?
                    }
                    Ok(Command::SetControls { id, .. }) => out.request_error(id, "no")?,
                    Ok(Command::Stop) | Err(ProtocolError::Closed { .. }) => return Ok(seq),
                    Err(e) => return Err(e),
                }
            }
        })
        .unwrap();
    let (mut messages, hello_seen) =
        MessageReader::handshake(from_helper, Limits::default()).unwrap();
    assert_eq!(hello_seen, hello());
    let mut commands = CommandWriter::new(to_helper);
    commands.start(&json!({"width": 640})).unwrap();
    assert_eq!(
        messages.read_message().unwrap(),
        Message::Started(started())
    );
    commands.demand(true).unwrap();
    for seq in 1..=FRAMES {
        let Message::Frame(f) = messages.read_message().unwrap() else {
            panic!("not a frame");
        };
        assert_eq!(f.info, info(seq));
        assert_eq!(f.jpeg, jpeg(JPEG_BYTES, seq as u8));
    }
    commands.demand(false).unwrap();
    assert_eq!(
        messages.read_message().unwrap(),
        Message::Alive { seq: FRAMES + 5 }
    );
    commands.still(77).unwrap();
    let reply = messages.read_message().unwrap();
    assert!(
        matches!(reply, Message::RequestError { id: 77, .. }),
        "{reply:?}"
    );
    drop(commands); // closing the helper's stdin stops it, as Stop would
    assert_eq!(helper.join().unwrap().unwrap(), FRAMES + 5);
    let end = messages.read_message().unwrap_err();
    assert!(
        matches!(end, ProtocolError::Closed { peer: Peer::Helper }),
        "{end:?}"
    );
}
