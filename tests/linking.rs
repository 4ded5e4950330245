//! The `streamserver` binary never links libcamera (nor the C++ runtime it needs): only the
//! camera helper `streamserver-camera` must match the Pi's libcamera, whose library name changes
//! with every minor release. Checked on the built binary's dynamic section (`readelf -d`).

use std::process::Command;

#[test]
fn the_server_binary_needs_no_libcamera_and_no_cpp_runtime() {
    let out = Command::new("readelf")
        .args(["-d", env!("CARGO_BIN_EXE_streamserver")])
        .output()
        .expect("readelf (binutils; scripts/deps.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let needed: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("(NEEDED)"))
        .filter_map(|l| l.split_once('[')?.1.split_once(']').map(|(lib, _)| lib))
        .collect();
    assert!(
        needed.iter().any(|lib| lib.starts_with("libc.so")),
        "no NEEDED entries parsed: {text}"
    );
    for lib in &needed {
        assert!(
            !lib.starts_with("libcamera") && !lib.starts_with("libstdc++"),
            "streamserver needs {lib}: {needed:?}"
        );
    }
}
