//! The decision rules, table-driven: permission × user × stream × address × credentials.

use std::net::IpAddr;
use std::time::Instant;

use base64::Engine;

use super::password::tests::cheap_hash;
use super::*;

pub(super) const TOKEN: &str = "Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_x";
pub(super) const LAN: &str = "192.168.1.20";
pub(super) const LAN_MAPPED: &str = "::ffff:192.168.1.20";
pub(super) const LO: &str = "127.0.0.1";
pub(super) const TEN: &str = "10.1.2.3";
pub(super) const WAN: &str = "203.0.113.5";
pub(super) const ULA: &str = "fd00::5";

pub(super) fn users(text: &str) -> Vec<UserConfig> {
    #[derive(serde::Deserialize)]
    struct File {
        user: Vec<UserConfig>,
    }
    let users = toml::from_str::<File>(text).unwrap().user;
    validate_users(&users, &["main", "front", "back"]).unwrap();
    users
}

/// Two anonymous entries, a password user for any address, one limited to 10/8, a token user.
pub(super) fn household() -> Vec<UserConfig> {
    users(&format!(
        r#"
        [[user]]
        name = "anonymous"
        allow = ["192.168.1.0/24"]
        view = ["front"]
        [[user]]
        name = "anonymous"
        allow = ["127.0.0.1", "::1"]
        status = true
        [[user]]
        name = "alice"
        password_hash = "{alice}"
        view = true
        status = true
        control = ["front"]
        [[user]]
        name = "bob"
        password_hash = "{bob}"
        allow = ["10.0.0.0/8"]
        view = ["back"]
        [[user]]
        name = "robot"
        token = "{TOKEN}"
        allow = ["192.168.1.0/24", "fd00::/8"]
        view = ["main"]
        health = true
        "#,
        alice = cheap_hash("alice-pw"),
        bob = cheap_hash("bob-pw"),
    ))
}

