//! Build script: decides whether this helper has libcamera support.
//!
//! libcamera is always compiled in on the Pi's architectures (aarch64, arm), where the crate is
//! an unconditional target dependency; elsewhere only with `--features libcamera`, so a default
//! x86_64 build works on machines without libcamera >= 0.4 (it runs the synthetic camera only).
//! The code tests `cfg(has_libcamera)`; the version built against comes from the libcamera
//! crate's headers (`libcamera::version::VERSION`), the one loaded from the library at run time.

fn main() {
    println!("cargo:rustc-check-cfg=cfg(has_libcamera)");
    println!("cargo:rerun-if-changed=build.rs");
    let feature = std::env::var_os("CARGO_FEATURE_LIBCAMERA").is_some();
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH").unwrap_or_default();
    if feature || arch == "aarch64" || arch == "arm" {
        println!("cargo:rustc-cfg=has_libcamera");
    }
}
