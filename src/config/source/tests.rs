//! Unit tests of the source sections: URL checks, defaults, and errors that name their key.

use std::time::Duration;

use super::*;
use crate::config::check_http_url;

fn parse(text: &str) -> Result<crate::config::Config, String> {
    crate::config::Config::parse(text, std::path::Path::new("c.toml")).map_err(|e| e.to_string())
}

fn relay(text: &str) -> Result<RelayConfig, toml::de::Error> {
    toml::from_str(text)
}

#[test]
fn urls_are_checked() {
    assert!(check_http_url("http://cam.local/snap.jpg").is_ok());
    assert!(check_http_url("https://u:p@10.0.0.2:8443/cgi?x=1").is_ok());
    assert!(check_http_url("ftp://cam/snap.jpg")
        .unwrap_err()
        .contains("http"));
    assert!(check_http_url("cam.local/snap.jpg").is_err());
}

#[test]
fn http_config_errors_name_key_and_line() {
    let head = "[[stream]]\nid = \"c\"\nsource = \"http\"\n";
    let e = parse(head).unwrap_err();
    assert!(e.starts_with("c.toml:3: stream[0].http:"), "{e}");
    let e = parse(&format!("{head}[stream.http]\nfetch_max_fps = 2.0\n")).unwrap_err();
    assert!(
        e.starts_with("c.toml:4: stream[0].http.url: is required"),
        "{e}"
    );
    let e = parse(&format!(
        "{head}[stream.http]\nurl = \"http://cam/s.jpg\"\ntimeout = \"20s\"\n"
    ))
    .unwrap_err();
    assert!(
        e.starts_with("c.toml:6: stream[0].http.timeout:") && e.contains("stall_timeout"),
        "{e}"
    );
    let e = parse(&format!(
        "{head}[stream.http]\nurl = \"http://cam/s.jpg\"\nvalidate = \"maybe\"\n"
    ))
    .unwrap_err();
    assert!(
        e.contains("stream[0].http.validate") && e.contains("valid_jpeg"),
        "{e}"
    );
}

#[test]
fn http_config_checks_name_the_key() {
    let ok = SnapshotPollConfig {
        url: "http://cam/snap.jpg".into(),
        ..Default::default()
    };
    assert!(ok.validate().is_ok());
    let bad_min = SnapshotPollConfig {
        fetch_min_fps: 9.0,
        ..ok.clone()
    };
    assert_eq!(bad_min.validate().unwrap_err().0, "fetch_min_fps");
    let no_user = SnapshotPollConfig {
        password: Some("x".into()),
        ..ok.clone()
    };
    assert_eq!(no_user.validate().unwrap_err().0, "password");
    assert_eq!(
        SnapshotPollConfig::default().validate().unwrap_err().0,
        "url"
    );
}

#[test]
fn relay_defaults_and_durations() {
    let c = relay("url = \"http://cam/stream\"\nread_timeout = \"750ms\"").unwrap();
    assert_eq!(c.read_timeout, Duration::from_millis(750));
    assert_eq!(c.connect_timeout, Duration::from_secs(5));
    assert_eq!(c.max_frame_bytes, 16 * 1024 * 1024);
    assert!(!c.full_decode);
    assert_eq!(c.validate(), Ok(()));
    assert!(relay("url = \"http://cam/\"\nbogus = 1").is_err());
}

#[test]
fn relay_validate_names_the_bad_key() {
    let key = |text: &str| relay(text).unwrap().validate().unwrap_err().0;
    assert_eq!(key(""), "url");
    assert_eq!(key("url = \"ftp://cam/\""), "url");
    assert_eq!(
        key("url = \"http://cam/\"\nmax_frame_bytes = 0"),
        "max_frame_bytes"
    );
    assert_eq!(
        key("url = \"http://cam/\"\nread_timeout = \"0s\""),
        "read_timeout"
    );
    assert_eq!(key("url = \"http://cam/\"\npassword = \"x\""), "password");
    // https upstreams are accepted (the relay speaks TLS).
    assert_eq!(relay("url = \"https://cam/\"").unwrap().validate(), Ok(()));
}

#[test]
fn relay_without_its_table_or_url_is_a_config_error_naming_the_key() {
    let head = "[[stream]]\nid = \"cam\"\nsource = \"relay\"\n";
    let err = parse(head).unwrap_err();
    assert!(err.starts_with("c.toml:3: stream[0].relay: "), "{err}");
    let err = parse(&format!("{head}[stream.relay]\nread_timeout = \"1s\"\n")).unwrap_err();
    assert!(
        err.starts_with("c.toml:4: stream[0].relay.url: is required"),
        "{err}"
    );
    let err = parse(&format!(
        "{head}[stream.relay]\nurl = \"http://h/\"\nretry = 1\n"
    ))
    .unwrap_err();
    assert!(err.contains("stream[0].relay"), "{err}");
}

#[test]
fn config_needs_the_table_and_its_path_and_rejects_unknown_keys() {
    let head = "[[stream]]\nid = \"f\"\nsource = \"folder\"\n";
    let e = parse(head).unwrap_err();
    assert!(
        e.contains("stream[0].folder") && e.contains("[stream.folder]"),
        "{e}"
    );
    let e = parse(&format!("{head}[stream.folder]\nfull_decode = true\n")).unwrap_err();
    assert!(e.contains("stream[0].folder.path"), "{e}");
    assert!(e.starts_with("c.toml:4:"), "names the line: {e}");
    let e = parse(&format!(
        "{head}[stream.folder]\npath = \"/x\"\nbogus = 1\n"
    ))
    .unwrap_err();
    assert!(e.contains("bogus"), "{e}");
    let c = parse(&format!(
        "{head}[stream.folder]\npath = \"/x\"\non_stale = \"disconnect\"\nmax_frame_age = \"1m\"\n"
    ))
    .unwrap();
    let SourceConfig::Folder(f) = &c.streams[0].source else {
        panic!("expected a folder source");
    };
    assert_eq!(f.on_stale, OnStale::Disconnect);
    assert_eq!(f.max_frame_age, Some(Duration::from_secs(60)));
    assert_eq!(f.extensions, vec!["jpg", "jpeg"]);
    assert!(!f.full_decode);
}

/// The commented examples at the end of `config.toml`, uncommented, must parse and show the
/// defaults (so the documentation cannot drift from the code).
#[test]
fn the_documented_folder_and_http_examples_parse_to_the_defaults() {
    let shipped = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"));
    let start = shipped.find("# A folder of JPEGs").unwrap();
    let example: String = shipped[start..]
        .lines()
        .filter_map(|l| l.strip_prefix("# "))
        .filter(|l| l.starts_with('[') || l.contains(" = ") || l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let config =
        crate::config::Config::parse(&example, std::path::Path::new("example.toml")).unwrap();
    let SourceConfig::Folder(folder) = config.streams[0].source.clone() else {
        panic!("the first example is a folder source");
    };
    let want = FolderConfig {
        path: folder.path.clone(),
        ..Default::default()
    };
    assert_eq!(format!("{folder:?}"), format!("{want:?}"));
    let SourceConfig::SnapshotPoll(http) = config.streams[1].source.clone() else {
        panic!("the second example is an http source");
    };
    let want = SnapshotPollConfig {
        url: http.url.clone(),
        ..Default::default()
    };
    assert_eq!(format!("{http:?}"), format!("{want:?}"));
}
