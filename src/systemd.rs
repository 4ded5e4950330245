//! `sd_notify` client: tells systemd when the server is ready, what it is doing and that it is
//! still alive.
//!
//! The unit (`streamserver.service`) runs the server with `Type=notify`, `NotifyAccess=main` and
//! `WatchdogSec=`. systemd then passes two things in the environment:
//!
//! - `NOTIFY_SOCKET`: a `AF_UNIX` datagram socket, either a filesystem path (`/run/systemd/notify`)
//!   or an abstract name written with a leading `@`;
//! - `WATCHDOG_USEC` (and `WATCHDOG_PID`): the watchdog timeout in microseconds, meant for the
//!   process whose pid is `WATCHDOG_PID` when that is set.
//!
//! Each message is one datagram of `KEY=VALUE` lines, see `sd_notify(3)`. The server sends
//! `READY=1` once it listens, `WATCHDOG=1` every [`Notifier::watchdog_interval`] *only while its
//! own loops are healthy* (so a hung capture or HTTP loop gets the process restarted), and
//! `STOPPING=1` when it shuts down.
//!
//! Without systemd (no `NOTIFY_SOCKET`, e.g. `cargo run`), every method is a no-op. Send errors
//! are logged once with `tracing::warn!` and otherwise ignored: a notification must never take the
//! server down. The environment is read, never modified, so child processes (such as libcamera's
//! IPA proxy) also see `NOTIFY_SOCKET`; `NotifyAccess=main` makes systemd ignore them.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// A handle on the systemd notification socket; cheap to share (`&Notifier` is `Send + Sync`).
#[derive(Debug)]
pub struct Notifier {
    /// The unbound sending socket and the address of systemd's socket; `None` when disabled.
    target: Option<(UnixDatagram, SocketAddr)>,
    /// The full watchdog timeout systemd asked for (`WATCHDOG_USEC`), if any.
    watchdog_timeout: Option<Duration>,
    /// Set after the first send error has been logged, so a broken socket does not flood the log.
    warned: AtomicBool,
}

impl Notifier {
    /// Reads NOTIFY_SOCKET, WATCHDOG_USEC and WATCHDOG_PID (ignored when the pid is not ours). Never fails: without systemd it is a no-op.
    pub fn from_env() -> Self {
        Self::from_vars(
            std::env::var_os("NOTIFY_SOCKET"),
            std::env::var("WATCHDOG_USEC").ok().as_deref(),
            std::env::var("WATCHDOG_PID").ok().as_deref(),
            std::process::id(),
        )
    }

    /// A notifier sending to the datagram socket bound at `path`, as if systemd had set
    /// `NOTIFY_SOCKET=path` and `WATCHDOG_USEC` to `watchdog_timeout` (the full timeout: pings
    /// are due every half of it). Meant for tests and for embedding under another supervisor.
    pub fn with_socket(path: impl AsRef<Path>, watchdog_timeout: Option<Duration>) -> Self {
        let target = match SocketAddr::from_pathname(path.as_ref()) {
            Ok(addr) => Self::open(addr),
            Err(err) => {
                tracing::warn!(path = %path.as_ref().display(), "invalid notify socket path: {err}");
                None
            }
        };
        Self::new(target, watchdog_timeout.filter(|d| !d.is_zero()))
    }

    /// Whether notifications are actually sent (systemd gave us a usable socket).
    pub fn is_enabled(&self) -> bool {
        self.target.is_some()
    }

    /// Tells systemd that start-up is finished (`READY=1`): the server listens.
    pub fn ready(&self) {
        self.send("READY=1");
    }

    /// Tells systemd that the server is shutting down (`STOPPING=1`).
    pub fn stopping(&self) {
        self.send("STOPPING=1");
    }

    /// Sets the one-line status shown by `systemctl status` (`STATUS=...`). Newlines would start
    /// a new `KEY=VALUE` assignment, so they are replaced by spaces.
    pub fn status(&self, msg: &str) {
        let line = msg.replace(['\n', '\r'], " ");
        self.send(&format!("STATUS={line}"));
    }

