//! Tests of the deployment files at the top of the repository: `install-service.sh` and
//! `streamserver.service` (`uninstall-service.sh` is in `deploy_uninstall.rs`).
//!
//! The scripts run end to end against a temporary root (`STREAMSERVER_ROOT`) with fakes of every
//! command that would touch this machine (`sudo`, `apt-get`, `systemctl`, `useradd`, ...) first
//! on `PATH`. Each fake appends its command line to a log, which the tests read back to check
//! what was called and in which order. The fake `sudo` runs its command as the current user
//! and refuses any unprefixed system path, so a script that forgot the prefix fails here instead
//! of writing to the real `/etc`. The user database is simulated with a state file shared by the
//! fake `useradd`, `userdel`, `getent` and `id`; the fake `id -u` reports uid 1000 (or
//! `FAKE_UID`), which is how the scripts, which check `id -u`, can be tested while `cargo test`
//! runs as root.
//!
//! Needs `shellcheck` and `systemd-analyze` (Debian packages `shellcheck` and `systemd`): the
//! tests fail, rather than skip, when they are missing.

#[path = "deploy/harness.rs"]
mod harness;
use harness::*;
use std::fs;

#[test]
fn fresh_install_builds_installs_and_starts() {
    let h = Harness::new("fresh");
    let run = h.install(&[], &[]);
    run.assert_ok();

    // Files: the server and its camera helper.
    for name in ["streamserver", "streamserver-camera"] {
        let bin = h.at(&format!("/usr/local/bin/{name}"));
        assert!(fs::read_to_string(&bin).unwrap().contains("fake build 1"));
        assert_eq!(mode(&bin), 0o755);
    }
    assert_eq!(
        h.read("/etc/systemd/system/streamserver.service"),
        fs::read_to_string(repo_dir().join(UNIT)).unwrap()
    );
    assert_eq!(
        h.read("/etc/streamserver/config.toml"),
        installed_test_config()
    );
    assert_eq!(mode(&h.at("/etc/streamserver/config.toml")), 0o640);
    assert!(!h.at("/etc/streamserver/config.toml.new").exists());
    assert!(h.at("/var/log/streamserver").is_dir());
    assert_eq!(mode(&h.at("/var/log/streamserver")), 0o750);
    // The state directory (StateDirectory= in the unit) exists before the config is checked.
    assert!(h.at("/var/lib/streamserver").is_dir());
    assert_eq!(mode(&h.at("/var/lib/streamserver")), 0o750);
    assert!(h.user_exists());
    h.assert_no_leftovers();

    // Commands, in order; the privileged ones through sudo, the build as the user.
    run.assert_calls_in_order(&[
        "sudo apt-get update",
        "sudo apt-get install -y --no-install-recommends build-essential cmake nasm pkg-config \
         clang libclang-dev libcamera-dev libcamera-ipa",
        "cargo build --release --locked -p streamserver -p streamserver-camera",
        // The helper is checked to run on this machine (its libcamera) before anything moves.
        "streamserver-camera version",
        "sudo useradd --system --user-group --groups video",
        // As the service user: a folder it creates must not belong to root.
        "sudo -u streamserver",
        "streamserver check-config --config",
        "sudo systemctl daemon-reload",
        "sudo systemctl enable --now streamserver.service",
        "systemctl --no-pager --full status streamserver.service",
    ]);
    run.assert_not_called("sudo cargo");
    run.assert_not_called("systemctl restart");
    run.assert_called(&format!(
        "sudo chown streamserver:streamserver {} {}",
        h.at("/var/log/streamserver").display(),
        h.at("/var/lib/streamserver").display()
    ));

    // Where to find it: first address of `hostname -I`, port from the config.
    assert!(
        run.stdout
            .contains("streamserver is running: http://192.0.2.10:9090/stream.mjpg"),
        "{}",
        run.describe()
    );
    assert!(run.stdout.contains("fake status output"));
}

