//! The shared memory for frames in one process (server and helper sides both mapping a real
//! sealed memfd): layouts, the lease lifecycle, exhaustion, a region outliving its helper, the
//! helper's checks of what it inherited, the hand-over to a child, and both sides racing.

use std::os::fd::{AsFd, AsRawFd, FromRawFd, IntoRawFd, OwnedFd};
use std::process::Command;
use std::sync::atomic::Ordering::Release;
use std::sync::Arc;

use super::*;

/// A region named `name` with 8 slots of one page, and the helper's writer of it.
fn pair(name: &str) -> (Arc<FrameRegion>, SlotWriter) {
    let layout = ShmLayout::for_frames(1000);
    let (region, fd) = FrameRegion::create(name, layout).unwrap();
    let writer = SlotWriter::open(fd.as_fd(), &layout).unwrap();
    (region, writer)
}

/// The lines of `/proc/self/maps` that map region `name`.
fn mapped(name: &str) -> usize {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let needle = format!("memfd:streamserver-frames-{name} ");
    maps.lines().filter(|l| l.contains(&needle)).count()
}

/// The descriptors of this process that are region `name`.
fn open_fds(name: &str) -> usize {
    let needle = format!("memfd:streamserver-frames-{name} ");
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().contains(&needle))
        .count()
}

#[test]
fn a_layout_is_whole_pages_and_a_bad_one_is_refused() {
    let page = page_size();
    let l = ShmLayout::for_frames(1);
    assert_eq!(
        (l.fd, l.slots, l.slot_bytes, l.header_bytes),
        (3, 8, page, page)
    );
    assert_eq!(ShmLayout::for_frames(page + 1).slot_bytes, 2 * page);
    assert_eq!(ShmLayout::for_frames(16 << 20).slot_bytes % page, 0);
    assert_eq!(l.total_bytes().unwrap(), 9 * page);
    let bad = |l: ShmLayout| l.total_bytes().unwrap_err().to_string();
    assert!(bad(ShmLayout { slots: 0, ..l }).contains("0 slots"));
    assert!(bad(ShmLayout { slots: 65, ..l }).contains("65 slots"));
    assert!(bad(ShmLayout { slot_bytes: 0, ..l }).contains("0 bytes"));
    assert!(bad(ShmLayout {
        header_bytes: 64,
        ..l
    })
    .contains("header of 64"));
    assert!(bad(ShmLayout {
        header_bytes: 4097,
        ..l
    })
    .contains("multiple of 8"));
    let huge = ShmLayout {
        slot_bytes: usize::MAX / 4,
        ..l
    };
    assert!(bad(huge).contains("larger than memory"));
}

#[test]
fn a_slot_is_free_again_only_after_every_clone_of_its_frame_drops() {
    let (region, writer) = pair("lifecycle");
    let sent = writer.write(b"\xFF\xD8 first \xFF\xD9").unwrap();
    assert_eq!(sent, Sent { slot: 0, len: 11 });
    assert_eq!(region.state_of(0), Some(SENT));
    let frame = region.lease(0, 11).unwrap();
    assert_eq!(&frame[..], b"\xFF\xD8 first \xFF\xD9");
    assert!(region.contains(&frame));
    assert_eq!((region.state_of(0), region.leased()), (Some(LEASED), 1));
    let clone = frame.clone();
    let part = frame.slice(2..7);
    drop(frame);
    assert_eq!(region.state_of(0), Some(LEASED), "a clone still holds it");
    assert_eq!(writer.write(b"second").unwrap().slot, 1, "slot 0 is taken");
    drop(clone);
    assert_eq!(&part[..], b" firs");
    assert_eq!(
        region.state_of(0),
        Some(LEASED),
        "a slice of it still holds it"
    );
    drop(part);
    assert_eq!((region.state_of(0), region.leased()), (Some(FREE), 0));
    assert_eq!(
        writer.write(b"third").unwrap().slot,
        0,
        "the lowest free slot"
    );
}

#[test]
fn when_the_server_holds_every_slot_the_writer_finds_none_until_one_drops() {
    let (region, writer) = pair("exhaust");
    let held: Vec<_> = (0..FRAME_SLOTS)
        .map(|i| {
            let sent = writer.write(&[i as u8; 100]).unwrap();
            assert_eq!(sent.slot, i);
            region.lease(sent.slot, 100).unwrap()
        })
        .collect();
    assert_eq!(writer.write(b"ninth"), None, "send it inline");
    assert_eq!(region.leased(), 8);
    let capacity = region.layout().slot_bytes;
    assert_eq!(
        writer.write(&vec![0; capacity + 1]),
        None,
        "larger than a slot"
    );
    assert_eq!(writer.write(b""), None);
    let mut held = held;
    let third = held.remove(3);
    assert_eq!(&third[..], &[3; 100][..], "every frame kept its own bytes");
    drop(third);
    assert_eq!(writer.write(b"again").unwrap().slot, 3);
}

