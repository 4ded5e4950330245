//! Unit tests of URL targets and redirects. (Requests against real local servers, plain and
//! TLS, are in `tests/source_snapshot_poll.rs` and `tests/source_relay*.rs`.)

use super::target::basic_auth;
use super::*;

#[test]
fn urls_with_port_path_credentials_and_ipv6() {
    let t = Target::parse("http://user:p%40ss@cam.local:8081/?action=stream").unwrap();
    assert_eq!((t.host(), t.port()), ("cam.local", 8081));
    assert_eq!(t.authority(), "cam.local:8081");
    assert_eq!(t.path(), "/?action=stream");
    // base64("user:p@ss")
    assert_eq!(t.authorization(), Some("Basic dXNlcjpwQHNz"));
    assert_eq!(t.display_url(), "http://cam.local:8081/?action=stream");
    let secret = Target::parse("http://cam/snap.cgi?user=admin&pwd=hunter2").unwrap();
    assert_eq!(
        secret.display_url(),
        "http://cam/snap.cgi?user=admin&pwd=***",
        "query secrets are masked wherever the URL is shown"
    );
    let t = t.with_credentials("a", "b");
    assert_eq!(t.authorization(), Some("Basic YTpi"));
    let t = Target::parse("http://[::1]/stream.mjpg").unwrap();
    assert_eq!((t.host(), t.port(), t.authority()), ("::1", 80, "[::1]"));
    assert!(t.authorization().is_none());
    assert_eq!(Target::parse("http://h").unwrap().path(), "/");
    for bad in ["ftp://h/", "h:80/x", "", "http:///x"] {
        assert!(Target::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn https_urls_default_to_port_443() {
    let t = Target::parse("https://cam/snap.jpg").unwrap();
    assert_eq!((t.scheme(), t.port()), (Scheme::Https, 443));
    assert_eq!(t.display_url(), "https://cam/snap.jpg");
}

#[test]
fn basic_auth_is_standard_base64_with_padding() {
    assert_eq!(basic_auth("a", "b"), "Basic YTpi");
    assert_eq!(basic_auth("ab", ""), "Basic YWI6");
    assert_eq!(basic_auth("", ""), "Basic Og==");
}

#[test]
fn url_errors_hide_the_password() {
    let err = Target::parse("ftp://u:secret@h/").unwrap_err().to_string();
    assert!(!err.contains("secret"), "{err}");
}

#[test]
fn redirects_keep_credentials_only_on_the_same_origin() {
    let t = Target::parse("http://u:p@cam:8080/a").unwrap();
    let same = t.redirect("/b?x=1").unwrap();
    assert_eq!(same.display_url(), "http://cam:8080/b?x=1");
    assert_eq!(same.authorization(), t.authorization());
    let absolute_same = t.redirect("http://cam:8080/c").unwrap();
    assert_eq!(absolute_same.authorization(), t.authorization());
    let other = t.redirect("https://cdn.example/c.jpg").unwrap();
    assert!(
        other.authorization().is_none(),
        "no credentials to another host"
    );
    assert!(t.redirect("mailto:x").is_err());
}

#[test]
fn only_lasting_errors_are_final() {
    assert!(!HttpClientError::Status { status: 404 }.is_retryable());
    assert!(HttpClientError::Status { status: 503 }.is_retryable());
    assert!(HttpClientError::Timeout("x").is_retryable());
}
