//! Unit tests of the version strings.

use super::*;

#[test]
fn hello_fields_fit_the_protocol_and_say_what_was_built() {
    let hello = hello();
    assert_eq!(hello.helper_version, env!("CARGO_PKG_VERSION"));
    if cfg!(has_libcamera) {
        assert!(hello.libcamera_built.starts_with("0."), "{hello:?}");
        assert!(!hello.libcamera_loaded.is_empty());
    } else {
        assert_eq!(hello.libcamera_built, NONE);
        assert_eq!(hello.libcamera_loaded, NONE);
    }
    let mut out = Vec::new();
    streamserver::source::camera::protocol::MessageWriter::hello(&mut out, &hello).unwrap();
}

#[test]
fn odd_version_strings_are_made_to_fit() {
    assert_eq!(fit("v0.5.0+rpt"), "v0.5.0+rpt");
    assert_eq!(fit("a\nb\u{7}"), "a?b?");
    let long = "é".repeat(100); // 200 bytes
    let cut = fit(&long);
    assert!(cut.len() <= MAX_VERSION_BYTES && cut.chars().all(|c| c == 'é'));
    assert_eq!(cut.len(), 128);
}

#[test]
fn the_version_text_names_protocol_and_libcamera() {
    let text = text();
    assert!(text.starts_with(&format!("streamserver-camera {}\n", helper())));
    assert!(text.contains(&format!("\nprotocol {PROTOCOL_VERSION}\n")));
    assert!(text.contains("libcamera built against: "));
    if !cfg!(has_libcamera) {
        assert!(text.contains("built without libcamera"), "{text}");
    }
}
