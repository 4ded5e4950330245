//! Tests of the deployment files at the top of the repository: `install-service.sh`,
//! `uninstall-service.sh` and `streamserver.service`.
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

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository, where the real scripts and unit live.
fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

const SCRIPTS: [&str; 2] = ["install-service.sh", "uninstall-service.sh"];
const UNIT: &str = "streamserver.service";

/// The `config.toml` the harness puts next to the scripts.
const TEST_CONFIG: &str = r#"# test config
[server]
listen = "0.0.0.0:9090"

[logging]
level = "info"
dir = "logs"
"#;

/// What the installer must make of [`TEST_CONFIG`]: logs go to /var/log/streamserver.
fn installed_test_config() -> String {
    TEST_CONFIG.replace(r#"dir = "logs""#, r#"dir = "/var/log/streamserver""#)
}

/// Every fake starts by logging its name and arguments.
const FAKE_PRELUDE: &str = r#"#!/bin/bash
set -u
echo "$(basename "$0") $*" >>"$FAKE_LOG"
"#;

/// The fake commands: name and body (after [`FAKE_PRELUDE`]).
const FAKES: &[(&str, &str)] = &[
    (
        "sudo",
        r#"# Refuse real system paths: every path the scripts touch must carry the prefix.
for arg in "$@"; do
    case $arg in
    /etc/streamserver* | /etc/systemd/* | /usr/local/* | /var/log/streamserver*)
        echo "fake sudo: unprefixed system path: $arg" >&2
        exit 97
        ;;
    esac
done
exec "$@"
"#,
    ),
    (
        "systemctl",
        r#"if [[ " $* " == *" status "* ]]; then
    echo "* streamserver.service - fake status output"
    exit 3
fi
if [[ " ${FAKE_SYSTEMCTL_FAIL:-} " == *" ${1:-} "* ]]; then
    echo "fake systemctl: $1 failed" >&2
    exit 1
fi
"#,
    ),
    ("apt-get", ""),
    ("groupadd", ""),
    ("usermod", ""),
    // Tests run as root: changing ownership to a user that only exists in the fake user
    // database would fail, so chown is only logged.
    ("chown", ""),
    ("useradd", r#"touch "$FAKE_STATE/user-${*: -1}""#),
    ("userdel", r#"rm "$FAKE_STATE/user-${*: -1}""#),
    (
        "getent",
        r#"case ${1:-} in
passwd | group)
    if [[ "$1 ${2:-}" == "group video" || -e "$FAKE_STATE/user-${2:-}" ]]; then
        echo "$2:x:999:999::/nonexistent:/usr/sbin/nologin"
        exit 0
    fi
    exit 2
    ;;
esac
exit 1
"#,
    ),
    (
        "id",
        r#"if [[ "$*" == -u ]]; then
    echo "${FAKE_UID:-1000}"
elif [[ "${1:-}" == -nG && -e "$FAKE_STATE/user-${2:-}" ]]; then
    echo "$2 video"
else
    exit 1
fi
"#,
    ),
    (
        "hostname",
        r#"if [[ "${1:-}" == -I ]]; then echo "192.0.2.10 2001:db8::10 "; else echo testpi; fi
"#,
    ),
    (
        "cargo",
        r#"out=${CARGO_TARGET_DIR:-target}/release
mkdir -p "$out"
fake_binary "${FAKE_BUILD_ID:-1}" >"$out/streamserver"
chmod 755 "$out/streamserver"
"#,
    ),
    // Writes the script that stands in for the streamserver binary, tagged with its build id.
    (
        "fake_binary",
        r#"cat <<EOF
#!/bin/bash
# fake streamserver, build $1
case "\$1" in
--version) echo "streamserver 0.1.0 (fake build $1)" ;;
check-config)
    echo "streamserver \$*" >>"\$FAKE_LOG"
    [[ -z "\${FAKE_CHECK_CONFIG_FAIL:-}" ]] || { echo "config.toml: bad key" >&2; exit 1; }
    [[ "\$2" == --config && -r "\$3" ]]
    ;;
*) exit 2 ;;
esac
EOF
"#,
    ),
];

/// A temporary directory with a copy of the deployment files, the fakes and a root prefix.
struct Harness {
    dir: PathBuf,
    /// Copies of the scripts, the unit and [`TEST_CONFIG`] as `config.toml`.
    repo: PathBuf,
    /// `STREAMSERVER_ROOT`.
    root: PathBuf,
    fakes: PathBuf,
    log: PathBuf,
    state: PathBuf,
    tmp: PathBuf,
}

impl Harness {
    fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("streamserver-deploy-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let h = Harness {
            repo: dir.join("repo"),
            root: dir.join("root"),
            fakes: dir.join("fakes"),
            log: dir.join("calls.log"),
            state: dir.join("state"),
            tmp: dir.join("tmp"),
            dir,
        };
        for d in [&h.repo, &h.root, &h.fakes, &h.state, &h.tmp] {
            fs::create_dir_all(d).unwrap();
        }
        for file in SCRIPTS.iter().chain([&UNIT]) {
            fs::copy(repo_dir().join(file), h.repo.join(file))
                .unwrap_or_else(|e| panic!("copy {file}: {e}"));
        }
        fs::write(h.repo.join("config.toml"), TEST_CONFIG).unwrap();
        for (name, body) in FAKES {
            write_executable(&h.fakes.join(name), &format!("{FAKE_PRELUDE}{body}"));
        }
        fs::write(&h.log, "").unwrap();
        h
    }

    /// Runs a script from the repo copy with the fakes first on PATH and a clean environment.
    fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
        let path = format!(
            "{}:{}",
            self.fakes.display(),
            std::env::var("PATH").unwrap()
        );
        let output = Command::new(self.repo.join(script))
            .args(args)
            .env_clear()
            .env("PATH", path)
            .env("HOME", &self.dir)
            .env("TMPDIR", &self.tmp)
            .env("LANG", "C")
            .env("STREAMSERVER_ROOT", &self.root)
            .env("FAKE_LOG", &self.log)
            .env("FAKE_STATE", &self.state)
            .envs(env.iter().copied())
            .output()
            .unwrap_or_else(|e| panic!("run {script}: {e}"));
        let calls = fs::read_to_string(&self.log).unwrap();
        fs::write(&self.log, "").unwrap(); // each run's calls are looked at on their own
        Run::new(script, output, calls)
    }

    fn install(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run("install-service.sh", args, env)
    }

    fn uninstall(&self, env: &[(&str, &str)]) -> Run {
        self.run("uninstall-service.sh", &[], env)
    }

    /// A path inside the temp root, e.g. `at("/etc/streamserver")`.
    fn at(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    fn read(&self, path: &str) -> String {
        fs::read_to_string(self.at(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    fn user_exists(&self) -> bool {
        self.state.join("user-streamserver").exists()
    }

    /// Asserts the run left nothing in TMPDIR or next to the installed binary.
    fn assert_no_leftovers(&self) {
        let tmp: Vec<_> = fs::read_dir(&self.tmp).unwrap().collect();
        assert!(tmp.is_empty(), "temp files left behind: {tmp:?}");
        if let Ok(entries) = fs::read_dir(self.at("/usr/local/bin")) {
            let names: Vec<_> = entries.map(|e| e.unwrap().file_name()).collect();
            assert!(
                names.iter().all(|n| n == "streamserver"),
                "staged binaries left behind: {names:?}"
            );
        }
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn write_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The outcome of one script run.
struct Run {
    script: String,
    code: Option<i32>,
    stdout: String,
    stderr: String,
    /// The fakes' log lines, e.g. `sudo systemctl daemon-reload`.
    calls: Vec<String>,
}

impl Run {
    fn new(script: &str, output: Output, calls: String) -> Self {
        Run {
            script: script.to_string(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            calls: calls.lines().map(str::to_string).collect(),
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} exited {:?}\n--- stdout\n{}--- stderr\n{}--- calls\n{}",
            self.script,
            self.code,
            self.stdout,
            self.stderr,
            self.calls.join("\n")
        )
    }

    fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{}", self.describe());
        self
    }

    fn assert_failed(&self) -> &Self {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "expected a failure\n{}",
            self.describe()
        );
        self
    }

    fn called(&self, prefix: &str) -> bool {
        self.calls.iter().any(|c| c.starts_with(prefix))
    }

    /// Asserts that calls starting with these prefixes happened in this order (others may be
    /// in between).
    fn assert_calls_in_order(&self, expected: &[&str]) {
        let mut rest = self.calls.iter();
        for want in expected {
            assert!(
                rest.any(|c| c.starts_with(want)),
                "no `{want}` call in the expected order {expected:?}\n{}",
                self.describe()
            );
        }
    }

    fn assert_called(&self, prefix: &str) {
        assert!(
            self.called(prefix),
            "`{prefix}` was not called\n{}",
            self.describe()
        );
    }

    fn assert_not_called(&self, prefix: &str) {
        assert!(
            !self.called(prefix),
            "`{prefix}` was called\n{}",
            self.describe()
        );
    }
}

fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

// ---- Static checks ------------------------------------------------------------------------------

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

#[test]
fn fresh_install_builds_installs_and_starts() {
    let h = Harness::new("fresh");
    let run = h.install(&[], &[]);
    run.assert_ok();

    // Files.
    let bin = h.at("/usr/local/bin/streamserver");
    assert!(fs::read_to_string(&bin).unwrap().contains("fake build 1"));
    assert_eq!(mode(&bin), 0o755);
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
    assert!(h.user_exists());
    h.assert_no_leftovers();

    // Commands, in order; the privileged ones through sudo, the build as the user.
    run.assert_calls_in_order(&[
        "sudo apt-get update",
        "sudo apt-get install -y --no-install-recommends build-essential cmake nasm pkg-config \
         clang libclang-dev libcamera-dev libcamera-ipa",
        "cargo build --release --locked",
        "sudo useradd --system --user-group --groups video",
        "streamserver check-config --config",
        "sudo systemctl daemon-reload",
        "sudo systemctl enable --now streamserver.service",
        "systemctl --no-pager --full status streamserver.service",
    ]);
    run.assert_not_called("sudo cargo");
    run.assert_not_called("systemctl restart");
    run.assert_called(&format!(
        "sudo chown streamserver:streamserver {}",
        h.at("/var/log/streamserver").display()
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
fn binary_option_skips_build_dependencies_and_cargo() {
    let h = Harness::new("binary");
    let prebuilt = h.dir.join("streamserver");
    let fake = Command::new(h.fakes.join("fake_binary"))
        .arg("cross")
        .env("FAKE_LOG", &h.log)
        .output()
        .unwrap();
    write_executable(&prebuilt, &String::from_utf8(fake.stdout).unwrap());

    let run = h.install(&["--binary", prebuilt.to_str().unwrap()], &[]);
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
        fs::read(&prebuilt).unwrap()
    );
    assert!(!h.repo.join("target").exists());
    run.assert_called("sudo systemctl enable --now streamserver.service");
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

// ---- uninstall-service.sh -----------------------------------------------------------------------

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
