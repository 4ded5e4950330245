//! The harness of `tests/deploy_scripts.rs`: a temporary root, fake system commands that log
//! their calls, and helpers to run the scripts and read what they did.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository, where the real scripts and unit live.
pub fn repo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub const SCRIPTS: [&str; 2] = ["install-service.sh", "uninstall-service.sh"];
pub const UNIT: &str = "streamserver.service";

/// The `config.toml` the harness puts next to the scripts.
pub const TEST_CONFIG: &str = r#"# test config
[server]
listen = "0.0.0.0:9090"

[logging]
level = "info"
dir = "logs"
"#;

/// What the installer must make of [`TEST_CONFIG`]: logs go to /var/log/streamserver.
pub fn installed_test_config() -> String {
    TEST_CONFIG.replace(r#"dir = "logs""#, r#"dir = "/var/log/streamserver""#)
}

/// Every fake starts by logging its name and arguments.
pub const FAKE_PRELUDE: &str = r#"#!/bin/bash
set -u
echo "$(basename "$0") $*" >>"$FAKE_LOG"
"#;

/// The fake commands: name and body (after [`FAKE_PRELUDE`]).
pub const FAKES: &[(&str, &str)] = &[
    (
        "sudo",
        r#"# Refuse real system paths: every path the scripts touch must carry the prefix.
for arg in "$@"; do
    case $arg in
    /etc/streamserver* | /etc/systemd/* | /usr/local/* | /var/log/streamserver* | /var/lib/streamserver*)
        echo "fake sudo: unprefixed system path: $arg" >&2
        exit 97
        ;;
    esac
done
# `sudo -u USER CMD`: runs CMD as the current user too (the target user is in the log).
if [[ ${1:-} == -u ]]; then shift 2; fi
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
# `cargo build ... -p streamserver -p streamserver-camera`: builds the packages named.
if [[ " $* " == *" -p streamserver "* ]]; then
    fake_binary "${FAKE_BUILD_ID:-1}" >"$out/streamserver"
    chmod 755 "$out/streamserver"
fi
if [[ " $* " == *" -p streamserver-camera "* ]]; then
    fake_helper "${FAKE_BUILD_ID:-1}" >"$out/streamserver-camera"
    chmod 755 "$out/streamserver-camera"
fi
"#,
    ),
    // Writes the script that stands in for the camera helper, tagged with its build id;
    // FAKE_HELPER_BROKEN makes it fail like a helper whose libcamera is gone.
    (
        "fake_helper",
        r#"cat <<EOF
#!/bin/bash
# fake streamserver-camera, build $1
echo "streamserver-camera \$*" >>"\$FAKE_LOG"
if [[ -n "\${FAKE_HELPER_BROKEN:-}" ]]; then
    echo "streamserver-camera: error while loading shared libraries: libcamera.so.0.4: cannot open shared object file" >&2
    exit 127
fi
case "\$1" in
version) echo "streamserver-camera 0.1.0 (fake build $1)"; echo "libcamera built 0.4.0, loaded 0.4.0" ;;
*) exit 2 ;;
esac
EOF
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
pub struct Harness {
    pub dir: PathBuf,
    /// Copies of the scripts, the unit and [`TEST_CONFIG`] as `config.toml`.
    pub repo: PathBuf,
    /// `STREAMSERVER_ROOT`.
    pub root: PathBuf,
    pub fakes: PathBuf,
    pub log: PathBuf,
    pub state: PathBuf,
    pub tmp: PathBuf,
}

impl Harness {
    pub fn new(name: &str) -> Self {
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
    pub fn run(&self, script: &str, args: &[&str], env: &[(&str, &str)]) -> Run {
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

    pub fn install(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run("install-service.sh", args, env)
    }

    pub fn uninstall(&self, env: &[(&str, &str)]) -> Run {
        self.run("uninstall-service.sh", &[], env)
    }

    /// A path inside the temp root, e.g. `at("/etc/streamserver")`.
    pub fn at(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    pub fn read(&self, path: &str) -> String {
        fs::read_to_string(self.at(path)).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    pub fn user_exists(&self) -> bool {
        self.state.join("user-streamserver").exists()
    }

    /// Writes a prebuilt binary made by the fake `fake_binary` or `fake_helper` (tagged `build`)
    /// into the harness directory; returns its path.
    pub fn prebuilt(&self, maker: &str, build: &str) -> PathBuf {
        let out = Command::new(self.fakes.join(maker))
            .arg(build)
            .env("FAKE_LOG", &self.log)
            .output()
            .unwrap();
        let path = self.dir.join(format!("{maker}-{build}"));
        write_executable(&path, &String::from_utf8(out.stdout).unwrap());
        path
    }

    /// Asserts the run left nothing in TMPDIR or next to the installed binaries.
    pub fn assert_no_leftovers(&self) {
        let tmp: Vec<_> = fs::read_dir(&self.tmp).unwrap().collect();
        assert!(tmp.is_empty(), "temp files left behind: {tmp:?}");
        if let Ok(entries) = fs::read_dir(self.at("/usr/local/bin")) {
            let names: Vec<_> = entries.map(|e| e.unwrap().file_name()).collect();
            assert!(
                names
                    .iter()
                    .all(|n| n == "streamserver" || n == "streamserver-camera"),
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

pub fn write_executable(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

/// The outcome of one script run.
pub struct Run {
    pub script: String,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    /// The fakes' log lines, e.g. `sudo systemctl daemon-reload`.
    pub calls: Vec<String>,
}

impl Run {
    pub fn new(script: &str, output: Output, calls: String) -> Self {
        Run {
            script: script.to_string(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
            calls: calls.lines().map(str::to_string).collect(),
        }
    }

    pub fn describe(&self) -> String {
        format!(
            "{} exited {:?}\n--- stdout\n{}--- stderr\n{}--- calls\n{}",
            self.script,
            self.code,
            self.stdout,
            self.stderr,
            self.calls.join("\n")
        )
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code, Some(0), "{}", self.describe());
        self
    }

    pub fn assert_failed(&self) -> &Self {
        assert!(
            self.code.is_some_and(|c| c != 0),
            "expected a failure\n{}",
            self.describe()
        );
        self
    }

    pub fn called(&self, prefix: &str) -> bool {
        self.calls.iter().any(|c| c.starts_with(prefix))
    }

    /// Asserts that calls starting with these prefixes happened in this order (others may be
    /// in between).
    pub fn assert_calls_in_order(&self, expected: &[&str]) {
        let mut rest = self.calls.iter();
        for want in expected {
            assert!(
                rest.any(|c| c.starts_with(want)),
                "no `{want}` call in the expected order {expected:?}\n{}",
                self.describe()
            );
        }
    }

    pub fn assert_called(&self, prefix: &str) {
        assert!(
            self.called(prefix),
            "`{prefix}` was not called\n{}",
            self.describe()
        );
    }

    pub fn assert_not_called(&self, prefix: &str) {
        assert!(
            !self.called(prefix),
            "`{prefix}` was called\n{}",
            self.describe()
        );
    }
}

pub fn mode(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

// ---- Static checks ------------------------------------------------------------------------------
