//! Unit tests of supervisor task tracking: every way a task can end is reported with its stream.

use std::time::Duration;

use super::*;

#[tokio::test]
async fn a_panicking_supervisor_is_reported_with_its_stream_and_message() {
    let mut tasks = SupervisorTasks::default();
    tasks.spawn("cam", async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        panic!("supervisor bug")
    });
    let (stream, end) = tasks.next_end().await.expect("one task");
    assert_eq!(stream, "cam");
    assert!(
        matches!(&end, SupervisorEnd::Panicked(msg) if msg == "supervisor bug"),
        "{end:?}"
    );
    assert!(tasks.next_end().await.is_none());
}

#[tokio::test]
async fn errors_and_stops_are_told_apart() {
    let mut tasks = SupervisorTasks::default();
    tasks.spawn("a", async {
        Err(SupervisorError::GaveUp {
            stream: "a".into(),
            restarts: 3,
            window: Duration::from_secs(60),
            last_error: "x".into(),
        })
    });
    tasks.spawn("b", async {
        tokio::time::sleep(Duration::from_millis(20)).await;
        Ok(())
    });
    let mut ends = Vec::new();
    while let Some(end) = tasks.next_end().await {
        ends.push(end);
    }
    ends.sort_by(|x, y| x.0.cmp(&y.0));
    assert!(matches!(ends[0], (ref s, SupervisorEnd::Failed(_)) if s == "a"));
    assert!(matches!(ends[1], (ref s, SupervisorEnd::Stopped) if s == "b"));
}
