//! End-to-end tests of `uninstall-service.sh` (the same fake-root harness as
//! `deploy_scripts.rs`, see there): a plain uninstall keeps config, logs, state and user; a
//! purge removes them; a bad `PURGE_LOCAL_ARTIFACTS` touches nothing.

#[path = "deploy/harness.rs"]
mod harness;
use harness::*;
use std::fs;

#[test]
fn uninstall_removes_the_service_and_keeps_config_logs_and_user() {
    let h = Harness::new("uninstall");
    h.install(&[], &[]).assert_ok();
    fs::write(h.at("/var/log/streamserver/main.log"), "log line\n").unwrap();

    let run = h.uninstall(&[]);
    run.assert_ok();
    run.assert_calls_in_order(&[
        "sudo systemctl stop streamserver.service",
        "sudo systemctl disable streamserver.service",
        "sudo systemctl reset-failed streamserver.service",
        "sudo rm -f",
        "sudo systemctl daemon-reload",
    ]);
    assert!(!h.at("/etc/systemd/system/streamserver.service").exists());
    assert!(!h.at("/usr/local/bin/streamserver").exists());
    assert_eq!(
        h.read("/etc/streamserver/config.toml"),
        installed_test_config()
    );
    assert_eq!(h.read("/var/log/streamserver/main.log"), "log line\n");
    assert!(h.at("/var/lib/streamserver").is_dir());
    assert!(h.user_exists());
    run.assert_not_called("sudo userdel");
    assert!(run.stdout.contains("PURGE_LOCAL_ARTIFACTS=1"));

    // Again: nothing left to stop, still fine.
    let again = h.uninstall(&[]);
    again.assert_ok();
    again.assert_not_called("sudo systemctl stop");
    again.assert_called("sudo systemctl daemon-reload");
    assert!(h.at("/etc/streamserver/config.toml").exists());

    // And a reinstall keeps the config and finds the user.
    let reinstall = h.install(&[], &[]);
    reinstall.assert_ok();
    reinstall.assert_not_called("sudo useradd");
    reinstall.assert_called("sudo systemctl enable --now streamserver.service");
}

#[test]
fn purge_removes_config_logs_and_user() {
    let h = Harness::new("purge");
    h.install(&[], &[]).assert_ok();
    fs::write(h.at("/var/log/streamserver/main.log"), "log line\n").unwrap();
    fs::create_dir_all(h.at("/etc/systemd/system/streamserver.service.d")).unwrap();

    let run = h.uninstall(&[("PURGE_LOCAL_ARTIFACTS", "1")]);
    run.assert_ok();
    run.assert_calls_in_order(&[
        "sudo systemctl stop streamserver.service",
        "sudo systemctl daemon-reload",
        "sudo userdel streamserver",
    ]);
    for gone in [
        "/usr/local/bin/streamserver",
        "/etc/systemd/system/streamserver.service",
        "/etc/systemd/system/streamserver.service.d",
        "/etc/streamserver",
        "/var/log/streamserver",
        "/var/lib/streamserver",
    ] {
        assert!(!h.at(gone).exists(), "{gone} still exists");
    }
    assert!(!h.user_exists());

    let again = h.uninstall(&[("PURGE_LOCAL_ARTIFACTS", "1")]);
    again.assert_ok();
    again.assert_not_called("sudo userdel");
}

#[test]
fn purge_value_must_be_0_or_1() {
    let h = Harness::new("purge-value");
    let run = h.uninstall(&[("PURGE_LOCAL_ARTIFACTS", "yes")]);
    run.assert_failed();
    assert!(run.stderr.contains("must be 0 or 1"));
    run.assert_not_called("sudo");
}
