//! Unit tests of the protocol output: what the server's reader gets from frames, refusals,
//! oversized JPEGs, idle frames (Alive pacing), a dead pipe, and frames through shared memory
//! (encoded straight into a lent slot; copied into one or inline when none was free or the JPEG
//! does not fit; an abandoned slot FREE again).

use std::io;
use std::os::fd::AsFd;
use std::thread::sleep;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use streamserver::source::camera::protocol::{Hello, Limits, Message, MessageReader};
use streamserver::source::camera::shm::{FrameRegion, ShmLayout, FREE, LEASED, SENT, WRITING};

use super::*;

/// A `Write` whose bytes the test reads afterwards.
#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A pipe whose reader is gone.
struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::ErrorKind::BrokenPipe.into())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn hello() -> Hello {
    Hello {
        helper_version: "test".into(),
        libcamera_built: "none".into(),
        libcamera_loaded: "none".into(),
    }
}

fn started() -> Started {
    Started {
        width: 64,
        height: 48,
        format: "YUV420".into(),
        fps: 30.0,
        camera_id: "synthetic".into(),
        model: "test".into(),
    }
}

fn output() -> (ProtocolOutput<Shared>, Shared) {
    let buf = Shared::default();
    let out = ProtocolOutput::new(MessageWriter::hello(buf.clone(), &hello()).unwrap());
    out.started(&started()).unwrap();
    (out, buf)
}

/// Everything the server's reader gets from `buf`.
fn messages(buf: &Shared) -> Vec<Message> {
    read_all(buf, None)
}

/// Everything the server's reader gets from `buf`, leasing FrameShm slots from `region`.
fn read_all(buf: &Shared, region: Option<&Arc<FrameRegion>>) -> Vec<Message> {
    let bytes = buf.0.lock().unwrap().clone();
    let limits = Limits {
        max_frame_bytes: 100_000,
        ..Limits::default()
    };
    let (mut reader, _) = MessageReader::handshake(&bytes[..], limits).unwrap();
    if let Some(region) = region {
        reader.share_frames(region.clone());
    }
    let mut out = Vec::new();
    loop {
        match reader.read_message() {
            Ok(m) => out.push(m),
            Err(e) if e.is_closed() => return out,
            Err(e) => panic!("the server's reader refuses the stream: {e}"),
        }
    }
}

fn meta(seq: u64) -> FrameMeta {
    FrameMeta {
        captured_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
        width: 64,
        height: 48,
        frame_seq: seq,
    }
}

fn frame(seq: u64, len: usize) -> EncodedFrame {
    EncodedFrame {
        jpeg: Bytes::from(vec![0xAB; len]),
        meta: meta(seq),
    }
}

#[test]
fn frames_carry_the_frame_number_and_capture_time_and_stale_or_big_ones_are_dropped() {
    let (out, buf) = output();
    out.set_max_frame_bytes(1000);
    out.publish(frame(3, 100));
    out.publish(frame(2, 100)); // finished after a newer one went out: refused, dropped
    out.publish(frame(4, 1001)); // over max_frame_bytes: dropped, not a protocol error
    out.publish(frame(5, 1000));
    assert_eq!(out.dropped(), 2);
    assert!(!out.is_broken());
    let got = messages(&buf);
    assert!(matches!(&got[0], Message::Started(s) if *s == started()));
    let frames: Vec<(u64, u64, usize)> = got[1..]
        .iter()
        .map(|m| match m {
            Message::Frame(f) => (f.info.seq, f.info.captured_unix_ns, f.jpeg.len()),
            other => panic!("{other:?}"),
        })
        .collect();
    let ns = 1_700_000_000_123_000_000;
    assert_eq!(frames, [(3, ns, 100), (5, ns, 1000)]);
}

