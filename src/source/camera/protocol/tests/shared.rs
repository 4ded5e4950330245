//! FrameShm: frames in shared memory read as Frames that lease their slot, next to inline
//! ones; every field the server cannot accept is a protocol error naming it.

use std::os::fd::AsFd;
use std::sync::Arc;

use super::*;
use crate::source::camera::shm::{FrameRegion, ShmLayout, SlotWriter, FREE, LEASED};

/// A region of 8 one-page slots and the helper's writer of it.
fn region() -> (Arc<FrameRegion>, SlotWriter) {
    let layout = ShmLayout::for_frames(1000);
    let (region, fd) = FrameRegion::create("protocol", layout).unwrap();
    (region, SlotWriter::open(fd.as_fd(), &layout).unwrap())
}

/// Reads the stream `bytes` with `region` shared: its messages and the error that ends it.
fn read_shared(
    bytes: &[u8],
    limits: Limits,
    region: Option<&Arc<FrameRegion>>,
) -> (Vec<Message>, ProtocolError) {
    let (mut r, _) = MessageReader::handshake(bytes, limits).unwrap();
    if let Some(region) = region {
        r.share_frames(region.clone());
    }
    let mut messages = Vec::new();
    loop {
        match r.read_message() {
            Ok(m) => messages.push(m),
            Err(e) => return (messages, e),
        }
    }
}

/// A FrameShm message's bytes, fields as given (the writer refuses some of these).
fn frame_shm(seq: u64, slot: u32, len: u32) -> Vec<u8> {
    let mut m = header(0x09, 32);
    m.extend(seq.to_le_bytes());
    m.extend(1_700_000_000_000_000_000u64.to_le_bytes());
    m.extend(640u32.to_le_bytes());
    m.extend(480u32.to_le_bytes());
    m.extend(slot.to_le_bytes());
    m.extend(len.to_le_bytes());
    m
}

#[test]
fn frames_in_shared_memory_are_read_as_frames_leasing_their_slot_next_to_inline_ones() {
    let (region, slots) = region();
    let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
    w.started(&started()).unwrap();
    let first = jpeg(900, 1);
    let sent = slots.write(&first).unwrap();
    w.frame_shm(&info(1), sent.slot, sent.len).unwrap();
    let message_bytes = w.get_ref().len() - after_started().len();
    assert_eq!(message_bytes, 5 + 32, "a FrameShm is 37 bytes on the pipe");
    w.frame(&info(2), &jpeg(300, 2)).unwrap();
    let sent = slots.write(&jpeg(1000, 3)).unwrap();
    w.frame_shm(&info(3), sent.slot, sent.len).unwrap();
    let (messages, end) = read_shared(w.get_ref(), Limits::default(), Some(&region));
    assert!(end.is_closed(), "{end}");
    let frames: Vec<&Frame> = messages
        .iter()
        .filter_map(|m| match m {
            Message::Frame(f) => Some(f),
            _ => None,
        })
        .collect();
    assert_eq!(frames.len(), 3);
    assert_eq!(frames[0].info, info(1));
    assert_eq!(frames[0].jpeg, first);
    assert!(region.contains(&frames[0].jpeg));
    assert!(
        !region.contains(&frames[1].jpeg),
        "an inline frame is the reader's own"
    );
    assert_eq!(frames[1].jpeg, jpeg(300, 2));
    assert_eq!(frames[2].jpeg, jpeg(1000, 3));
    assert_eq!(
        (region.state_of(0), region.state_of(1)),
        (Some(LEASED), Some(LEASED))
    );
    drop(messages);
    assert_eq!(
        (region.state_of(0), region.state_of(1)),
        (Some(FREE), Some(FREE))
    );
}

#[test]
fn the_writer_refuses_a_frame_shm_like_a_frame() {
    let mut w = MessageWriter::hello(Vec::new(), &hello()).unwrap();
    refuse(&mut w, |w| w.frame_shm(&info(1), 0, 10));
    w.started(&started()).unwrap();
    w.frame_shm(&info(5), 0, 10).unwrap();
    refuse(&mut w, |w| w.frame(&info(5), b"jpeg"));
    refuse(&mut w, |w| w.frame_shm(&info(4), 1, 10));
    refuse(&mut w, |w| w.frame_shm(&info(6), 1, 0));
}