#[test]
fn second_run_upgrades_in_place_and_keeps_a_modified_config() {
    let h = Harness::new("upgrade");
    h.install(&[], &[]).assert_ok();
    let config = h.at("/etc/streamserver/config.toml");
    let mine = installed_test_config().replace("9090", "8554");
    fs::write(&config, &mine).unwrap();

    let run = h.install(&[], &[("FAKE_BUILD_ID", "2")]);
    run.assert_ok();

    assert_eq!(
        fs::read_to_string(&config).unwrap(),
        mine,
        "config was overwritten"
    );
    assert_eq!(
        h.read("/etc/streamserver/config.toml.new"),
        installed_test_config()
    );
    assert!(
        run.stdout.contains(
            "sudo diff -u /etc/streamserver/config.toml /etc/streamserver/config.toml.new"
        ),
        "{}",
        run.describe()
    );
    let bin = fs::read_to_string(h.at("/usr/local/bin/streamserver")).unwrap();
    assert!(bin.contains("fake build 2"), "binary not replaced: {bin}");
    h.assert_no_leftovers();

    run.assert_not_called("sudo useradd");
    run.assert_not_called("sudo usermod");
    run.assert_not_called("sudo systemctl enable --now");
    run.assert_calls_in_order(&[
        "cargo build --release --locked",
        // The binary is swapped in by a rename from a staged copy next to it.
        "sudo mv -f",
        "sudo systemctl daemon-reload",
        "sudo systemctl enable streamserver.service",
        "sudo systemctl restart streamserver.service",
    ]);
    // The URL follows the installed (user's) config.
    assert!(run.stdout.contains("http://192.0.2.10:8554/stream.mjpg"));
}

