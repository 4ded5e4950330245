//! Unit tests of the relay source's own logic (the config section is tested in
//! `config::source`; relaying real upstreams in `tests/source_relay*.rs`).

use super::*;

fn config(text: &str) -> RelayConfig {
    toml::from_str(text).expect("a relay table")
}

#[test]
fn configured_credentials_override_the_url() {
    let c = config("url = \"http://a:b@cam/\"\nusername = \"user\"\npassword = \"p@ss\"");
    assert_eq!(
        target(&c).unwrap().authorization(),
        Some("Basic dXNlcjpwQHNz")
    );
    let c = config("url = \"http://a:b@cam/\"");
    assert_eq!(target(&c).unwrap().authorization(), Some("Basic YTpi"));
}

#[test]
fn only_bad_settings_are_final() {
    assert!(!RelayError::BadUrl(ClientError::ReadTimeout).is_retryable());
    let upstream = RelayError::Upstream {
        url: "http://cam/".into(),
        source: ClientError::NotMultipart {
            content_type: "text/html".into(),
        },
    };
    assert!(upstream.is_retryable());
    assert!(upstream.to_string().contains("text/html"), "{upstream}");
}
