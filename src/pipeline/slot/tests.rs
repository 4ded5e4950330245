//! Unit tests of the latest-frame slot.

use super::*;

fn new_frame(n: u8) -> NewFrame {
    NewFrame {
        jpeg: Bytes::from(vec![n; 4]),
        captured_at: SystemTime::now(),
        width: 1,
        height: 1,
        kind: FrameKind::Live,
    }
}

#[test]
fn publish_keeps_only_the_newest_and_numbers_strictly_increase() {
    let slot = LatestFrame::new();
    assert!(slot.latest().is_none());
    let a = slot.publish(new_frame(1));
    let b = slot.publish(new_frame(2));
    assert!(b.seq > a.seq);
    let latest = slot.latest().unwrap();
    assert_eq!(latest.seq, b.seq);
    assert_eq!(&latest.jpeg[..], &[2, 2, 2, 2]);
}

#[tokio::test]
async fn watchers_see_the_newest_frame_not_a_queue() {
    let slot = LatestFrame::new();
    let mut rx = slot.subscribe();
    for n in 0..10 {
        slot.publish(new_frame(n));
    }
    rx.changed().await.unwrap();
    let got = rx.borrow_and_update().clone().unwrap();
    assert_eq!(got.jpeg[0], 9);
    assert!(!rx.has_changed().unwrap());
}
