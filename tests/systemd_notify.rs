//! The real binary talks `sd_notify` the way `Type=notify` + `WatchdogSec=` units need: it sends
//! `READY=1` and a status once it listens, `WATCHDOG=1` at half the watchdog timeout, and
//! `STOPPING=1` on SIGTERM; a watchdog meant for another pid is ignored. The test plays systemd
//! with a datagram socket of its own.

mod common;

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use common::{ServerProcess, TempDir};

/// Every datagram that arrives within `limit`.
fn messages(sock: &UnixDatagram, limit: Duration) -> Vec<String> {
    let mut out = Vec::new();
    let end = Instant::now() + limit;
    let mut buf = [0u8; 4096];
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        sock.set_read_timeout(Some(left.max(Duration::from_millis(1))))
            .unwrap();
        if let Ok(n) = sock.recv(&mut buf) {
            out.push(String::from_utf8_lossy(&buf[..n]).trim_end().to_string());
        }
    }
    out
}

#[test]
fn ready_status_watchdog_and_stopping_reach_systemd() {
    let dir = TempDir::new("notify");
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let mut server = ServerProcess::spawn_with_env(
        dir.path(),
        &["--source", "test"],
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "1000000"),
        ],
    );
    let got = messages(&sock, Duration::from_millis(2600));
    assert_eq!(got.first().map(String::as_str), Some("READY=1"), "{got:?}");
    assert!(
        got.iter().any(|m| m.starts_with("STATUS=serving 1 stream")),
        "{got:?}"
    );
    let pings = got.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(
        (3..=7).contains(&pings),
        "about one ping per 0.5 s in 2.6 s: {got:?}"
    );
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_secs(10)).expect("exits");
    assert!(status.success(), "{status}");
    let after = messages(&sock, Duration::from_millis(300));
    assert!(after.contains(&"STOPPING=1".to_string()), "{after:?}");
}

#[test]
fn a_watchdog_meant_for_another_process_is_ignored() {
    let dir = TempDir::new("notify-pid");
    let path = dir.path().join("notify.sock");
    let sock = UnixDatagram::bind(&path).unwrap();
    let _server = ServerProcess::spawn_with_env(
        dir.path(),
        &["--source", "test"],
        &[
            ("NOTIFY_SOCKET", path.to_str().unwrap()),
            ("WATCHDOG_USEC", "200000"),
            ("WATCHDOG_PID", "1"),
        ],
    );
    let got = messages(&sock, Duration::from_millis(1200));
    assert!(got.contains(&"READY=1".to_string()), "{got:?}");
    assert!(!got.iter().any(|m| m == "WATCHDOG=1"), "{got:?}");
}
