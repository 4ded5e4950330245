//! Throttling of password logins, queued and reloaded verifications, the async path.

use std::time::{Duration, Instant};

use crate::auth::tests::{
    basic, decide_at, household, request, short, Creds, LAN, TEN, TOKEN, ULA, WAN,
};
use crate::auth::*;

#[test]
fn password_guessing_is_throttled_per_address_without_argon2() {
    let auth = Authenticator::new(&household()).unwrap();
    let now = Instant::now();
    let run = |peer, creds, at| {
        let d = decide_at(
            &auth,
            &mut AuthCache::default(),
            peer,
            creds,
            Permission::View,
            Some("main"),
            at,
        );
        short(&d)
    };
    for _ in 0..5 {
        assert_eq!(run(LAN, Creds::Basic("alice:guess"), now), "401");
    }
    for header in [basic("alice:guess"), basic("alice:alice-pw")] {
        let Check::Done(d) = auth.check(&request(LAN, &header), &mut AuthCache::default(), now)
        else {
            panic!("a blocked address runs no argon2");
        };
        assert_eq!(
            d,
            Decision::Throttled {
                retry_after: Duration::from_secs(1)
            }
        );
        assert_eq!(d.http_status(), http::StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(d.retry_after_secs(), Some(1));
    }
    assert_eq!(
        run(LAN, Creds::Token(TOKEN), now),
        "ok:robot",
        "tokens are not throttled"
    );
    assert_eq!(
        run(WAN, Creds::Basic("alice:alice-pw"), now),
        "ok:alice",
        "another address"
    );
    let anonymous = decide_at(
        &auth,
        &mut AuthCache::default(),
        LAN,
        Creds::None,
        Permission::View,
        Some("front"),
        now,
    );
    assert_eq!(short(&anonymous), "ok:-", "no credentials: not throttled");

    let after = now + Duration::from_secs(1);
    assert_eq!(run(LAN, Creds::Basic("alice:guess"), after), "401");
    let d = decide_at(
        &auth,
        &mut AuthCache::default(),
        LAN,
        Creds::Basic("alice:alice-pw"),
        Permission::View,
        None,
        after,
    );
    assert_eq!(
        d,
        Decision::Throttled {
            retry_after: Duration::from_secs(2)
        },
        "doubled"
    );
    let later = after + Duration::from_secs(2);
    assert_eq!(run(LAN, Creds::Basic("alice:alice-pw"), later), "ok:alice");
    assert_eq!(auth.throttled_addresses(), 1, "a success does not forgive");
}

#[test]
fn only_password_logins_count_as_failures() {
    let auth = Authenticator::new(&household()).unwrap();
    let now = Instant::now();
    for creds in [
        Creds::Token("x"),
        Creds::Bearer("nope"),
        Creds::Header("Basic"),
        Creds::Header("Digest x"),
    ] {
        for _ in 0..10 {
            let d = decide_at(
                &auth,
                &mut AuthCache::default(),
                TEN,
                creds,
                Permission::View,
                None,
                now,
            );
            assert_eq!(short(&d), "401", "{creds:?}");
        }
    }
    assert_eq!(auth.throttled_addresses(), 0);
    let d = decide_at(
        &auth,
        &mut AuthCache::default(),
        TEN,
        Creds::Basic("bob:bob-pw"),
        Permission::View,
        None,
        now,
    );
    assert_eq!(short(&d), "ok:bob");
    for creds in [
        Creds::Basic("bob:x"),
        Creds::Basic("eve:x"),
        Creds::Basic("robot:x"),
    ] {
        decide_at(
            &auth,
            &mut AuthCache::default(),
            WAN,
            creds,
            Permission::View,
            None,
            now,
        );
    }
    decide_at(
        &auth,
        &mut AuthCache::default(),
        ULA,
        Creds::Basic("bob:bob-pw"),
        Permission::View,
        None,
        now,
    );
    assert_eq!(
        auth.throttled_addresses(),
        2,
        "wrong password, unknown user, no password, not allowed here"
    );
}

#[test]
fn queued_verifications_of_a_blocked_address_are_dropped_without_argon2() {
    let auth = Authenticator::new(&household()).unwrap();
    let now = Instant::now();
    let header = basic("alice:guess");
    let queued: Vec<PendingVerify> = (0..8)
        .map(
            |_| match auth.check(&request(WAN, &header), &mut AuthCache::default(), now) {
                Check::Verify(p) => p,
                Check::Done(d) => panic!("{d:?}"),
            },
        )
        .collect();
    let answers: Vec<String> = queued
        .into_iter()
        .map(|p| short(&auth.finish(p.run_at(|| now), &mut AuthCache::default())))
        .collect();
    assert_eq!(
        answers,
        ["401", "401", "401", "401", "401", "429", "429", "429"]
    );
}

#[test]
fn a_verification_finished_after_a_reload_is_decided_by_its_own_config() {
    let old = Authenticator::new(&household()).unwrap();
    let mut without_alice = household();
    without_alice.retain(|u| u.name.0 != "alice");
    let reloaded = Authenticator::new(&without_alice).unwrap();
    let now = Instant::now();
    let header = basic("alice:alice-pw");
    let mut conn = AuthCache::default();
    let Check::Verify(pending) = old.check(&request(LAN, &header), &mut conn, now) else {
        panic!()
    };
    assert_eq!(
        short(&reloaded.finish(pending.run_at(|| now), &mut conn)),
        "ok:alice"
    );
    assert_eq!(
        short(&decide_at(
            &reloaded,
            &mut conn,
            LAN,
            Creds::Basic("alice:alice-pw"),
            Permission::View,
            Some("main"),
            now
        )),
        "401",
        "the old login is not carried over"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authorize_runs_argon2_off_the_async_workers() {
    let auth = Authenticator::new(&household()).unwrap();
    let good = basic("alice:alice-pw");
    let mut tasks = Vec::new();
    for i in 0..8u8 {
        let auth = auth.clone();
        let header = if i % 2 == 0 {
            good.clone()
        } else {
            basic("mallory:x")
        };
        tasks.push(tokio::spawn(async move {
            let peer = format!("10.9.9.{i}");
            let mut conn = AuthCache::default();
            auth.authorize(&request(&peer, &header), &mut conn).await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(short(&t.await.unwrap()));
    }
    assert_eq!(
        answers,
        ["ok:alice", "401", "ok:alice", "401", "ok:alice", "401", "ok:alice", "401"]
    );
    let open = Authenticator::default();
    let d = open
        .authorize(&request(WAN, &good), &mut AuthCache::default())
        .await;
    assert_eq!(short(&d), "ok:-");
}