fn refuse(
    w: &mut MessageWriter<Vec<u8>>,
    f: impl FnOnce(&mut MessageWriter<Vec<u8>>) -> Result<(), ProtocolError>,
) {
    let before = w.get_ref().len();
    let e = f(w).unwrap_err();
    assert!(matches!(e, ProtocolError::Refused { .. }), "{e:?}");
    assert_eq!(w.get_ref().len(), before, "nothing written");
}

#[test]
fn a_frame_shm_the_server_cannot_accept_is_an_error_naming_the_field() {
    let (region, slots) = region();
    let slot_bytes = region.layout().slot_bytes;
    let limits = Limits {
        max_frame_bytes: 2000,
        ..Limits::default()
    };
    let error = |messages: &[Vec<u8>], region: Option<&Arc<FrameRegion>>, limits| {
        let mut bytes = after_started();
        messages.iter().for_each(|m| bytes.extend(m));
        let (_, end) = read_shared(&bytes, limits, region);
        end.to_string()
    };
    let sent = slots.write(&[7; 100]).unwrap();
    // (messages after Started, the region shared, the limits, the error expected)
    type Case<'a> = (&'a [Vec<u8>], Option<&'a Arc<FrameRegion>>, Limits, String);
    let cases: [Case; 7] = [
        (
            &[frame_shm(1, sent.slot, 100)],
            None,
            limits,
            "an invalid FrameShm: no shared memory was offered to this helper".into(),
        ),
        (
            &[frame_shm(1, 8, 100)],
            Some(&region),
            limits,
            "an invalid FrameShm.slot: slot 8 is not one of the 8 slots".into(),
        ),
        (
            &[frame_shm(1, u32::MAX, 100)],
            Some(&region),
            limits,
            "an invalid FrameShm.slot: slot 4294967295 is not one of the 8 slots".into(),
        ),
        (
            &[frame_shm(1, 1, 100)],
            Some(&region),
            limits,
            "an invalid FrameShm.slot: slot 1 is FREE, not SENT".into(),
        ),
        (
            &[frame_shm(1, sent.slot, 0)],
            Some(&region),
            limits,
            format!("an invalid FrameShm.len: len 0 is outside 1..={slot_bytes}"),
        ),
        (
            &[frame_shm(1, sent.slot, 2001)],
            Some(&region),
            limits,
            "FrameShm.len of 2001 bytes, over the limit of 2000 bytes (max_frame_bytes)".into(),
        ),
        (
            &[frame_shm(1, sent.slot, slot_bytes as u32 + 1)],
            Some(&region),
            Limits::default(),
            format!(
                "an invalid FrameShm.len: len {} is outside 1..={slot_bytes} (the slot's size)",
                slot_bytes + 1
            ),
        ),
    ];
    for (messages, region, limits, expected) in cases {
        let e = error(messages, region, limits);
        assert!(e.starts_with("the camera helper sent "), "{e}");
        assert!(e.contains(&expected), "{e}\nexpected: {expected}");
    }
    assert_eq!(region.leased(), 0, "no refused message leased a slot");
    // The same slot named twice while the server holds it.
    let e = error(
        &[frame_shm(1, sent.slot, 100), frame_shm(2, sent.slot, 100)],
        Some(&region),
        limits,
    );
    assert!(
        e.contains("FrameShm.slot: slot 0 is still leased by the server"),
        "{e}"
    );
    // Its seq counts with Frame's and Alive's; before Started it is out of order.
    let sent = slots.write(&[7; 100]).unwrap();
    let e = error(
        &[frame_shm(5, sent.slot, 100), frame_shm(5, 1, 100)],
        Some(&region),
        limits,
    );
    assert!(e.contains("seq: 5 after 5"), "{e}");
    let mut early = MessageWriter::hello(Vec::new(), &hello())
        .unwrap()
        .get_ref()
        .clone();
    early.extend(frame_shm(1, 0, 100));
    let (_, end) = read_shared(&early, limits, Some(&region));
    assert!(
        end.to_string()
            .contains("FrameShm: out of order: before Started"),
        "{end}"
    );
}