#[test]
fn the_config_is_kept_private_also_when_an_upgrade_finds_it_readable_by_all() {
    let h = Harness::new("config-mode");
    let run = h.install(&[], &[]);
    run.assert_ok();
    let config = h.at("/etc/streamserver/config.toml");
    let path = config.display().to_string();
    assert_eq!(mode(&config), 0o640);
    run.assert_called(&format!("sudo chown root:streamserver {path}"));
    assert!(!run.stdout.contains("was mode"), "{}", run.describe());

    // An older install, or an editor, left it world-readable; it may hold password hashes.
    fs::set_permissions(&config, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let run = h.install(&[], &[]);
    run.assert_ok();
    assert_eq!(mode(&config), 0o640, "made private again");
    assert!(
        run.stdout
            .contains("config /etc/streamserver/config.toml was mode 644: now 0640"),
        "{}",
        run.describe()
    );
    run.assert_calls_in_order(&[
        &format!("sudo chown root:streamserver {path}"),
        &format!("sudo chmod 0640 {path}"),
        "streamserver check-config --config",
    ]);
}

#[test]
fn upgrade_with_unchanged_config_writes_no_new_copy() {
    let h = Harness::new("same-config");
    h.install(&[], &[]).assert_ok();
    // A leftover from an earlier upgrade whose changes the user has merged since.
    fs::write(h.at("/etc/streamserver/config.toml.new"), "old").unwrap();

    let run = h.install(&[], &[]);
    run.assert_ok();
    assert!(run.stdout.contains("is up to date"), "{}", run.describe());
    assert!(!run.stdout.contains("diff -u"));
    assert!(!h.at("/etc/streamserver/config.toml.new").exists());
    assert_eq!(
        h.read("/etc/streamserver/config.toml"),
        installed_test_config()
    );
    run.assert_called("sudo systemctl restart streamserver.service");
}

#[test]
fn binary_options_skip_build_dependencies_and_cargo() {
    let h = Harness::new("binary");
    let server = h.prebuilt("fake_binary", "cross");
    let helper = h.prebuilt("fake_helper", "cross");
    let run = h.install(
        &[
            "--binary",
            server.to_str().unwrap(),
            "--camera-binary",
            helper.to_str().unwrap(),
        ],
        &[],
    );
    run.assert_ok();
    run.assert_called("sudo apt-get install -y --no-install-recommends libcamera-ipa");
    for build_dep in ["cmake", "nasm", "clang", "libcamera-dev", "pkg-config"] {
        assert!(
            !run.calls
                .iter()
                .any(|c| c.starts_with("apt-get") && c.contains(build_dep)),
            "{build_dep} installed\n{}",
            run.describe()
        );
    }
    run.assert_not_called("cargo");
    assert_eq!(
        fs::read(h.at("/usr/local/bin/streamserver")).unwrap(),
        fs::read(&server).unwrap()
    );
    assert_eq!(
        fs::read(h.at("/usr/local/bin/streamserver-camera")).unwrap(),
        fs::read(&helper).unwrap()
    );
    assert!(!h.repo.join("target").exists());
    run.assert_called("sudo systemctl enable --now streamserver.service");
}

#[test]
fn a_server_binary_alone_builds_only_the_helper_here() {
    // Cross-built server, helper built on the Pi against its own libcamera.
    let h = Harness::new("binary-server");
    let server = h.prebuilt("fake_binary", "cross");
    let run = h.install(&["--binary", server.to_str().unwrap()], &[]);
    run.assert_ok();
    run.assert_called("cargo build --release --locked -p streamserver-camera");
    assert!(!run.called("cargo build --release --locked -p streamserver "));
    assert!(h.at("/usr/local/bin/streamserver-camera").exists());
}

#[test]
fn camera_helper_only_replaces_the_helper_and_restarts_nothing() {
    let h = Harness::new("helper-only");
    h.install(&[], &[]).assert_ok();
    let server_before = fs::read(h.at("/usr/local/bin/streamserver")).unwrap();
    let run = h.install(&["--camera-helper-only"], &[("FAKE_BUILD_ID", "2")]);
    run.assert_ok();
    run.assert_called("cargo build --release --locked -p streamserver-camera");
    assert!(
        fs::read_to_string(h.at("/usr/local/bin/streamserver-camera"))
            .unwrap()
            .contains("fake build 2")
    );
    assert_eq!(
        fs::read(h.at("/usr/local/bin/streamserver")).unwrap(),
        server_before
    );
    run.assert_not_called("sudo systemctl");
    run.assert_not_called("sudo useradd");
    assert!(run.stdout.contains("next restart"), "{}", run.describe());
    h.assert_no_leftovers();
}

#[test]
fn a_helper_that_cannot_load_libcamera_stops_the_install_with_the_fix() {
    let h = Harness::new("helper-broken");
    let run = h.install(&[], &[("FAKE_HELPER_BROKEN", "1")]);
    run.assert_failed();
    assert!(
        run.stderr.contains("libcamera.so.0.4"),
        "{}",
        run.describe()
    );
    assert!(
        run.stderr.contains("--camera-helper-only"),
        "{}",
        run.describe()
    );
    assert!(!h.at("/usr/local/bin/streamserver").exists());
    run.assert_not_called("sudo systemctl");
}

#[test]
fn binary_option_rejects_a_missing_file() {
    let h = Harness::new("binary-missing");
    let run = h.install(&["--binary", "/nonexistent/streamserver"], &[]);
    run.assert_failed();
    assert!(
        run.stderr.contains("not an executable file"),
        "{}",
        run.describe()
    );
    run.assert_not_called("sudo");
}

#[test]
fn refuses_to_run_as_root_and_touches_nothing() {
    for script in SCRIPTS {
        let h = Harness::new("root");
        let run = h.run(script, &[], &[("FAKE_UID", "0")]);
        run.assert_failed();
        assert_eq!(run.code, Some(1));
        assert!(
            run.stderr.contains("do not run this as root"),
            "{}",
            run.describe()
        );
        // Only the uid was looked up.
        assert_eq!(run.calls, ["id -u"], "{}", run.describe());
        assert_eq!(fs::read_dir(&h.root).unwrap().count(), 0);
    }
}

#[test]
fn help_prints_usage_and_changes_nothing() {
    for script in SCRIPTS {
        let h = Harness::new("help");
        let run = h.run(script, &["--help"], &[]);
        run.assert_ok();
        assert!(run.stdout.starts_with("Usage: ./"), "{}", run.describe());
        assert!(run.calls.is_empty(), "{}", run.describe());
    }
    let h = Harness::new("bad-arg");
    let run = h.install(&["--frobnicate"], &[]);
    run.assert_failed();
    assert!(run.stderr.contains("unknown argument '--frobnicate'"));
}

#[test]
fn a_config_rejected_by_the_new_binary_stops_the_upgrade() {
    let h = Harness::new("bad-config");
    h.install(&[], &[]).assert_ok();

    let run = h.install(
        &[],
        &[("FAKE_BUILD_ID", "2"), ("FAKE_CHECK_CONFIG_FAIL", "1")],
    );
    run.assert_failed();
    assert!(run.stderr.contains("rejects /etc/streamserver/config.toml"));
    // The running version stays installed and nothing was restarted.
    let bin = fs::read_to_string(h.at("/usr/local/bin/streamserver")).unwrap();
    assert!(bin.contains("fake build 1"), "{bin}");
    run.assert_not_called("systemctl");
    h.assert_no_leftovers();
}

#[test]
fn a_service_that_does_not_start_fails_the_install() {
    let h = Harness::new("no-start");
    let run = h.install(&[], &[("FAKE_SYSTEMCTL_FAIL", "enable")]);
    run.assert_failed();
    assert!(
        run.stderr.contains("journalctl -u streamserver"),
        "{}",
        run.describe()
    );
    // The status is still shown, to help finding out why.
    run.assert_called("systemctl --no-pager --full status");
    assert!(!run.stdout.contains("streamserver is running"));
}
