//! Unit tests of `wakeups`.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::AtomicUsize;
use std::task::Poll;

use super::*;

/// A task waker that counts its wakes.
struct Counter(AtomicUsize);

impl Wake for Counter {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn only_the_woken_sources_are_reported_and_the_task_is_woken() {
    let count = Arc::new(Counter(AtomicUsize::new(0)));
    let task = Waker::from(count.clone());
    let cx = Context::from_waker(&task);
    let mut w = Wakeups::new(3);
    assert_eq!(
        w.take(&cx),
        Woken(0b111),
        "everything is polled the first time"
    );
    assert_eq!(w.take(&cx), Woken(0), "nothing woke since");
    w.context(2).waker().wake_by_ref();
    w.context(0).waker().wake_by_ref();
    assert_eq!(
        count.0.load(Ordering::SeqCst),
        2,
        "each wake wakes the task"
    );
    let woken = w.take(&cx);
    assert_eq!(woken, Woken(0b101));
    assert!(woken.has(0) && !woken.has(1) && woken.has(2));
    assert_eq!(w.take(&cx), Woken(0));
}

#[test]
fn a_new_task_waker_is_the_one_woken() {
    let (a, b) = (
        Arc::new(Counter(AtomicUsize::new(0))),
        Arc::new(Counter(AtomicUsize::new(0))),
    );
    let (wa, wb) = (Waker::from(a.clone()), Waker::from(b.clone()));
    let mut w = Wakeups::new(1);
    w.take(&Context::from_waker(&wa));
    w.take(&Context::from_waker(&wb));
    w.context(0).waker().wake_by_ref();
    assert_eq!(a.0.load(Ordering::SeqCst), 0);
    assert_eq!(b.0.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_future_polled_with_its_sources_waker_reports_its_wake() {
    let notify = Arc::new(tokio::sync::Notify::new());
    let mut notified = pin!(notify.notified());
    let mut w = Wakeups::new(2);
    std::future::poll_fn(|cx| {
        assert_eq!(w.take(cx), Woken(0b11));
        assert!(notified.as_mut().poll(&mut w.context(1)).is_pending());
        Poll::Ready(())
    })
    .await;
    notify.notify_waiters();
    std::future::poll_fn(|cx| {
        assert_eq!(w.take(cx), Woken(0b10));
        assert!(notified.as_mut().poll(&mut w.context(1)).is_ready());
        Poll::Ready(())
    })
    .await;
}
