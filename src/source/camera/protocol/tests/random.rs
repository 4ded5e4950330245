//! Random input: byte streams (alone, and after a valid start) never panic, end in an error
//! after at most one message per header, and what they yield respects every bound; random
//! valid messages round-trip.

use proptest::prelude::*;

use super::*;

/// Small, so that random lengths cross them with the bytes present.
const LIMITS: Limits = Limits {
    max_frame_bytes: 48,
    max_still_bytes: 96,
};

/// Checks every bound on a message that was read.
fn assert_bounded(m: &Message) {
    let (jpeg, max) = match m {
        Message::Frame(f) => (Some(&f.jpeg), LIMITS.max_frame_bytes),
        Message::StillResult { jpeg, .. } => (Some(jpeg), LIMITS.max_still_bytes),
        _ => (None, 0),
    };
    if let Some(jpeg) = jpeg {
        assert!(!jpeg.is_empty() && jpeg.len() <= max);
    }
    match m {
        Message::Started(s) => {
            assert!(s.format.len() <= MAX_FORMAT_BYTES && s.camera_id.len() <= MAX_CAMERA_ID_BYTES);
            assert!(s.model.len() <= MAX_MODEL_BYTES && s.fps > 0.0 && s.fps <= MAX_FPS);
            assert!(s.width >= 1 && s.height <= MAX_DIMENSION);
        }
        Message::Failed(f) => assert!(f.message.len() <= MAX_TEXT_BYTES),
        Message::RequestError { message, .. } => assert!(message.len() <= MAX_TEXT_BYTES),
        Message::ControlsReply { json, .. } => assert!(json.len() <= MAX_CONTROLS_REPLY_BYTES),
        _ => {}
    }
}

/// Reads `bytes` as a helper's stdout to the end; returns how many messages it yielded.
fn drain_messages(bytes: &[u8]) -> usize {
    let Ok((mut r, hello)) = MessageReader::handshake(bytes, LIMITS) else {
        return 0;
    };
    assert!(hello.helper_version.len() <= MAX_VERSION_BYTES);
    let mut count = 0;
    while let Ok(m) = r.read_message() {
        assert_bounded(&m);
        count += 1;
        assert!(
            count <= bytes.len() / HEADER_MIN,
            "more messages than headers fit"
        );
    }
    count
}

fn drain_commands(bytes: &[u8]) -> usize {
    let mut r = CommandReader::new(bytes);
    let mut count = 0;
    while let Ok(c) = r.read_command() {
        if let Command::Start { settings_json: j } | Command::SetControls { json: j, .. } = &c {
            assert!(j.len() <= MAX_SETTINGS_BYTES);
        }
        count += 1;
        assert!(count <= bytes.len() / HEADER_MIN);
    }
    count
}

const HEADER_MIN: usize = 5;

/// Random bytes, biased towards headers of real types with small lengths, and Frames and
/// StillResults with plausible fields and a JPEG around the limits.
fn stream() -> impl Strategy<Value = Vec<u8>> {
    let codes = vec![
        2u8, 3, 4, 5, 6, 7, 8, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0, 0xff,
    ];
    let headers =
        (prop::sample::select(codes), 0u32..200).prop_map(|(code, len)| header(code, len));
    let picture = (any::<bool>(), 0u32..160, any::<u64>(), 0u32..3, 0usize..160).prop_map(
        |(frame, jpeg_len, seq, dim, body)| {
            let (code, fixed) = if frame { (3, 24) } else { (6, 12) };
            let fields = if frame {
                [
                    &seq.to_le_bytes()[..],
                    &seq.to_le_bytes(),
                    &dim.to_le_bytes(),
                    &1u32.to_le_bytes(),
                ]
                .concat()
            } else {
                [
                    &dim.to_le_bytes()[..],
                    &dim.to_le_bytes(),
                    &1u32.to_le_bytes(),
                ]
                .concat()
            };
            [header(code, fixed + jpeg_len), fields, vec![0xd8; body]].concat()
        },
    );
    let chunk = prop_oneof![headers, picture, prop::collection::vec(any::<u8>(), 0..64)];
    prop::collection::vec(chunk, 0..24).prop_map(|c| c.concat())
}

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 é✓\n\t]{0,40}"
}

/// At most 32 bytes (the smallest `str` bound), non-ASCII included.
fn ident() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_/@.é]{0,16}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn random_bytes_never_panic_and_respect_bounds(tail in stream(), raw in prop::collection::vec(any::<u8>(), 0..64)) {
        drain_messages(&raw);
        drain_messages(&[&MAGIC[..], &raw].concat());
        drain_messages(&[&after_started()[..], &tail].concat());
        drain_commands(&raw);
        drain_commands(&tail);
        drain_commands(&[&header(0x81, 2)[..], b"{}", &tail].concat());
    }

    #[test]
    fn random_valid_messages_round_trip(
        (width, height) in (1..=MAX_DIMENSION, 1..=MAX_DIMENSION),
        fps in 0.001f64..=MAX_FPS,
        (format, camera_id, model, message) in (ident(), ident(), ident(), text()),
        seqs in prop::collection::btree_set(any::<u64>(), 1..6),
        stamp in any::<u64>(),
        frame_len in 1usize..=LIMITS.max_frame_bytes,
        kind in prop::sample::select(FailureKind::ALL.to_vec()),
    ) {
        let s = Started { width, height, format, fps, camera_id, model };
        let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
        w.started(&s).unwrap();
        let mut expected = vec![Message::Started(s)];
        for (i, &seq) in seqs.iter().enumerate() {
            let info = FrameInfo { seq, captured_unix_ns: stamp, width, height };
            if i % 2 == 0 {
                let jpeg = jpeg(frame_len, i as u8);
                w.frame(&info, &jpeg).unwrap();
                expected.push(Message::Frame(Frame { info, jpeg: Bytes::from(jpeg) }));
            } else {
                w.alive(seq).unwrap();
                expected.push(Message::Alive { seq });
            }
        }
        w.failed(kind, &message).unwrap();
        expected.push(Message::Failed(Failure { kind, message }));
        let (messages, end) = read_messages(w.get_ref(), LIMITS).unwrap();
        prop_assert_eq!(messages, expected);
        prop_assert!(end.is_closed());
    }
}
