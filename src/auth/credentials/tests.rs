//! Unit tests of `auth::credentials`.

use super::*;

fn basic(user_pass: &str) -> Vec<u8> {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(user_pass)
    )
    .into_bytes()
}

/// (header, token query, expected)
type Row = (Option<Vec<u8>>, Option<&'static str>, &'static str);

#[test]
fn authorization_headers_are_parsed() {
    let long = vec![b'A'; MAX_AUTHORIZATION_BYTES + 1];
    // (header, token query, expected: "basic:name:password" | "token:…" | "none" | "malformed")
    let table: Vec<Row> = vec![
        (Some(basic("alice:pw")), None, "basic:alice:pw"),
        (Some(basic("alice:p:w:")), None, "basic:alice:p:w:"),
        (Some(basic("alice:")), None, "basic:alice:"),
        (Some(basic(":pw")), None, "basic::pw"),
        (Some(basic("älice:pässwörd")), None, "basic:älice:pässwörd"),
        (
            Some(b"basic   YWxpY2U6cHc=".to_vec()),
            None,
            "basic:alice:pw",
        ),
        (Some(b"Basic YWxpY2U6cHc".to_vec()), None, "basic:alice:pw"),
        (Some(basic("alice:pw")), Some("tok"), "basic:alice:pw"),
        (Some(b"Bearer abc".to_vec()), None, "token:abc"),
        (Some(b"bearer abc ".to_vec()), Some("other"), "token:abc"),
        (None, Some("abc"), "token:abc"),
        (None, Some(""), "none"),
        (None, None, "none"),
        (Some(basic("alice")), None, "malformed"),
        (Some(b"Basic !!!".to_vec()), None, "malformed"),
        (Some(b"Basic".to_vec()), None, "malformed"),
        (Some(b"Basic ".to_vec()), None, "malformed"),
        (Some(b"Digest username=\"a\"".to_vec()), None, "malformed"),
        (Some(b"".to_vec()), None, "malformed"),
        (Some(long), None, "malformed"),
    ];
    for (header, query, want) in table {
        let got = match presented(header.as_deref(), query) {
            Presented::None => "none".to_string(),
            Presented::Malformed => "malformed".to_string(),
            Presented::Token(t) => format!("token:{}", String::from_utf8_lossy(t)),
            Presented::Basic { name, password } => format!(
                "basic:{}:{}",
                String::from_utf8_lossy(&name),
                String::from_utf8_lossy(&password)
            ),
        };
        assert_eq!(
            got,
            want,
            "{:?} {query:?}",
            header.map(|h| String::from_utf8_lossy(&h).into_owned())
        );
    }
}

#[test]
fn digests_are_keyed_and_separate_domains() {
    let key = DigestKey::random().unwrap();
    let other = DigestKey::random().unwrap();
    assert!(key.basic(b"a", b"pw").matches(&key.basic(b"a", b"pw")));
    assert!(!key.basic(b"a", b"pw").matches(&key.basic(b"a", b"pW")));
    assert!(!key.basic(b"a", b"pw").matches(&key.basic(b"b", b"pw")));
    assert!(!key.basic(b"a", b"b\0c").matches(&key.basic(b"a\0b", b"c")));
    assert!(
        !key.basic(b"a", b"pw").matches(&other.basic(b"a", b"pw")),
        "per-key"
    );
    assert!(
        !key.token(b"basic\0a\0pw").matches(&key.basic(b"a", b"pw")),
        "per-domain"
    );
    assert!(key.token(b"t").matches(&key.token(b"t")));
}
