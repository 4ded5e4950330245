//! Unit tests of `shutdown`.

use super::*;

#[tokio::test]
async fn phases_advance_in_order() {
    let s = Shutdown::new();
    assert_eq!(s.phase(), Phase::Running);
    let waiter = tokio::spawn({
        let s = s.clone();
        async move { s.triggered().await }
    });
    s.trigger();
    waiter.await.unwrap();
    assert!(s.is_triggered());
    s.trigger();
    assert_eq!(s.phase(), Phase::Immediate);
    s.trigger();
    assert_eq!(s.phase(), Phase::Immediate);
}
