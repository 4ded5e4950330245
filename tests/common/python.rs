//! Python helpers of the real-client tests (OpenCV, Playwright driving Chromium): a module
//! imported or installed from PyPI once, and a script run with a time limit whose last line
//! of output is JSON. Shared by `tests/auth_clients.rs` and the camera crate's controls-page
//! test (included with `#[path]`).

use std::process::Command;

/// Whether `python3` can import `module`; if not, tries `pip install package` once.
pub fn python_module(module: &str, package: &str) -> Result<(), String> {
    let import = || {
        Command::new("python3")
            .args(["-c", &format!("import {module}")])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false)
    };
    if import() {
        return Ok(());
    }
    let pip = Command::new("python3")
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            package,
        ])
        .output()
        .map_err(|e| format!("cannot run python3: {e}"))?;
    if import() {
        Ok(())
    } else {
        Err(format!(
            "python3 cannot import {module} and `pip install {package}` failed: {}",
            String::from_utf8_lossy(&pip.stderr)
                .lines()
                .last()
                .unwrap_or("")
        ))
    }
}

pub fn run_python(args: &[&str]) -> serde_json::Value {
    let out = Command::new("timeout")
        .arg("60")
        .arg("python3")
        .args(args)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {text}"))
}
