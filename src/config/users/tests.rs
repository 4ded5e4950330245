//! Unit tests of `config::users`.

use super::secrets::tests::hash_with;
use super::*;

fn cheap_hash(plain: &str) -> String {
    hash_with(argon2::Algorithm::Argon2id, plain)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    user: Vec<UserConfig>,
}

const TOKEN: &str = "Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_x";

/// Parses like the config loader: errors as `key: message`.
fn parse(text: &str) -> Result<Vec<UserConfig>, String> {
    let de = toml::Deserializer::new(text);
    serde_path_to_error::deserialize::<_, File>(de)
        .map(|f| f.user)
        .map_err(|e| {
            let path = e.path().to_string();
            format!("{path}: {}", e.into_inner().message())
        })
}

fn entry(name: &str, extra: &str) -> String {
    format!("[[user]]\nname = \"{name}\"\n{extra}\n")
}

#[test]
fn a_full_entry_parses() {
    let hash = cheap_hash("pw");
    let text = entry(
        "alice",
        &format!(
            "password_hash = \"{hash}\"\ntoken = \"{TOKEN}\"\nallow = [\"192.168.1.0/24\", \"::1\"]\n\
             view = true\nstatus = [\"main\"]\ncontrol = false\nhealth = true"
        ),
    );
    let users = parse(&text).unwrap();
    let u = &users[0];
    assert_eq!(u.name.0, "alice");
    assert_eq!(u.password_hash.as_ref().unwrap().0, hash);
    assert_eq!(u.token.as_ref().unwrap().0, TOKEN);
    assert_eq!(u.allow.as_ref().unwrap().len(), 2);
    assert_eq!(u.view, Grant::All);
    assert_eq!(u.status, Grant::Streams(vec!["main".into()]));
    assert_eq!(u.control, Grant::Nothing);
    assert_eq!(u.health, Some(true));
    assert!(!u.is_anonymous());
    let shown = format!("{u:?}");
    assert!(
        !shown.contains(TOKEN) && !shown.contains(&hash),
        "Debug hides secrets: {shown}"
    );
    assert_eq!(validate_users(&users, &["main"]), Ok(()));
}

#[test]
fn bad_values_are_refused_at_parse_naming_the_key() {
    let hash = cheap_hash("pw");
    let table = [
        (
            entry("bob", "password_hash = \"hunter2\""),
            "user[0].password_hash: this is not a password hash (a plain-text password?)",
        ),
        (
            entry("bob", "password = \"hunter2\""),
            "user[0].password: unknown field `password`",
        ),
        (
            entry("bob", "token = \"short\""),
            "user[0].token: too short",
        ),
        (
            entry("bob", "allow = [\"192.168.1.1/24\"]"),
            "user[0].allow[0]: \"192.168.1.1/24\" has host bits set",
        ),
        (
            entry("bob", "allow = \"192.168.1.0/24\""),
            "user[0].allow: invalid type",
        ),
        (
            entry("bob", "view = \"yes\""),
            "user[0].view: invalid type: string \"yes\", expected true, false or a list",
        ),
        (
            entry("bob", "view = []"),
            "user[0].view: an empty list grants nothing",
        ),
        (
            entry("bob", "control = [1]"),
            "user[0].control[0]: invalid type: integer",
        ),
        (
            entry("bo:b", "view = true"),
            "user[0].name: invalid user name",
        ),
        (entry("", "view = true"), "user[0].name: invalid user name"),
        (
            format!(
                "{}{}",
                entry("a", &format!("password_hash = \"{hash}\"\nview = true")),
                entry("b", "health = 1")
            ),
            "user[1].health: invalid type",
        ),
    ];
    for (text, want) in table {
        let err = parse(&text).unwrap_err();
        assert!(err.starts_with(want), "{text}\n→ {err}\nwant {want}");
        assert!(
            !err.contains("hunter2"),
            "a plain password is never repeated: {err}"
        );
    }
}

#[test]
fn whole_list_checks_name_the_key() {
    let hash = cheap_hash("pw");
    let pw = format!("password_hash = \"{hash}\"");
    let tok = format!("token = \"{TOKEN}\"");
    let table: Vec<(String, &str)> = vec![
        (
            entry("bob", "view = true"),
            "user[0].name: user \"bob\" has neither password_hash nor token",
        ),
        (
            entry("anonymous", &format!("{pw}\nview = true")),
            "user[0].password_hash: the \"anonymous\" entry",
        ),
        (
            entry("anonymous", &format!("{tok}\nview = true")),
            "user[0].token: the \"anonymous\" entry",
        ),
        (
            entry("al", &format!("{pw}\nview = true"))
                + &entry("al", &format!("{pw}\nview = true")),
            "user[1].name: duplicate user name \"al\"",
        ),
        (
            entry("a", &format!("{tok}\nview = true"))
                + &entry("b", &format!("{tok}\nview = true")),
            "user[1].token: the same token as user[0] (\"a\")",
        ),
        (
            entry("a", &format!("{pw}\nview = [\"main\", \"frnt\"]")),
            "user[0].view: unknown stream id \"frnt\" (streams: main, front)",
        ),
        (
            entry("a", &format!("{pw}\ncontrol = [\"back\"]")),
            "user[0].control: unknown stream id \"back\"",
        ),
        (
            entry("a", &format!("{pw}\nview = true\nallow = []")),
            "user[0].allow: an empty list lets no address in",
        ),
        (entry("a", &pw), "user[0].name: user \"a\" grants nothing"),
        (
            entry("anonymous", "view = false"),
            "user[0].name: user \"anonymous\" grants nothing",
        ),
    ];
    for (text, want) in table {
        let users = parse(&text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let (key, message) = validate_users(&users, &["main", "front"]).unwrap_err();
        let got = format!("{key}: {message}");
        assert!(got.starts_with(want), "{text}\n→ {got}\nwant {want}");
        assert!(!got.contains(TOKEN) && !got.contains(&hash), "{got}");
    }
    let missing = parse(&entry("bob", "view = true")).unwrap();
    let (_, message) = validate_users(&missing, &["main"]).unwrap_err();
    assert!(message.contains("streamserver hash-password"), "{message}");
}

#[test]
fn valid_lists_pass() {
    let hash = cheap_hash("pw");
    let text = [
        entry(
            "anonymous",
            "view = [\"front\"]\nallow = [\"192.168.1.0/24\"]",
        ),
        entry(
            "anonymous",
            "status = true\nallow = [\"127.0.0.1\", \"::1\"]",
        ),
        entry("anonymous", "health = false"),
        entry(
            "alice",
            &format!("password_hash = \"{hash}\"\nview = true\ncontrol = true"),
        ),
        entry("robot", &format!("token = \"{TOKEN}\"\nview = [\"main\"]")),
    ]
    .concat();
    let users = parse(&text).unwrap();
    assert_eq!(validate_users(&users, &["main", "front"]), Ok(()));
    assert_eq!(validate_users(&[], &["main"]), Ok(()), "no users: open");
}

#[test]
fn grants_allow_their_streams_and_stream_less_requests() {
    let front = Grant::Streams(vec!["front".into()]);
    // (grant, stream, allowed?)
    let table = [
        (Grant::Nothing, None, false),
        (Grant::Nothing, Some("front"), false),
        (Grant::All, None, true),
        (Grant::All, Some("back"), true),
        (front.clone(), None, true),
        (front.clone(), Some("front"), true),
        (front, Some("back"), false),
    ];
    for (grant, stream, want) in table {
        assert_eq!(grant.allows(stream), want, "{grant:?} {stream:?}");
    }
}