#[test]
fn idle_frames_become_an_alive_after_the_interval_once_each() {
    let (out, buf) = output();
    out.set_wanted(false);
    assert!(
        !out.in_demand(Duration::ZERO),
        "Demand false is what the pool asks"
    );
    assert!(!out.alive_if_due().unwrap(), "nothing captured yet");
    out.idle_frame(7);
    out.idle_frame(6); // numbers only go forward
    let t = Instant::now();
    let mut sent = false;
    while !sent && t.elapsed() < ALIVE_INTERVAL * 4 {
        sent = out.alive_if_due().unwrap();
        sleep(Duration::from_millis(5));
    }
    assert!(sent, "an Alive within the interval");
    assert!(t.elapsed() >= ALIVE_INTERVAL - Duration::from_millis(50));
    sleep(ALIVE_INTERVAL);
    assert!(
        !out.alive_if_due().unwrap(),
        "no new frame: no second Alive"
    );
    out.idle_frame(8);
    assert!(out.alive_if_due().unwrap());
    out.set_wanted(true);
    assert!(out.in_demand(Duration::ZERO));
    let got = messages(&buf);
    assert_eq!(
        got[1..],
        [Message::Alive { seq: 7 }, Message::Alive { seq: 8 }]
    );
}

#[test]
fn a_dead_pipe_breaks_the_output_and_nothing_more_is_written() {
    // Hello succeeds on a live pipe; the server then goes away.
    struct Until(Arc<AtomicBool>);
    impl Write for Until {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            if self.0.load(Relaxed) {
                Closed.write(b)
            } else {
                Ok(b.len())
            }
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    let gone = Arc::new(AtomicBool::new(false));
    let out = ProtocolOutput::new(MessageWriter::hello(Until(gone.clone()), &hello()).unwrap());
    gone.store(true, Relaxed);
    let err = out.started(&started()).unwrap_err();
    assert!(matches!(err, ProtocolError::Io { .. }), "{err}");
    assert!(out.is_broken());
    out.publish(frame(1, 10));
    assert_eq!(out.dropped(), 1);
    assert!(out.failed(FailureKind::Other, "x").is_err());
}

/// A one-worker encode pool publishing into `out`; the closure offers test-pattern frame `n`
/// of `width`×`height` and waits for the worker to finish it.
fn pool_of<W: Write + Send + 'static>(
    out: &ProtocolOutput<W>,
    width: usize,
    height: usize,
) -> impl FnMut(u64) {
    let settings = HelperSettings {
        stream: "t".into(),
        camera: Default::default(),
        encoder: EncoderConfig {
            workers: 1,
            ..EncoderConfig::default()
        },
        overlay: Default::default(),
        controls: Default::default(),
        max_frame_bytes: 100_000,
        shared_frames: None,
    };
    let mut pool = encode_pool(&settings, out).unwrap();
    let mut pattern = streamserver::source::test_pattern::Pattern::new("t", width, height, 30.0);
    let format = streamserver::config::PixelFormat::Yuv420;
    move |n| {
        pool.offer(
            &pattern.draw(n, SystemTime::now(), format),
            SystemTime::now(),
        )
        .unwrap();
        sleep(Duration::from_millis(100)); // the one worker finishes
    }
}

#[test]
fn the_pool_encodes_into_the_output_until_demand_stops() {
    let (out, buf) = output();
    out.set_max_frame_bytes(100_000);
    let mut offer = pool_of(&out, 64, 48);
    offer(1);
    out.set_wanted(false);
    offer(2);
    offer(3);
    drop(offer); // and the pool it holds
    let got = messages(&buf);
    assert_eq!(got.len(), 2, "{got:?}");
    let Message::Frame(f) = &got[1] else {
        panic!("{got:?}")
    };
    assert_eq!((f.info.seq, f.info.width, f.info.height), (1, 64, 48));
    assert_eq!(&f.jpeg[..2], &[0xFF, 0xD8]);
    assert_eq!(out.inner.idle_seq.load(Relaxed), 3);
}

/// An output that hands frames over through a region of shared memory, which the test reads
/// as the server does.
fn shared_output() -> (ProtocolOutput<Shared>, Shared, Arc<FrameRegion>) {
    shared_output_of(100_000)
}

/// [`shared_output`] with slots of `slot_bytes` rounded up to whole pages.
fn shared_output_of(slot_bytes: usize) -> (ProtocolOutput<Shared>, Shared, Arc<FrameRegion>) {
    let (out, buf) = output();
    out.set_max_frame_bytes(100_000);
    let layout = ShmLayout::for_frames(slot_bytes);
    let (region, fd) = FrameRegion::create("output", layout).unwrap();
    out.share_frames(SlotWriter::open(fd.as_fd(), &layout).unwrap());
    (out, buf, region)
}

fn shared_messages(buf: &Shared, region: &Arc<FrameRegion>) -> Vec<Message> {
    read_all(buf, Some(region))
}