#[test]
fn a_frame_the_server_refuses_names_the_field() {
    let (region, writer) = pair("refuse");
    let slot_bytes = region.layout().slot_bytes;
    let err = |slot, len| region.lease(slot, len).unwrap_err();
    let e = err(8, 10);
    assert_eq!(
        (e.field(), e.to_string().as_str()),
        ("FrameShm.slot", "slot 8 is not one of the 8 slots")
    );
    assert_eq!(err(0, 10).to_string(), "slot 0 is FREE, not SENT");
    let sent = writer.write(b"jpeg").unwrap();
    let e = err(sent.slot, slot_bytes + 1);
    assert_eq!(e.field(), "FrameShm.len");
    assert!(e.to_string().contains(&format!("1..={slot_bytes}")), "{e}");
    assert_eq!(err(sent.slot, 0).field(), "FrameShm.len");
    assert_eq!(
        region.state_of(sent.slot),
        Some(SENT),
        "a refusal leaves the slot alone"
    );
    let frame = region.lease(sent.slot, 4).unwrap();
    let e = err(0, 4);
    let still = "slot 0 is still leased by the server";
    assert_eq!(
        (e.field(), e.to_string().as_str()),
        ("FrameShm.slot", still)
    );
    // A helper that forges states cannot make the server lease a slot twice, or one not SENT.
    let forge = |slot, state| writer.map.state(slot).store(state, Release);
    forge(0, SENT);
    assert_eq!(err(0, 4).to_string(), still);
    forge(1, LEASED);
    assert_eq!(err(1, 4).to_string(), "slot 1 is LEASED, not SENT");
    forge(2, 77);
    assert_eq!(
        err(2, 4).to_string(),
        "slot 2 is in unknown state 77, not SENT"
    );
    forge(3, WRITING);
    assert_eq!(err(3, 4).to_string(), "slot 3 is WRITING, not SENT");
    drop(frame);
    assert_eq!(region.state_of(0), Some(FREE));
}

#[test]
fn a_frame_unsent_goes_back_to_free() {
    let (region, writer) = pair("unsend");
    let sent = writer.write(b"jpeg").unwrap();
    writer.unsend(sent);
    assert_eq!(region.state_of(sent.slot), Some(FREE));
    assert_eq!(writer.write(b"next").unwrap().slot, sent.slot);
}

#[test]
fn a_region_outlives_its_helper_while_a_frame_is_leased_and_goes_with_the_last() {
    let layout = ShmLayout::for_frames(5000);
    let (region, fd) = FrameRegion::create("restart", layout).unwrap();
    assert_eq!(open_fds("restart"), 1);
    // As the helper takes it: by number.
    let layout = ShmLayout {
        fd: fd.into_raw_fd(),
        ..layout
    };
    let writer = SlotWriter::open_inherited(&layout).unwrap();
    assert_eq!(
        open_fds("restart"),
        0,
        "the descriptor is closed once mapped"
    );
    // The server maps the header read-write and the slots read-only (two lines), the helper
    // the whole region read-write.
    assert_eq!(mapped("restart"), 3);
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    assert!(maps
        .lines()
        .any(|l| l.contains(" r--s ") && l.contains("streamserver-frames-restart ")));
    let sent = writer.write(&[0xAB; 5000]).unwrap();
    let frame = region.lease(sent.slot, 5000).unwrap();
    // The helper dies and the session ends; the stream still shows the frame.
    drop(writer);
    drop(region);
    assert_eq!(mapped("restart"), 2, "the lease keeps the server's mapping");
    let (next, fd2) = FrameRegion::create("restart-2", layout).unwrap();
    drop(fd2);
    assert!(!next.contains(&frame));
    assert!(frame.iter().all(|&b| b == 0xAB), "the old frame is intact");
    let clone = frame.clone();
    drop(frame);
    assert_eq!(mapped("restart"), 2);
    drop(clone);
    assert_eq!(mapped("restart"), 0, "unmapped with the last frame");
    assert_eq!(mapped("restart-2"), 2);
}

