//! The security side of the command line and the listeners, with the real binary:
//! `hash-password` (stdin) and `new-token` print lines that paste into a working config,
//! `check-config` reports the logins, `--help` documents the commands, SIGHUP does not stop a
//! server without TLS, and `listen` takes a list with IPv6 in it.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::client::get;
use common::{bin, free_port, ServerProcess, TempDir};

fn run(args: &[&str], stdin: &str) -> (bool, String, String) {
    let mut child = Command::new(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn hash_password_and_new_token_print_lines_that_make_a_working_config() {
    let (ok, hash_line, err) = run(&["hash-password"], "s3cret pass\n");
    assert!(ok, "{err}");
    assert!(
        hash_line.starts_with("password_hash = \"$argon2id$v=19$m=8192,t=2,p=1$"),
        "{hash_line}"
    );
    assert!(!hash_line.contains("s3cret"));
    let (ok, token_line, hint) = run(&["new-token"], "");
    assert!(ok);
    assert!(
        token_line.starts_with("token = \"") && token_line.trim_end().len() == 53,
        "{token_line}"
    );
    assert!(
        hint.contains("?token="),
        "the hint says how to use it: {hint}"
    );
    let (ok, _, err) = run(&["hash-password"], "\n");
    assert!(
        !ok && err.contains("empty"),
        "an empty password is refused: {err}"
    );

    let dir = TempDir::new("cli-secrets");
    let config = dir.write(
        "c.toml",
        &format!("[[user]]\nname = \"alice\"\n{hash_line}{token_line}view = true\n"),
    );
    let (ok, out, err) = run(&["check-config", "--config", config.to_str().unwrap()], "");
    assert!(ok, "{err}");
    assert!(
        out.contains("1 [[user]] entries") && out.contains("(http)"),
        "{out}"
    );

    let plain = dir.write(
        "p.toml",
        "[[user]]\nname = \"bob\"\npassword_hash = \"hunter2\"\nview = true\n",
    );
    let (ok, _, err) = run(&["check-config", "--config", plain.to_str().unwrap()], "");
    assert!(
        !ok && err.contains("p.toml:3: user[0].password_hash"),
        "{err}"
    );
    assert!(
        err.contains("plain-text password") && !err.contains("hunter2"),
        "{err}"
    );
}

#[test]
fn help_documents_the_security_commands() {
    let (ok, out, _) = run(&["--help"], "");
    assert!(ok);
    for what in [
        "hash-password",
        "new-token",
        "[[user]]",
        "?token=",
        "[server.tls]",
    ] {
        assert!(out.contains(what), "--help mentions {what}:\n{out}");
    }
}

#[test]
fn sighup_without_tls_does_not_stop_the_server() {
    let dir = TempDir::new("cli-sighup");
    let mut server = ServerProcess::spawn(dir.path(), &["--source", "test"]);
    server.signal(libc::SIGHUP);
    assert!(
        server.wait_exit(Duration::from_millis(500)).is_none(),
        "SIGHUP stopped it"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(rt.block_on(get(server.addr, "/api/state")).head.status, 200);
    assert!(server.stderr().contains("SIGHUP"), "{}", server.stderr());
}

#[test]
fn listen_takes_a_list_with_ipv6_in_it() {
    let port = free_port();
    let dir = TempDir::new("cli-listen");
    // Both wildcard addresses on one port: the IPv6 socket is made IPv6-only so they fit.
    let config = dir.write(
        "c.toml",
        &format!(
            "[server]\nlisten = [\"0.0.0.0:{port}\", \"[::]:{port}\"]\n[logging]\nconsole = true\n"
        ),
    );
    let mut child = Command::new(bin())
        .args(["--config", config.to_str().unwrap(), "--source", "test"])
        .current_dir(dir.path())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("err.txt")).unwrap())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let t0 = std::time::Instant::now();
    for addr in [format!("127.0.0.1:{port}"), format!("[::1]:{port}")] {
        let addr = addr.parse().unwrap();
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "{addr} never listened: {}",
                std::fs::read_to_string(dir.path().join("err.txt")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(
            rt.block_on(get(addr, "/api/state")).head.status,
            200,
            "{addr}"
        );
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
