//! Static checks of the deployment files: `install-service.sh` and `uninstall-service.sh` are
//! shellcheck-clean strict-mode bash, and `streamserver.service` passes `systemd-analyze verify`
//! and carries the settings the deployment issue asks for. The end-to-end runs of the scripts
//! are in `deploy_scripts.rs`.
//!
//! Needs `shellcheck` and `systemd-analyze` (Debian packages `shellcheck` and `systemd`): the
//! tests fail, rather than skip, when they are missing.

#[path = "deploy/harness.rs"]
mod harness;
use harness::*;
use std::fs;
use std::process::Command;

#[test]
fn scripts_are_shellcheck_clean() {
    let output = Command::new("shellcheck")
        .args(SCRIPTS)
        .current_dir(repo_dir())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run shellcheck ({e}): install it with `apt-get install -y shellcheck`")
        });
    assert!(
        output.status.success(),
        "shellcheck found problems:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn scripts_are_executable_bash_with_strict_mode() {
    for script in SCRIPTS {
        let path = repo_dir().join(script);
        assert_eq!(mode(&path) & 0o111, 0o111, "{script} is not executable");
        let text = fs::read_to_string(&path).unwrap();
        assert!(
            text.starts_with("#!/usr/bin/env bash\n"),
            "{script}: shebang"
        );
        assert!(
            text.contains("\nset -euo pipefail\n"),
            "{script}: strict mode"
        );
    }
}

/// `systemd-analyze verify` of the real unit. It insists that the ExecStart binary exists, so the
/// copy it checks differs only in the binary path of the Exec lines, which point at a stub.
#[test]
fn unit_passes_systemd_analyze_verify() {
    let h = Harness::new("verify");
    let stub = h.dir.join("streamserver-stub");
    write_executable(&stub, "#!/bin/sh\nexit 0\n");

    let unit = fs::read_to_string(repo_dir().join(UNIT)).unwrap();
    let copy = unit.replace("/usr/local/bin/streamserver", stub.to_str().unwrap());
    let changed: Vec<_> = unit
        .lines()
        .zip(copy.lines())
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a)
        .collect();
    assert_eq!(
        changed.len(),
        2,
        "only the Exec lines may change: {changed:?}"
    );
    assert!(
        changed.iter().all(|l| l.starts_with("ExecStart")),
        "{changed:?}"
    );
    let checked = h.dir.join(UNIT);
    fs::write(&checked, copy).unwrap();

    let output = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&checked)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run systemd-analyze ({e}): install Debian's `systemd` package")
        });
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "verify failed:\n{stderr}");
    // Unknown keys and bad values are only warnings ("..., ignoring.") with exit code 0.
    let complaints: Vec<_> = stderr
        .lines()
        .filter(|l| l.contains(UNIT) || l.contains("ignoring"))
        .collect();
    assert!(complaints.is_empty(), "verify complained:\n{stderr}");
}

/// The settings the deployment relies on, which `verify` cannot judge.
#[test]
fn unit_has_the_required_settings() {
    let unit = fs::read_to_string(repo_dir().join(UNIT)).unwrap();
    let mut section = String::new();
    let mut settings = Vec::new(); // (section, key, value)
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        } else if let Some((k, v)) = line.split_once('=').filter(|_| !line.starts_with('#')) {
            settings.push((section.clone(), k.to_string(), v.to_string()));
        }
    }
    let has = |sec: &str, key: &str, value: &str| {
        settings
            .iter()
            .any(|(s, k, v)| s == sec && k == key && v == value)
    };
    let required = [
        ("[Unit]", "StartLimitIntervalSec", "300"),
        ("[Unit]", "StartLimitBurst", "5"),
        ("[Service]", "Type", "notify"),
        ("[Service]", "NotifyAccess", "main"),
        ("[Service]", "WatchdogSec", "30s"),
        (
            "[Service]",
            "ExecStart",
            "/usr/local/bin/streamserver --config /etc/streamserver/config.toml",
        ),
        ("[Service]", "Restart", "on-failure"),
        ("[Service]", "RestartSec", "5s"),
        ("[Service]", "User", "streamserver"),
        ("[Service]", "SupplementaryGroups", "video"),
        ("[Service]", "NoNewPrivileges", "yes"),
        ("[Service]", "ProtectSystem", "strict"),
        ("[Service]", "ProtectHome", "yes"),
        ("[Service]", "PrivateTmp", "yes"),
        ("[Service]", "ReadWritePaths", "/var/log/streamserver"),
        ("[Service]", "StateDirectory", "streamserver"),
        ("[Service]", "LimitNOFILE", "4096"),
        ("[Service]", "CapabilityBoundingSet", ""),
        ("[Service]", "DevicePolicy", "closed"),
        ("[Service]", "DeviceAllow", "char-video4linux rw"),
        ("[Service]", "DeviceAllow", "char-media rw"),
        ("[Service]", "DeviceAllow", "char-dma_heap rw"),
        ("[Service]", "ProtectKernelTunables", "yes"),
        ("[Service]", "ProtectControlGroups", "yes"),
        (
            "[Service]",
            "RestrictAddressFamilies",
            "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        ),
        ("[Service]", "LockPersonality", "yes"),
        ("[Service]", "MemoryDenyWriteExecute", "yes"),
        ("[Install]", "WantedBy", "multi-user.target"),
    ];
    for (sec, key, value) in required {
        assert!(has(sec, key, value), "missing {sec} {key}={value}");
    }
    // The sandbox must leave exactly one writable path.
    let writable: Vec<_> = settings
        .iter()
        .filter(|(_, k, _)| k == "ReadWritePaths")
        .collect();
    assert_eq!(writable.len(), 1, "{writable:?}");
    // DeviceAllow takes a /dev path (no globs) or char-/block- plus a /proc/devices name.
    for (_, _, v) in settings.iter().filter(|(_, k, _)| k == "DeviceAllow") {
        let (spec, access) = v.split_once(' ').expect("DeviceAllow needs an access mode");
        assert!(access.chars().all(|c| "rwm".contains(c)), "{v}");
        if spec.starts_with('/') {
            assert!(spec.starts_with("/dev/"), "{v}");
            assert!(
                !spec.contains(['*', '?', '[']),
                "globs do not work in paths: {v}"
            );
        } else {
            assert!(
                spec.starts_with("char-") || spec.starts_with("block-"),
                "{v}"
            );
        }
    }
    assert!(!has("[Service]", "User", "root"));
}

// ---- install-service.sh -------------------------------------------------------------------------
