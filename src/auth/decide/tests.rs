//! Refusal reasons, scopes and the login caches of the authenticator.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::auth::tests::{
    basic, decide_at, household, request, short, Creds, LAN, TEN, TOKEN, ULA, WAN,
};
use crate::auth::*;

#[test]
fn refusals_say_why_for_the_log() {
    let auth = Authenticator::new(&household()).unwrap();
    let now = Instant::now();
    let run = |peer, creds, perm| {
        decide_at(
            &auth,
            &mut AuthCache::default(),
            peer,
            creds,
            perm,
            Some("main"),
            now,
        )
    };
    let denial = |user: Option<&str>, reason| Denial {
        user: user.map(Arc::from),
        reason,
    };
    use Permission::View;
    let table = [
        (
            run(LAN, Creds::None, View),
            Decision::Unauthorized(denial(None, Reason::NoCredentials)),
        ),
        (
            run(LAN, Creds::Basic("alice:x"), View),
            Decision::Unauthorized(denial(Some("alice"), Reason::WrongPassword)),
        ),
        (
            run(LAN, Creds::Basic("eve:x"), View),
            Decision::Unauthorized(denial(None, Reason::UnknownUser)),
        ),
        (
            run(TEN, Creds::Token("x"), View),
            Decision::Unauthorized(denial(None, Reason::WrongToken)),
        ),
        (
            run(LAN, Creds::Basic("bob:bob-pw"), View),
            Decision::Unauthorized(denial(Some("bob"), Reason::AddressNotAllowed)),
        ),
        (
            run(TEN, Creds::Basic("bob:bob-pw"), View),
            Decision::Forbidden(denial(Some("bob"), Reason::NoPermission)),
        ),
        (
            run(LAN, Creds::Header("Basic"), View),
            Decision::Unauthorized(denial(None, Reason::MalformedCredentials)),
        ),
    ];
    for (got, want) in table {
        assert_eq!(got, want);
    }
    assert_eq!(Reason::AddressNotAllowed.to_string(), "address not allowed");
}

#[test]
fn scopes_list_the_streams_an_allowed_request_may_see() {
    let auth = Authenticator::new(&household()).unwrap();
    let now = Instant::now();
    let scope = |peer, creds| match decide_at(
        &auth,
        &mut AuthCache::default(),
        peer,
        creds,
        Permission::View,
        None,
        now,
    ) {
        Decision::Allowed { scope, .. } => scope,
        other => panic!("{other:?}"),
    };
    let only = |ids: &[&str]| Scope::Only(ids.iter().map(|s| Arc::from(*s)).collect());
    assert_eq!(scope(LAN, Creds::None), only(&["front"]));
    assert_eq!(scope(LAN, Creds::Token(TOKEN)), only(&["front", "main"]));
    assert_eq!(scope(ULA, Creds::Token(TOKEN)), only(&["main"]));
    assert_eq!(scope(WAN, Creds::Basic("alice:alice-pw")), Scope::All);
}

#[test]
fn a_connection_pays_argon2_once_and_other_connections_hit_the_shared_cache() {
    let auth = Authenticator::new(&household()).unwrap();
    let good = basic("alice:alice-pw");
    let now = Instant::now();
    let mut conn = AuthCache::default();
    let Check::Verify(pending) = auth.check(&request(LAN, &good), &mut conn, now) else {
        panic!("the first login verifies");
    };
    assert_eq!(
        short(&auth.finish(pending.run_at(|| now), &mut conn)),
        "ok:alice"
    );
    let later = now + Duration::from_secs(60);
    let Check::Done(d) = auth.check(&request(LAN, &good), &mut conn, later) else {
        panic!("the same connection is not verified again");
    };
    assert_eq!(short(&d), "ok:alice");
    let mut other_conn = AuthCache::default();
    let Check::Done(d) = auth.check(&request(TEN, &good), &mut other_conn, later) else {
        panic!("a new connection hits the shared cache");
    };
    assert_eq!(short(&d), "ok:alice");
    let Check::Done(_) = auth.check(&request(TEN, &good), &mut other_conn, later) else {
        panic!("…and fills its own");
    };
    let wrong = basic("alice:alice-pW");
    assert!(matches!(
        auth.check(&request(LAN, &wrong), &mut conn, later),
        Check::Verify(_)
    ));
    let expired = now + cache::LOGIN_TTL;
    let mut third = AuthCache::default();
    assert!(matches!(
        auth.check(&request(LAN, &good), &mut conn, expired),
        Check::Verify(_)
    ));
    assert!(matches!(
        auth.check(&request(LAN, &good), &mut third, expired),
        Check::Verify(_)
    ));
}

#[test]
fn the_shared_cache_never_answers_for_an_address_the_user_is_not_allowed_from() {
    let auth = Authenticator::new(&household()).unwrap();
    let good = basic("bob:bob-pw");
    let now = Instant::now();
    assert_eq!(
        short(&decide_at(
            &auth,
            &mut AuthCache::default(),
            TEN,
            Creds::Basic("bob:bob-pw"),
            Permission::View,
            Some("back"),
            now
        )),
        "ok:bob"
    );
    // From the LAN the cached login must cost the same argon2 as a guess, and fail.
    let Check::Verify(pending) = auth.check(&request(LAN, &good), &mut AuthCache::default(), now)
    else {
        panic!("a cache hit here would tell an outsider the password is right");
    };
    assert_eq!(
        short(&auth.finish(pending.run_at(|| now), &mut AuthCache::default())),
        "401"
    );
}

#[test]
fn a_logged_in_connection_keeps_working_while_its_address_is_blocked() {
    let auth = Authenticator::new(&household()).unwrap();
    let now = Instant::now();
    let mut viewer = AuthCache::default();
    let d = decide_at(
        &auth,
        &mut viewer,
        WAN,
        Creds::Basic("alice:alice-pw"),
        Permission::View,
        Some("main"),
        now,
    );
    assert_eq!(short(&d), "ok:alice");
    for _ in 0..6 {
        decide_at(
            &auth,
            &mut AuthCache::default(),
            WAN,
            Creds::Basic("alice:guess"),
            Permission::View,
            None,
            now,
        );
    }
    let Check::Done(d) = auth.check(&request(WAN, &basic("alice:alice-pw")), &mut viewer, now)
    else {
        panic!("cached on the connection");
    };
    assert_eq!(
        short(&d),
        "ok:alice",
        "a viewer behind the same NAT as a guesser"
    );
    let fresh = auth.check(
        &request(WAN, &basic("alice:alice-pw")),
        &mut AuthCache::default(),
        now,
    );
    assert!(
        matches!(fresh, Check::Done(Decision::Throttled { .. })),
        "but the shared cache is no way around the block"
    );
}
