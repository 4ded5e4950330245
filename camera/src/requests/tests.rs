//! Unit tests of the request queue: bounded, in order, busy when full.

use super::*;

#[test]
fn requests_pass_in_order_until_the_queue_is_full() {
    let (outbox, inbox) = queue();
    for id in 0..MAX_PENDING_REQUESTS as u32 {
        outbox.offer(Request::Still { id }).unwrap();
    }
    let busy = outbox.offer(Request::ListControls { id: 99 }).unwrap_err();
    assert!(busy.starts_with("busy:"), "{busy}");
    assert_eq!(inbox.next().map(|r| r.id()), Some(0));
    outbox.offer(Request::ListControls { id: 99 }).unwrap();
    let ids: Vec<u32> = std::iter::from_fn(|| inbox.next().map(|r| r.id())).collect();
    assert_eq!(ids.len(), MAX_PENDING_REQUESTS);
    assert_eq!(ids.last(), Some(&99));
    drop(inbox);
    assert!(outbox.offer(Request::Still { id: 1 }).is_err());
}