#[test]
fn frames_go_through_free_slots_and_inline_when_the_server_holds_every_one() {
    let (out, buf, region) = shared_output();
    for seq in 1..=10 {
        out.publish(frame(seq, 1000 + seq as usize));
    }
    out.publish(frame(7, 100)); // refused (stale): its slot is not kept
    assert_eq!((out.dropped(), out.inline_frames()), (1, 2));
    // The server had not read any: 8 slots SENT, the 9th and 10th frames inline.
    let got = shared_messages(&buf, &region);
    let frames: Vec<_> = got[1..]
        .iter()
        .map(|m| match m {
            Message::Frame(f) => (f.info.seq, f.jpeg.len(), region.contains(&f.jpeg)),
            other => panic!("{other:?}"),
        })
        .collect();
    let expected: Vec<_> = (1..=10u64)
        .map(|s| (s, 1000 + s as usize, s <= 8))
        .collect();
    assert_eq!(frames, expected);
    assert_eq!(region.leased(), 8);
    drop(got);
    assert_eq!(region.leased(), 0);
    out.publish(frame(11, 500));
    assert_eq!(region.state_of(0), Some(SENT), "the lowest free slot again");
    assert_eq!(out.inline_frames(), 2);
}

#[test]
fn a_frame_whose_message_cannot_be_sent_frees_its_slot() {
    let (out, _buf, region) = shared_output();
    out.publish(frame(5, 100));
    assert_eq!(region.state_of(0), Some(SENT));
    out.publish(frame(4, 100)); // refused: stale
    out.publish(frame(5, 100)); // refused: not after 5
    assert_eq!(region.state_of(1), Some(FREE));
    assert_eq!((out.dropped(), out.inline_frames()), (2, 0));
}

#[test]
fn the_pool_encodes_straight_into_a_free_slot_lent_to_it() {
    let (out, buf, region) = shared_output();
    let mut offer = pool_of(&out, 64, 48);
    offer(1); // the pool's frame 1, into slot 0
    drop(offer);
    assert_eq!(region.state_of(0), Some(SENT));
    let mut lent = out.lend().expect("a free slot");
    assert_eq!(region.state_of(1), Some(WRITING));
    lent.buf()[..4].copy_from_slice(b"\xFF\xD8..");
    lent.publish(4, meta(2));
    assert_eq!(region.state_of(1), Some(SENT));
    assert_eq!(out.inline_frames(), 0);
    let got = shared_messages(&buf, &region);
    let frames: Vec<_> = got[1..]
        .iter()
        .map(|m| match m {
            Message::Frame(f) => (f.info.seq, region.contains(&f.jpeg), f.jpeg[..2].to_vec()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        frames,
        [(1, true, vec![0xFF, 0xD8]), (2, true, vec![0xFF, 0xD8])]
    );
    assert_eq!(
        (region.state_of(1), region.state_of(2)),
        (Some(LEASED), Some(FREE))
    );
}

#[test]
fn a_slot_lent_but_not_sent_is_free_again() {
    let (out, _buf, region) = shared_output();
    drop(out.lend().unwrap()); // the encode failed, the frame was overtaken, the pool stopped
    assert_eq!(region.state_of(0), Some(FREE));
    let mut lent = out.lend().unwrap();
    lent.buf()[..4].copy_from_slice(b"jpeg");
    out.set_max_frame_bytes(3);
    lent.publish(4, meta(1)); // over max_frame_bytes: dropped, not sent
    assert_eq!((region.state_of(0), out.dropped()), (Some(FREE), 1));
}

#[test]
fn a_jpeg_larger_than_a_slot_goes_inline_and_leaves_the_slot_free() {
    let (out, buf, region) = shared_output_of(1); // one page: a 640×480 JPEG does not fit
    let mut offer = pool_of(&out, 640, 480);
    offer(1);
    drop(offer);
    let got = shared_messages(&buf, &region);
    let Message::Frame(f) = &got[1] else {
        panic!("{got:?}")
    };
    assert!(
        f.jpeg.len() > region.layout().slot_bytes,
        "{}",
        f.jpeg.len()
    );
    assert!(!region.contains(&f.jpeg), "inline");
    assert_eq!(&f.jpeg[..2], &[0xFF, 0xD8]);
    assert_eq!((region.state_of(0), out.inline_frames()), (Some(FREE), 1));
}
