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

#[test]
fn concurrent_publishers_never_put_an_older_frame_on_top() {
    // Four publishers race; a reader checks that the slot's frame never goes back in sequence,
    // and at the end the slot holds the newest frame.
    let slot = LatestFrame::new();
    let per_thread = 20_000u64;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (slot, stop) = (slot.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut last = 0;
            let mut backwards = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if let Some(f) = slot.latest() {
                    backwards += u64::from(f.seq < last);
                    last = last.max(f.seq);
                }
            }
            backwards
        })
    };
    let publishers: Vec<_> = (0..4)
        .map(|_| {
            let slot = slot.clone();
            std::thread::spawn(move || {
                for _ in 0..per_thread {
                    slot.publish(new_frame(0));
                }
            })
        })
        .collect();
    for p in publishers {
        p.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    assert_eq!(reader.join().unwrap(), 0, "the slot went back in sequence");
    assert_eq!(slot.latest().unwrap().seq, 4 * per_thread);
}

/// Counts its wakes.
struct CountWakes(std::sync::atomic::AtomicUsize);

impl std::task::Wake for CountWakes {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn a_publish_wakes_the_armed_watches_once_each_until_they_are_dropped() {
    let slot = LatestFrame::new();
    let count = |c: &Arc<CountWakes>| c.0.load(Ordering::SeqCst);
    let (a, b) = (
        Arc::new(CountWakes(Default::default())),
        Arc::new(CountWakes(Default::default())),
    );
    let mut watch_a = slot.watch(Waker::from(a.clone()));
    let mut watch_b = slot.watch(Waker::from(b.clone()));
    assert_eq!(slot.watchers(), 2, "each watch counts as a watcher");
    slot.publish(new_frame(1));
    assert_eq!((count(&a), count(&b)), (1, 1), "registered armed");
    slot.publish(new_frame(2));
    assert_eq!((count(&a), count(&b)), (1, 1), "one-shot: not armed again");
    assert_eq!(watch_a.newest().unwrap().unwrap().jpeg[0], 2, "the newest");
    assert!(
        matches!(watch_a.arm(), Ok(None)),
        "nothing new since the last look"
    );
    slot.publish(new_frame(3));
    assert_eq!((count(&a), count(&b)), (2, 1), "only the armed one");
    let _ = watch_a.arm().unwrap();
    let _ = watch_b.arm().unwrap();
    drop(watch_a);
    assert_eq!(slot.watchers(), 1);
    slot.publish(new_frame(4));
    assert_eq!((count(&a), count(&b)), (2, 2), "unregistered: not woken");
    drop(slot);
    assert_eq!(count(&b), 3, "woken when the slot goes, armed or not");
    assert!(
        matches!(watch_b.newest(), Err(SlotClosed)),
        "and it sees the slot closed"
    );
}
