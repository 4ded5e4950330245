//! Log files of the real binary: `main.log` gets everything at the configured level,
//! `error.log` only warnings and errors; the log directory is created if missing; with daily
//! rotation `main.log` is a symlink to the dated file. A test source that fails after a few
//! frames makes the supervisor log an error ("source failed; restarting").

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::client::get;
use common::{ServerProcess, TempDir};

const READY: &str = "streamserver ready";
const FAILED: &str = "source failed; restarting";

fn config(rotation: &str) -> String {
    format!(
        r#"[logging]
dir = "var/log/nested"
rotation = "{rotation}"
level = "info"
console = false

[[stream]]
id = "main"
source = "test"

[stream.test]
width = 160
height = 120
fail_after_frames = 5

[stream.supervisor]
backoff_initial = "100ms"
backoff_max = "200ms"
"#
    )
}

/// Runs the binary with `rotation` until the source has failed at least once, then SIGTERM.
fn run_until_a_restart(dir: &TempDir, rotation: &str) {
    let cfg = dir.write("config.toml", &config(rotation));
    assert!(!dir.path().join("var").exists());
    let mut server = ServerProcess::spawn(dir.path(), &["--config", cfg.to_str().unwrap()]);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let t0 = Instant::now();
        loop {
            let state = get(server.addr, "/api/state").await.json();
            if state["streams"][0]["restarts"].as_u64().unwrap_or(0) >= 1 {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "no restart within 10 s: {state}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    server.signal(libc::SIGTERM);
    let status = server
        .wait_exit(Duration::from_secs(5))
        .expect("exits within 5 s of SIGTERM");
    assert_eq!(status.code(), Some(0), "{}", server.stderr());
    assert!(
        server.stderr().is_empty(),
        "console = false: nothing on stderr, got {:?}",
        server.stderr()
    );
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn check_contents(main: &str, errors: &str) {
    assert!(
        main.contains(READY),
        "main.log lacks the info line:\n{main}"
    );
    assert!(
        main.contains(FAILED),
        "main.log lacks the error line:\n{main}"
    );
    assert!(
        errors.contains(FAILED),
        "error.log lacks the error line:\n{errors}"
    );
    assert!(
        !errors.contains(READY),
        "error.log must not contain info lines:\n{errors}"
    );
    let error_line = errors.lines().find(|l| l.contains(FAILED)).unwrap();
    assert!(error_line.contains("ERROR"), "{error_line}");
    assert!(
        errors
            .lines()
            .all(|l| l.contains("ERROR") || l.contains("WARN")),
        "error.log holds only warnings and errors:\n{errors}"
    );
}

#[test]
fn never_rotation_writes_main_and_error_log_by_level() {
    let dir = TempDir::new("logs-never");
    run_until_a_restart(&dir, "never");
    let logs = dir.path().join("var/log/nested");
    let mut names: Vec<String> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["error.log", "main.log"]);
    check_contents(
        &read(&logs.join("main.log")),
        &read(&logs.join("error.log")),
    );
}

#[test]
fn daily_rotation_links_main_log_to_the_dated_file() {
    let dir = TempDir::new("logs-daily");
    run_until_a_restart(&dir, "daily");
    let logs = dir.path().join("var/log/nested");
    for name in ["main", "error"] {
        let link = logs.join(format!("{name}.log"));
        let meta = std::fs::symlink_metadata(&link).unwrap();
        assert!(meta.file_type().is_symlink(), "{name}.log is a symlink");
        let target = std::fs::read_link(&link).unwrap();
        let file = target.file_name().unwrap().to_string_lossy().into_owned();
        let date = file
            .strip_prefix(&format!("{name}."))
            .and_then(|f| f.strip_suffix(".log"))
            .unwrap_or_else(|| panic!("dated file name {file}"));
        assert!(
            date.len() == 10
                && date.bytes().enumerate().all(|(i, b)| if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }),
            "{file} is {name}.YYYY-MM-DD.log"
        );
        assert!(logs.join(&file).is_file(), "{file} exists next to the link");
    }
    check_contents(
        &read(&logs.join("main.log")),
        &read(&logs.join("error.log")),
    );
}