    /// Pets the watchdog (`WATCHDOG=1`). Call it only while the server is healthy.
    pub fn watchdog(&self) {
        self.send("WATCHDOG=1");
    }

    /// How often to send WATCHDOG=1 (half of WATCHDOG_USEC), None when systemd asked for no watchdog.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog_timeout.map(|t| t / 2)
    }

    /// The testable core of [`Notifier::from_env`]: the three variables and our own pid.
    fn from_vars(
        notify_socket: Option<OsString>,
        watchdog_usec: Option<&str>,
        watchdog_pid: Option<&str>,
        our_pid: u32,
    ) -> Self {
        let target = notify_socket
            .filter(|s| !s.is_empty())
            .and_then(|s| parse_socket_addr(&s))
            .and_then(Self::open);
        let watchdog_timeout = parse_watchdog(watchdog_usec, watchdog_pid, our_pid);
        Self::new(target, watchdog_timeout)
    }

    fn new(target: Option<(UnixDatagram, SocketAddr)>, watchdog_timeout: Option<Duration>) -> Self {
        Notifier {
            target,
            watchdog_timeout,
            warned: AtomicBool::new(false),
        }
    }

    /// Creates the unbound sending socket; `None` (logged) if the system refuses one.
    fn open(addr: SocketAddr) -> Option<(UnixDatagram, SocketAddr)> {
        match UnixDatagram::unbound() {
            Ok(sock) => Some((sock, addr)),
            Err(err) => {
                tracing::warn!("cannot create a socket for systemd notifications: {err}");
                None
            }
        }
    }

    fn send(&self, msg: &str) {
        let Some((sock, addr)) = &self.target else {
            return;
        };
        if let Err(err) = sock.send_to_addr(msg.as_bytes(), addr) {
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "cannot notify systemd ({msg}): {err}; further notification errors are not logged"
                );
            }
        }
    }
}

