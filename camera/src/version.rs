//! The helper's versions: its own, the protocol's, and libcamera's — the one it was built
//! against (the libcamera crate's headers, `libcamera/version.h`) and the one the dynamic
//! loader actually loaded (asked of the library at run time). They go into the protocol's Hello
//! and `streamserver-camera version`.

use streamserver::source::camera::protocol::{Hello, MAX_VERSION_BYTES, PROTOCOL_VERSION};

/// What Hello says instead of a libcamera version in a build without libcamera.
#[cfg_attr(has_libcamera, allow(dead_code))]
pub const NONE: &str = "none (built without libcamera)";

pub fn helper() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// The libcamera version the helper was compiled against.
pub fn libcamera_built() -> String {
    #[cfg(has_libcamera)]
    {
        libcamera::version::VERSION.to_string()
    }
    #[cfg(not(has_libcamera))]
    {
        NONE.to_string()
    }
}

/// The libcamera version loaded at run time (e.g. `v0.5.0+rpt20250429`).
pub fn libcamera_loaded() -> String {
    #[cfg(has_libcamera)]
    {
        libcamera::version::runtime_version().to_string()
    }
    #[cfg(not(has_libcamera))]
    {
        NONE.to_string()
    }
}

/// The protocol's introduction, each field made fit for it (printable, at most its bound).
pub fn hello() -> Hello {
    Hello {
        helper_version: fit(helper()),
        libcamera_built: fit(&libcamera_built()),
        libcamera_loaded: fit(&libcamera_loaded()),
    }
}

/// `streamserver-camera version`.
pub fn text() -> String {
    format!(
        "streamserver-camera {}\nprotocol {PROTOCOL_VERSION}\nlibcamera built against: {}\nlibcamera loaded: {}\n",
        helper(),
        libcamera_built(),
        libcamera_loaded()
    )
}

/// `s` without control characters, cut to [`MAX_VERSION_BYTES`] at a character boundary.
fn fit(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().map(|c| if c.is_control() { '?' } else { c }) {
        if out.len() + c.len_utf8() > MAX_VERSION_BYTES {
            break;
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests;
