//! Frames through the server's shared memory, on the real helper binary (synthetic camera):
//! they arrive as leases of their slots and decode to the test pattern; while the server holds
//! every slot they come inline, and through the slots again once it lets go; a region that is
//! not what the Start settings say is refused with a Failed saying why.

mod common;

use std::time::Duration;

use common::bars::decode;
use common::{settings, Helper};
use streamserver::config::PixelFormat;
use streamserver::source::camera::protocol::{FailureKind, Frame, Message};
use streamserver::source::camera::shm::{ShmLayout, FRAME_SLOTS};

const WAIT: Duration = Duration::from_secs(10);

fn next_frame(helper: &Helper) -> Frame {
    match helper.next(WAIT) {
        Message::Frame(f) => f,
        other => panic!("expected a frame, got {other:?}"),
    }
}

#[test]
fn frames_come_through_free_slots_and_inline_while_the_server_holds_them_all() {
    let pid = std::process::id().to_string();
    let layout = ShmLayout::for_frames(4 << 20);
    let args = ["run", "--synthetic", "--parent-pid", &pid];
    let (mut helper, _, region) = Helper::spawn_shared(&args, layout);
    let mut start = settings(320, 240, PixelFormat::Yuv420);
    start.shared_frames = Some(region.layout());
    helper.commands().start(&start).unwrap();
    assert!(matches!(helper.next(WAIT), Message::Started(_)));
    // Hold every frame, as slow clients would.
    let held: Vec<Frame> = (0..FRAME_SLOTS + 4).map(|_| next_frame(&helper)).collect();
    let through: Vec<bool> = held.iter().map(|f| region.contains(&f.jpeg)).collect();
    let slots = FRAME_SLOTS as usize;
    assert!(through[..slots].iter().all(|&t| t), "{through:?}");
    assert!(through[slots..].iter().all(|&t| !t), "{through:?}");
    assert_eq!(region.leased(), slots);
    for f in &held {
        let (w, h, pixels) = decode(&f.jpeg);
        assert_eq!((w, h), (320, 240));
        assert!(pixels[(60 * w + 5) * 3] > 200, "the white bar");
    }
    assert!(held.windows(2).all(|w| w[1].info.seq > w[0].info.seq));
    drop(held);
    assert_eq!(region.leased(), 0);
    // Slots are free again: frames come through them (one sent inline may be on its way).
    let again: Vec<bool> = (0..3)
        .map(|_| region.contains(&next_frame(&helper).jpeg))
        .collect();
    assert!(again[1] && again[2], "{again:?}");
    helper.commands().stop().unwrap();
    let (_, end) = helper.until_end(WAIT);
    assert!(end.is_closed(), "{end}");
    assert_eq!(helper.wait_exit(WAIT).code(), Some(0));
    let stderr = helper.stderr_to_end(WAIT);
    assert!(stderr.contains("no free frame slot"), "{stderr}");
    let inline: u64 = stderr
        .split("frames_inline=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count: {stderr}"));
    assert!(inline >= 4, "{stderr}");
}

#[test]
fn a_region_that_is_not_what_start_says_fails_the_helper_with_the_reason() {
    // Offered, but nothing passed as fd 3 (the helper's own protocol stdout is there): refused,
    // and the Failed still gets through.
    let (mut helper, _) = Helper::spawn(&["run", "--synthetic"]);
    let mut start = settings(160, 120, PixelFormat::Yuv420);
    start.shared_frames = Some(ShmLayout::for_frames(1 << 20));
    helper.commands().start(&start).unwrap();
    match helper.next(WAIT) {
        Message::Failed(f) => {
            assert_eq!(f.kind, FailureKind::Other);
            assert!(f.message.contains("fd 3 is not a memfd"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(helper.wait_exit(WAIT).code(), Some(1));

    // A region smaller than the layout says.
    let small = ShmLayout::for_frames(64 << 10);
    let (mut helper, _, _region) = Helper::spawn_shared(&["run", "--synthetic"], small);
    start.shared_frames = Some(ShmLayout::for_frames(1 << 20));
    helper.commands().start(&start).unwrap();
    match helper.next(WAIT) {
        Message::Failed(f) => {
            assert!(
                f.message.starts_with("shared memory for frames: fd 3 is "),
                "{}",
                f.message
            );
            assert!(f.message.contains("says"), "{}", f.message);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(helper.wait_exit(WAIT).code(), Some(1));
}
