//! Unit tests of `http::admission`: the three bounds and who gets evicted.

use std::time::Duration;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn admission(max_connections: usize, per_address: usize, max_pending: usize) -> Arc<Admission> {
    Admission::new(AdmissionLimits {
        max_connections,
        per_address,
        max_pending,
    })
}

/// Whether the ticket's eviction signal has fired (without waiting).
fn is_evicted(t: &Ticket) -> bool {
    let fut = t.evicted();
    futures_lite_poll(fut)
}

fn futures_lite_poll(fut: impl std::future::Future<Output = ()>) -> bool {
    let waker = std::task::Waker::noop();
    let mut cx = std::task::Context::from_waker(waker);
    let mut fut = std::pin::pin!(fut);
    fut.as_mut().poll(&mut cx).is_ready()
}

#[test]
fn one_address_gets_at_most_its_share_and_gets_it_back() {
    let a = admission(100, 3, 100);
    let held: Vec<_> = (0..3).map(|_| a.admit(ip("10.0.0.1")).unwrap()).collect();
    assert_eq!(a.admit(ip("10.0.0.1")).err(), Some(Refused::PerAddress));
    assert!(
        a.admit(ip("10.0.0.2")).is_ok(),
        "other addresses are not affected"
    );
    // An IPv4 peer on a dual-stack socket counts as the same address.
    assert_eq!(
        a.admit(ip("::ffff:10.0.0.1")).err(),
        Some(Refused::PerAddress)
    );
    drop(held);
    assert!(a.admit(ip("10.0.0.1")).is_ok());
    assert_eq!(a.stats().refused_per_address, 2);
}

#[test]
fn ipv6_hosts_count_per_64() {
    let a = admission(100, 2, 100);
    let _x = a.admit(ip("2001:db8:1:2::1")).unwrap();
    let _y = a.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
    assert_eq!(
        a.admit(ip("2001:db8:1:2:abcd::1")).err(),
        Some(Refused::PerAddress),
        "same /64"
    );
    assert!(a.admit(ip("2001:db8:1:3::1")).is_ok(), "another /64");
}

#[test]
fn a_full_pending_list_evicts_the_oldest_of_the_busiest_address() {
    let a = admission(100, 100, 4);
    let lone = a.admit(ip("10.0.0.9")).unwrap();
    let attack: Vec<_> = (0..3).map(|_| a.admit(ip("10.0.0.66")).unwrap()).collect();
    // Pending is full (4): the next one evicts the attacker's oldest, not the lone client.
    let newcomer = a.admit(ip("10.0.0.7")).unwrap();
    assert!(is_evicted(&attack[0]));
    assert!(!is_evicted(&attack[1]) && !is_evicted(&attack[2]));
    assert!(!is_evicted(&lone));
    assert!(!is_evicted(&newcomer));
    let s = a.stats();
    assert_eq!((s.pending, s.evicted, s.open), (4, 1, 5));
}

#[test]
fn busy_connections_are_never_evicted_and_idle_ones_are_again() {
    let a = admission(100, 100, 2);
    let busy = a.admit(ip("10.0.0.1")).unwrap();
    busy.head_received();
    let _p1 = a.admit(ip("10.0.0.2")).unwrap();
    let _p2 = a.admit(ip("10.0.0.3")).unwrap();
    let _p3 = a.admit(ip("10.0.0.4")).unwrap();
    assert!(
        !is_evicted(&busy),
        "a connection with a request is not pending"
    );
    assert_eq!(a.stats().pending, 2);
    busy.idle();
    assert_eq!(a.stats().pending, 2, "idle made room by evicting another");
    busy.idle();
    assert_eq!(a.stats().pending, 2, "idle twice is idle once");
    assert!(busy.pending_for() < Duration::from_secs(5));
}

#[test]
fn when_all_slots_are_taken_a_pending_connection_makes_room_else_refused() {
    let a = admission(2, 100, 100);
    let streaming = a.admit(ip("10.0.0.1")).unwrap();
    streaming.head_received();
    let waiting = a.admit(ip("10.0.0.2")).unwrap();
    let viewer = a.admit(ip("10.0.0.3")).unwrap();
    assert!(is_evicted(&waiting), "the waiting connection made room");
    viewer.head_received();
    drop(waiting);
    assert_eq!(a.admit(ip("10.0.0.4")).err(), Some(Refused::Full));
    assert_eq!(a.stats().refused_full, 1);
    drop(streaming);
    assert!(a.admit(ip("10.0.0.4")).is_ok());
}

#[test]
fn dropping_every_ticket_leaves_nothing_behind() {
    let a = admission(10, 10, 3);
    let tickets: Vec<_> = (0..10)
        .map(|i| a.admit(ip(&format!("10.0.{}.1", i % 3))).unwrap())
        .collect();
    tickets[0].head_received();
    tickets[1].idle();
    drop(tickets);
    let s = a.stats();
    assert_eq!((s.open, s.pending), (0, 0));
    let st = a.lock();
    assert!(st.per_key.is_empty() && st.pending_per_key.is_empty());
}
