//! `max_clients` against the process's open-file limit, with the real binary: a hard limit too
//! low for `max_clients` is a one-line start-up error naming the key; a soft limit below what it
//! needs is raised to it when the hard limit allows.

mod common;

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{bin, free_port, wait_child, TempDir};

/// `streamserver --config <file> --listen 127.0.0.1:<port>` with `RLIMIT_NOFILE` = (soft, hard).
fn spawn(dir: &TempDir, max_clients: usize, soft: u64, hard: u64) -> (std::process::Child, u16) {
    let config = dir.write(
        "c.toml",
        &format!("[server]\nmax_clients = {max_clients}\n[logging]\nconsole = false\n"),
    );
    let port = free_port();
    let mut cmd = Command::new(bin());
    cmd.args(["--config", config.to_str().unwrap()])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: setrlimit only, between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            let lim = libc::rlimit {
                rlim_cur: soft as libc::rlim_t,
                rlim_max: hard as libc::rlim_t,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    (cmd.spawn().expect("the binary runs"), port)
}

#[test]
fn a_hard_limit_too_low_for_max_clients_is_a_one_line_error_naming_the_key() {
    let dir = TempDir::new("nofile-low");
    let (mut child, _) = spawn(&dir, 1000, 256, 256);
    let status = wait_child(&mut child, Duration::from_secs(10)).expect("exits");
    assert_eq!(status.code(), Some(1));
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    assert!(err.contains("server.max_clients = 1000"), "{err}");
    assert!(err.contains("LimitNOFILE"), "{err}");
}

#[test]
fn a_low_soft_limit_is_raised_to_what_max_clients_needs() {
    let dir = TempDir::new("nofile-raise");
    let (mut child, port) = spawn(&dir, 500, 256, 4096);
    let addr = format!("127.0.0.1:{port}");
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(t0.elapsed() < Duration::from_secs(10), "never listened");
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(20));
    }
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap();
    let soft: u64 = line.split_whitespace().nth(3).unwrap().parse().unwrap();
    // 500 clients + 64 other connections + 64 waiting for their head (max_pending_connections)
    // + 128 reserved.
    assert_eq!(soft, 756, "{line}");
    child.kill().unwrap();
    child.wait().unwrap();
}