#[derive(Debug, Clone, Copy)]
pub(super) enum Creds {
    None,
    Basic(&'static str),
    Token(&'static str),
    Bearer(&'static str),
    Header(&'static str),
}

impl Creds {
    pub(super) fn header(self) -> Option<Vec<u8>> {
        match self {
            Creds::Basic(up) => Some(
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(up)
                )
                .into(),
            ),
            Creds::Bearer(t) => Some(format!("Bearer {t}").into()),
            Creds::Header(h) => Some(h.into()),
            _ => None,
        }
    }
}

pub(super) fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// check → (run → finish) at `now`, like `authorize` but synchronous.
pub(super) fn decide_at(
    auth: &Authenticator,
    cache: &mut AuthCache,
    peer: &str,
    creds: Creds,
    permission: Permission,
    stream: Option<&str>,
    now: Instant,
) -> Decision {
    let header = creds.header();
    let request = AuthRequest {
        peer: ip(peer),
        authorization: header.as_deref(),
        token: match creds {
            Creds::Token(t) => Some(t),
            _ => None,
        },
        permission,
        stream,
    };
    match auth.check(&request, cache, now) {
        Check::Done(d) => d,
        Check::Verify(pending) => auth.finish(pending.run_at(|| now), cache),
    }
}

pub(super) fn request<'a>(peer: &str, header: &'a [u8]) -> AuthRequest<'a> {
    AuthRequest {
        peer: ip(peer),
        authorization: Some(header),
        token: None,
        permission: Permission::View,
        stream: Some("main"),
    }
}

pub(super) fn basic(up: &'static str) -> Vec<u8> {
    Creds::Basic(up).header().unwrap()
}

/// `ok:<user or ->`, `401`, `403` or `429`.
pub(super) fn short(d: &Decision) -> String {
    match d {
        Decision::Allowed { user, .. } => format!("ok:{}", user.as_deref().unwrap_or("-")),
        other => other.http_status().as_u16().to_string(),
    }
}

#[test]
fn every_permission_user_stream_address_and_credential() {
    use Creds::*;
    use Permission::*;
    let table: &[(&str, Creds, Permission, Option<&str>, &str)] = &[
        // anonymous, by address
        (LAN, None, View, Some("front"), "ok:-"),
        (LAN, None, View, Some("main"), "401"),
        (LAN, None, View, Option::None, "ok:-"),
        (LAN, None, Status, Option::None, "401"),
        (LAN_MAPPED, None, View, Some("front"), "ok:-"),
        (LO, None, Status, Option::None, "ok:-"),
        ("::1", None, Status, Option::None, "ok:-"),
        (LO, None, View, Some("front"), "401"),
        (WAN, None, View, Some("front"), "401"),
        (LAN, None, Control, Some("front"), "401"),
        // alice: any address
        (LAN, Basic("alice:alice-pw"), View, Some("main"), "ok:alice"),
        (
            WAN,
            Basic("alice:alice-pw"),
            Status,
            Option::None,
            "ok:alice",
        ),
        (
            LAN,
            Basic("alice:alice-pw"),
            Control,
            Some("front"),
            "ok:alice",
        ),
        (LAN, Basic("alice:alice-pw"), Control, Some("back"), "403"),
        (
            LAN,
            Basic("alice:alice-pw"),
            Control,
            Option::None,
            "ok:alice",
        ),
        (LAN, Basic("alice:alice-pw"), Health, Option::None, "403"),
        (LAN, Basic("alice:wrong"), View, Some("front"), "401"),
        (LAN, Basic("alice:"), View, Some("main"), "401"),
        (LAN, Basic("Alice:alice-pw"), View, Some("main"), "401"),
        // bob: only from 10/8; elsewhere his correct password is a 401 like a wrong one
        (TEN, Basic("bob:bob-pw"), View, Some("back"), "ok:bob"),
        (TEN, Basic("bob:bob-pw"), View, Some("main"), "403"),
        (TEN, Basic("bob:bob-pw"), Status, Option::None, "403"),
        (LAN, Basic("bob:bob-pw"), View, Some("back"), "401"),
        (LAN, Basic("bob:bob-pw"), View, Some("front"), "401"),
        // unknown names, the anonymous name, malformed headers
        (WAN, Basic("mallory:x"), View, Some("main"), "401"),
        (LAN, Basic("anonymous:"), View, Some("front"), "401"),
        (LAN, Header("Basic %%%"), View, Some("front"), "401"),
        (LAN, Header("Negotiate abc"), View, Some("front"), "401"),
        // robot: token, from the LAN and fd00::/8; gets the LAN's anonymous grants too
        (LAN, Token(TOKEN), View, Some("main"), "ok:robot"),
        (LAN, Bearer(TOKEN), View, Some("main"), "ok:robot"),
        (ULA, Token(TOKEN), View, Some("main"), "ok:robot"),
        (LAN, Token(TOKEN), View, Some("front"), "ok:robot"),
        (LAN, Token(TOKEN), View, Some("back"), "403"),
        (LAN, Token(TOKEN), Health, Option::None, "ok:robot"),
        (TEN, Token(TOKEN), View, Some("main"), "401"),
        (
            LAN,
            Token("Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_y"),
            View,
            Some("main"),
            "401",
        ),
        (LAN, Bearer("nope"), View, Some("front"), "401"),
        // /health is configured (robot sets it): closed to anonymous requests
        (LAN, None, Health, Option::None, "401"),
    ];
    let now = Instant::now();
    for &(peer, creds, permission, stream, want) in table {
        let auth = Authenticator::new(&household()).unwrap();
        let got = decide_at(
            &auth,
            &mut AuthCache::default(),
            peer,
            creds,
            permission,
            stream,
            now,
        );
        assert_eq!(
            short(&got),
            want,
            "{peer} {creds:?} {permission:?} {stream:?}: {got:?}"
        );
    }
}

#[test]
fn without_users_everything_is_open_at_no_cost() {
    let auth = Authenticator::new(&[]).unwrap();
    assert!(!auth.is_enabled());
    assert!(!Authenticator::default().is_enabled());
    assert!(Authenticator::new(&household()).unwrap().is_enabled());
    for permission in [
        Permission::View,
        Permission::Status,
        Permission::Control,
        Permission::Health,
    ] {
        let got = decide_at(
            &auth,
            &mut AuthCache::default(),
            WAN,
            Creds::Basic("x:y"),
            permission,
            Some("main"),
            Instant::now(),
        );
        assert_eq!(
            got,
            Decision::Allowed {
                user: None,
                scope: Scope::All
            }
        );
    }
}

#[test]
fn health_is_open_until_an_entry_sets_it() {
    let only_alice = users(&format!(
        "[[user]]\nname = \"alice\"\npassword_hash = \"{}\"\nview = true\nallow = [\"10.0.0.0/8\"]",
        cheap_hash("alice-pw")
    ));
    let auth = Authenticator::new(&only_alice).unwrap();
    let now = Instant::now();
    for creds in [
        Creds::None,
        Creds::Basic("alice:wrong"),
        Creds::Header("garbage"),
    ] {
        let got = decide_at(
            &auth,
            &mut AuthCache::default(),
            WAN,
            creds,
            Permission::Health,
            None,
            now,
        );
        assert_eq!(short(&got), "ok:-", "{creds:?}");
    }
    assert_eq!(
        auth.throttled_addresses(),
        0,
        "credentials on an open /health are not even read"
    );
}

#[test]
fn from_an_address_no_login_covers_the_answer_is_403_without_argon2() {
    let only_alice = users(&format!(
        "[[user]]\nname = \"anonymous\"\nview = [\"front\"]\n\
         [[user]]\nname = \"alice\"\npassword_hash = \"{}\"\nview = true\nallow = [\"10.0.0.0/8\"]",
        cheap_hash("alice-pw")
    ));
    let auth = Authenticator::new(&only_alice).unwrap();
    let header = Creds::Basic("alice:alice-pw").header().unwrap();
    let request = |permission, stream| AuthRequest {
        peer: ip(WAN),
        authorization: Some(&header),
        token: None,
        permission,
        stream,
    };
    let now = Instant::now();
    let mut cache = AuthCache::default();
    let Check::Done(got) = auth.check(&request(Permission::View, Some("main")), &mut cache, now)
    else {
        panic!("no verification from an address no login covers");
    };
    assert_eq!(
        got,
        Decision::Forbidden(Denial {
            user: None,
            reason: Reason::AddressNotAllowed
        })
    );
    let Check::Done(got) = auth.check(&request(Permission::View, Some("front")), &mut cache, now)
    else {
        panic!("anonymous grant decided at once");
    };
    assert_eq!(
        short(&got),
        "ok:-",
        "credentials are ignored, the anonymous entry applies"
    );
    assert_eq!(auth.throttled_addresses(), 0);
}

#[test]
fn debug_output_never_shows_credentials() {
    let header = Creds::Basic("alice:alice-pw").header().unwrap();
    let request = AuthRequest {
        peer: ip(LAN),
        authorization: Some(&header),
        token: Some(TOKEN),
        permission: Permission::View,
        stream: Some("main"),
    };
    let shown = format!("{request:?}");
    let encoded = String::from_utf8(header.clone()).unwrap();
    assert!(
        !shown.contains(TOKEN) && !shown.contains(&encoded[6..]),
        "{shown}"
    );
    assert!(shown.contains("authorization: \"***\""), "{shown}");
    let auth = Authenticator::new(&household()).unwrap();
    assert_eq!(format!("{auth:?}"), "Authenticator { users: 5 }");
}