#[test]
fn the_helper_refuses_a_region_that_is_not_what_the_layout_says() {
    let layout = ShmLayout::for_frames(1000);
    let open =
        |fd: OwnedFd, l: &ShmLayout| SlotWriter::open(fd.as_fd(), l).unwrap_err().to_string();
    // Another size.
    let (_r, fd) = FrameRegion::create("check", layout).unwrap();
    let e = open(fd, &ShmLayout { slots: 4, ..layout });
    assert!(e.contains("bytes") && e.contains("says"), "{e}");
    // The same size, another geometry: the header tells.
    let page = page_size();
    let (_r, fd) = FrameRegion::create("check", layout).unwrap();
    let other = ShmLayout {
        slots: 4,
        slot_bytes: 2 * page,
        ..layout
    };
    let e = open(fd, &other);
    assert!(e.contains("header") && e.contains("does not match"), "{e}");
    // Not a memfd at all (the protocol's stdout where the server passed nothing): refused, and
    // left open.
    let (pipe_r, _pipe_w) = std::io::pipe().unwrap();
    let pipe = OwnedFd::from(pipe_r);
    let at_pipe = ShmLayout {
        fd: pipe.as_raw_fd(),
        ..layout
    };
    let e = SlotWriter::open_inherited(&at_pipe)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains(&format!("fd {} is not a memfd", pipe.as_raw_fd())),
        "{e}"
    );
    // SAFETY: F_GETFD only reads the flags of a descriptor this test owns.
    assert!(unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_GETFD) } >= 0);
    // A memfd the helper could shrink under the server.
    let name = c"unsealed";
    // SAFETY: memfd_create with a NUL-terminated name; the result is checked and owned below.
    let raw = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    assert!(raw >= 0);
    // SAFETY: a fresh descriptor nobody else owns.
    let unsealed = unsafe { OwnedFd::from_raw_fd(raw) };
    assert!(open(unsealed, &layout).contains("not sealed"));
    let closed = |fd| ShmLayout { fd, ..layout };
    assert!(SlotWriter::open_inherited(&closed(-1)).is_err());
    let e = SlotWriter::open_inherited(&closed(1_000_000)).unwrap_err();
    assert!(e.to_string().contains("fd 1000000 is not open"), "{e}");
}

#[test]
fn only_the_child_it_is_passed_to_inherits_the_region_as_fd_3() {
    let (_region, fd) = FrameRegion::create("child", ShmLayout::for_frames(1000)).unwrap();
    let fd3 = |pass: Option<&OwnedFd>| {
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "readlink /proc/self/fd/3; ls -l /proc/self/fd/ | grep -c memfd",
        ]);
        if let Some(fd) = pass {
            pass_to_child(&mut c, fd);
        }
        String::from_utf8(c.output().unwrap().stdout).unwrap()
    };
    let passed = fd3(Some(&fd));
    assert!(
        passed.starts_with("/memfd:streamserver-frames-child"),
        "{passed}"
    );
    assert!(
        passed.trim_end().ends_with('1'),
        "exactly one copy: {passed}"
    );
    let not = fd3(None);
    assert!(!not.contains("streamserver-frames"), "{not}");
    assert!(fd.as_raw_fd() >= 0);
}

#[test]
fn frames_raced_between_the_helper_and_the_server_arrive_whole() {
    let (region, writer) = pair("race");
    let (tx, rx) = std::sync::mpsc::sync_channel::<Sent>(16);
    let helper = std::thread::spawn(move || {
        let mut inline = 0;
        for n in 0..20_000u32 {
            let body = [(n % 251) as u8; 700];
            let body = &body[..(n % 700 + 1) as usize];
            // Give the server a moment to drop a frame, then go inline, as the helper would.
            let sent = (0..1000).find_map(|_| {
                writer.write(body).or_else(|| {
                    std::thread::yield_now();
                    None
                })
            });
            match sent {
                Some(sent) => tx.send(sent).unwrap(),
                None => inline += 1,
            }
        }
        inline
    });
    // The server keeps the latest frame and a few older ones, as the slot and clients do.
    let mut held = std::collections::VecDeque::new();
    let mut got = 0;
    for sent in rx {
        let frame = region.lease(sent.slot, sent.len as usize).unwrap();
        let fill = frame[0];
        assert!(
            frame.iter().all(|&b| b == fill),
            "a frame changed under its lease"
        );
        held.push_back(frame);
        if held.len() > 3 {
            held.pop_front();
        }
        got += 1;
    }
    let inline = helper.join().unwrap();
    assert_eq!(got + inline, 20_000);
    assert!(got >= 1000, "frames found slots: {got}");
    drop(held);
    assert_eq!(region.leased(), 0);
}