/// `NOTIFY_SOCKET` → address: an absolute path, or `@name` for an abstract socket (Linux).
/// Anything else (e.g. `vsock:` addresses of newer systemd versions) is logged and ignored.
fn parse_socket_addr(value: &std::ffi::OsStr) -> Option<SocketAddr> {
    let bytes = value.as_bytes();
    let result = match bytes.first() {
        Some(b'/') => SocketAddr::from_pathname(value),
        Some(b'@') => abstract_addr(&bytes[1..]),
        _ => {
            tracing::warn!(
                "unsupported NOTIFY_SOCKET {value:?}: systemd notifications are disabled"
            );
            return None;
        }
    };
    result
        .map_err(|err| {
            tracing::warn!(
                "invalid NOTIFY_SOCKET {value:?}: {err}; systemd notifications are disabled"
            )
        })
        .ok()
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn abstract_addr(name: &[u8]) -> std::io::Result<SocketAddr> {
    #[cfg(target_os = "android")]
    use std::os::android::net::SocketAddrExt;
    #[cfg(target_os = "linux")]
    use std::os::linux::net::SocketAddrExt;
    SocketAddr::from_abstract_name(name)
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn abstract_addr(_name: &[u8]) -> std::io::Result<SocketAddr> {
    Err(std::io::Error::new(
        std::io::ErrorKind::Unsupported,
        "abstract sockets need Linux",
    ))
}

/// `WATCHDOG_USEC` → timeout, unless it is missing, zero, unparsable, or `WATCHDOG_PID` names
/// another process (the variables were inherited from a parent that systemd watches).
fn parse_watchdog(usec: Option<&str>, pid: Option<&str>, our_pid: u32) -> Option<Duration> {
    if let Some(pid) = pid {
        if pid.trim().parse::<u32>().ok() != Some(our_pid) {
            return None;
        }
    }
    let usec: u64 = usec?.trim().parse().ok()?;
    (usec > 0).then(|| Duration::from_micros(usec))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::sync::atomic::AtomicUsize;

    /// A fresh directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new() -> Self {
            static N: AtomicUsize = AtomicUsize::new(0);
            let dir = std::env::temp_dir().join(format!(
                "streamserver-sdnotify-{}-{}",
                std::process::id(),
                N.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Reads one datagram, failing the test instead of hanging if none arrives.
    fn recv(sock: &UnixDatagram) -> String {
        sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut buf = [0u8; 512];
        let n = sock.recv(&mut buf).expect("no datagram received");
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn sends_each_message_as_one_datagram_to_a_path_socket() {
        let dir = TempDir::new();
        let path = dir.0.join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();

        let n = Notifier::with_socket(&path, Some(Duration::from_secs(30)));
        assert!(n.is_enabled());
        n.ready();
        n.status("streaming 2 cameras");
        n.watchdog();
        n.stopping();

        assert_eq!(recv(&server), "READY=1");
        assert_eq!(recv(&server), "STATUS=streaming 2 cameras");
        assert_eq!(recv(&server), "WATCHDOG=1");
        assert_eq!(recv(&server), "STOPPING=1");
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(15)));
    }

    #[test]
    fn status_cannot_inject_other_assignments() {
        let dir = TempDir::new();
        let path = dir.0.join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();

        Notifier::with_socket(&path, None).status("bad\nREADY=1\r\nx");
        assert_eq!(recv(&server), "STATUS=bad READY=1  x");
    }

    #[test]
    fn from_vars_reads_path_socket_and_watchdog() {
        let dir = TempDir::new();
        let path = dir.0.join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();

        let n = Notifier::from_vars(Some(path.clone().into()), Some("30000000"), None, 42);
        assert!(n.is_enabled());
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(15)));
        n.watchdog();
        assert_eq!(recv(&server), "WATCHDOG=1");
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn supports_abstract_sockets() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("streamserver-test-{}", std::process::id());
        let server =
            UnixDatagram::bind_addr(&SocketAddr::from_abstract_name(name.as_bytes()).unwrap())
                .unwrap();

        let n = Notifier::from_vars(Some(format!("@{name}").into()), None, None, 1);
        assert!(n.is_enabled());
        n.ready();
        assert_eq!(recv(&server), "READY=1");
    }

    #[test]
    fn without_systemd_everything_is_a_no_op() {
        for socket in [None, Some(OsString::new())] {
            let n = Notifier::from_vars(socket, None, None, 1);
            assert!(!n.is_enabled());
            assert_eq!(n.watchdog_interval(), None);
            n.ready();
            n.status("x");
            n.watchdog();
            n.stopping();
            assert!(!n.warned.load(Ordering::Relaxed));
        }
    }

    #[test]
    fn unsupported_socket_addresses_disable_notifications() {
        for value in ["relative/path", "vsock:2:1234"] {
            let n = Notifier::from_vars(Some(value.into()), Some("1000000"), None, 1);
            assert!(!n.is_enabled(), "{value}");
            // The watchdog interval is still reported: it is independent of the socket.
            assert_eq!(n.watchdog_interval(), Some(Duration::from_millis(500)));
        }
    }

    #[test]
    fn watchdog_is_ignored_when_meant_for_another_pid_or_invalid() {
        let usec = Some("20000000");
        assert_eq!(
            parse_watchdog(usec, Some("42"), 42),
            Some(Duration::from_secs(20))
        );
        assert_eq!(
            parse_watchdog(usec, None, 42),
            Some(Duration::from_secs(20))
        );
        assert_eq!(parse_watchdog(usec, Some("41"), 42), None);
        assert_eq!(parse_watchdog(usec, Some("garbage"), 42), None);
        assert_eq!(parse_watchdog(Some("0"), None, 42), None);
        assert_eq!(parse_watchdog(Some("-5"), None, 42), None);
        assert_eq!(parse_watchdog(Some("soon"), None, 42), None);
        assert_eq!(parse_watchdog(None, Some("42"), 42), None);
    }

    #[test]
    fn send_errors_are_swallowed_and_logged_once() {
        let dir = TempDir::new();
        // Nobody listens here: every send fails with ENOENT.
        let n = Notifier::with_socket(dir.0.join("missing.sock"), None);
        assert!(n.is_enabled());
        assert!(!n.warned.load(Ordering::Relaxed));
        n.ready();
        assert!(n.warned.load(Ordering::Relaxed));
        n.watchdog(); // must not panic either
    }

    #[test]
    fn notifier_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Notifier>();
    }
}
