//! Unit tests of `pacer`: its verdicts on made-up `TCP_INFO` backlogs.

use super::*;

const PART: u64 = 36_000;
const PEAK: u32 = 160_000;

fn backlog(window: u32, acked: u64) -> Option<Backlog> {
    Some(Backlog {
        notsent: 0,
        peer_window: window,
        acked,
        in_flight: 0,
        unacked: 0,
        delivery_rate: 0,
        rtt: Duration::from_micros(50),
        window_unit: 128,
    })
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn without_tcp_info_every_part_goes() {
    let now = Instant::now();
    assert_eq!(Pacer::new(now).decide(None, now), Verdict::Send);
}

#[test]
fn a_client_that_keeps_up_gets_every_frame_at_one_look_each() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    for i in 0..10u32 {
        let now = t + ms(33) * i;
        assert_eq!(p.next_look(now), None, "looked at on every frame");
        // It reads each part at once; window rounding may hide a few hundred bytes.
        let window = PEAK - (i % 3) * 256;
        assert_eq!(
            p.decide(backlog(window, PART * u64::from(i)), now),
            Verdict::Send
        );
        p.part_sent(now);
    }
}

#[test]
fn a_slow_reader_is_probed_and_gets_a_part_only_once_it_read_the_last() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    p.set_stall_timeout(Duration::from_secs(10));
    assert_eq!(p.decide(backlog(PEAK, 0), t), Verdict::Send);
    p.part_sent(t);
    // The part is unread at the next frame (only its last few KB show): probe; a client that
    // is reading answers within a round trip.
    let t1 = t + ms(33);
    let unread = backlog(PEAK - 3072, PART);
    assert_eq!(p.decide(unread, t1), Verdict::Probe);
    p.probe_sent(t1);
    assert_eq!(p.prefix_sent(), 1);
    let answer = t1 + ms(3) + Duration::from_micros(50);
    assert_eq!(p.next_look(t1 + ms(1)), Some(answer));
    // Unanswered: this one is not reading (its ACK is a delayed one).
    let unanswered = Backlog {
        unacked: 1,
        in_flight: 1,
        ..backlog(PEAK - 3072, PART).unwrap()
    };
    assert_eq!(
        p.decide(Some(unanswered), answer),
        Verdict::Wait(answer + PROBE_FIRST)
    );
    // Answered, still unread: probe again, now at the slow pace; new frames are ignored.
    let t2 = answer + PROBE_FIRST;
    let still = backlog(PEAK - 3072 - 1, PART + 1);
    assert_eq!(p.decide(still, t2), Verdict::Probe);
    p.probe_sent(t2);
    assert_eq!(p.next_look(t2 + ms(100)), Some(t2 + PROBE_EVERY));
    // It read the part: empty but for the two probe bytes → the newest frame goes.
    let t3 = t2 + PROBE_EVERY;
    assert_eq!(p.decide(backlog(PEAK - 2, PART + 2), t3), Verdict::Send);
    p.part_sent(t3);
    assert_eq!(p.prefix_sent(), 0);
    assert_eq!(p.next_look(t3), None);
}

#[test]
fn a_client_whose_window_is_a_little_off_but_answers_at_once_gets_the_part() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    p.decide(backlog(PEAK, 0), t);
    p.part_sent(t);
    // Its window with nothing unread stays 4 KB below the largest it offered.
    let t1 = t + ms(33);
    assert_eq!(p.decide(backlog(PEAK - 4096, PART), t1), Verdict::Probe);
    p.probe_sent(t1);
    let quick = p.next_look(t1).unwrap();
    assert_eq!(
        p.decide(backlog(PEAK - 4096, PART + 1), quick),
        Verdict::Send
    );
    assert!(!p.is_slow());
    // That window is the empty one now: the next part needs no probe.
    p.part_sent(quick);
    let t2 = quick + ms(33);
    assert_eq!(p.decide(backlog(PEAK - 4096, 2 * PART), t2), Verdict::Send);
}

#[test]
fn a_client_in_the_middle_of_a_read_gets_the_part_after_one_round_trip() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    p.decide(backlog(PEAK, 0), t);
    p.part_sent(t);
    let t1 = t + ms(33);
    assert_eq!(p.decide(backlog(PEAK - 6144, PART), t1), Verdict::Probe);
    p.probe_sent(t1);
    let answer = p.next_look(t1).unwrap();
    assert!(answer - t1 < ms(5), "{:?}", answer - t1);
    assert_eq!(p.decide(backlog(PEAK, PART + 1), answer), Verdict::Send);
}

#[test]
fn the_empty_window_is_the_largest_of_the_last_epochs() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    assert_eq!(p.decide(backlog(PEAK, 0), t), Verdict::Send);
    p.part_sent(t);
    // Memory pressure: the client reads everything but offers a smaller window for good.
    let small = PEAK / 2;
    let mut now = t;
    let mut verdicts = Vec::new();
    while now < t + PEAK_EPOCH * 3 {
        now += PROBE_EVERY;
        let v = p.decide(backlog(small, 0), now);
        if v == Verdict::Probe {
            p.probe_sent(now);
        }
        verdicts.push(v);
    }
    assert_eq!(
        verdicts[0],
        Verdict::Probe,
        "at first it looks like unread data"
    );
    assert_eq!(
        verdicts.last(),
        Some(&Verdict::Send),
        "then it is the new normal"
    );
}

#[test]
fn data_still_queued_or_in_flight_is_waited_for_at_its_drain_time() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    let queued = Backlog {
        notsent: 50_000,
        delivery_rate: 1_000_000, // 50 ms to drain
        ..backlog(PEAK, 0).unwrap()
    };
    assert_eq!(p.decide(Some(queued), t), Verdict::Wait(t + ms(50)));
    assert_eq!(p.next_look(t + ms(10)), Some(t + ms(50)));
    let in_flight = Backlog {
        in_flight: 40_000,
        delivery_rate: 10_000_000_000, // bounded below: its ACK may be a delayed one
        ..backlog(PEAK, 0).unwrap()
    };
    assert_eq!(
        p.decide(Some(in_flight), t),
        Verdict::Wait(t + ACK_LOOK_MIN)
    );
    let unmeasured = Backlog {
        notsent: 100_000,
        ..backlog(PEAK, 0).unwrap()
    };
    let Verdict::Wait(until) = p.decide(Some(unmeasured), t) else {
        panic!("waits");
    };
    assert!(until <= t + DRAIN_LOOK_MAX);
    // A closed window: nothing moves until the client reads, whatever the rate said.
    let closed = Backlog {
        notsent: 30_000,
        delivery_rate: 1_000_000_000,
        ..backlog(0, 0).unwrap()
    };
    assert_eq!(p.decide(Some(closed), t), Verdict::Wait(t + PROBE_EVERY));
    // A few bytes in flight (a probe, a delayed ACK) do not hold a part back.
    let trickle = Backlog {
        in_flight: 1448,
        ..backlog(PEAK, 0).unwrap()
    };
    assert_eq!(p.decide(Some(trickle), t), Verdict::Send);
}

#[test]
fn an_unanswered_probe_is_not_followed_by_another() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    p.decide(backlog(PEAK, 0), t);
    p.part_sent(t);
    assert_eq!(
        p.decide(backlog(PEAK - PART as u32, PART), t),
        Verdict::Probe
    );
    p.probe_sent(t);
    let later = t + PROBE_FIRST;
    let unanswered = Backlog {
        unacked: 1,
        in_flight: 1,
        ..backlog(PEAK - PART as u32, PART).unwrap()
    };
    assert_eq!(
        p.decide(Some(unanswered), later),
        Verdict::Wait(later + PROBE_FIRST)
    );
    // Nor on a link whose round trip is longer than that.
    let far = Backlog {
        rtt: ms(300),
        ..unanswered
    };
    assert_eq!(p.decide(Some(far), later), Verdict::Wait(later + ms(300)));
}

#[test]
fn probes_slow_down_and_a_client_that_never_empties_its_buffer_still_gets_parts() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    p.decide(backlog(PEAK, 0), t);
    p.part_sent(t);
    let behind = backlog(PEAK - PART as u32, PART);
    let mut now = t;
    let mut gaps = Vec::new();
    loop {
        match p.decide(behind, now) {
            Verdict::Probe => p.probe_sent(now),
            Verdict::Wait(_) => {}
            Verdict::Send => break,
            Verdict::Stalled => panic!("no stall timeout set"),
        }
        let next = p.next_look(now).unwrap();
        gaps.push(next - now);
        now = next;
        assert!(p.prefix_sent() <= PART_PREFIX.len());
    }
    assert!(
        gaps[0] < ms(5),
        "a quick look for the first answer: {:?}",
        gaps[0]
    );
    assert_eq!(gaps[1], PROBE_EVERY);
    assert!(gaps.windows(2).all(|w| w[0] <= w[1]), "{gaps:?}");
    assert!(*gaps.last().unwrap() <= PROBE_EVERY_MAX);
    assert!(now - t <= PEAK_EPOCH * 2 + PROBE_EVERY_MAX, "{:?}", now - t);
}

#[test]
fn a_client_that_neither_reads_nor_takes_data_is_stalled() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    p.set_stall_timeout(Duration::from_secs(1));
    p.decide(backlog(PEAK, 0), t);
    p.part_sent(t);
    let behind = |acked| backlog(PEAK - PART as u32 - acked as u32, PART + acked);
    // Our probes are acknowledged, but its window's right edge stays put.
    assert_eq!(p.decide(behind(0), t + ms(500)), Verdict::Probe);
    assert_eq!(p.decide(behind(1), t + ms(900)), Verdict::Probe);
    assert_eq!(p.decide(behind(2), t + ms(1000)), Verdict::Stalled);
    // One that reads a little now and then is not.
    let mut q = Pacer::new(t);
    q.set_stall_timeout(Duration::from_secs(1));
    q.decide(backlog(PEAK, 0), t);
    q.part_sent(t);
    let read_some = |read: u32| backlog(PEAK - PART as u32 + read, PART);
    assert_eq!(q.decide(read_some(0), t + ms(700)), Verdict::Probe);
    assert_eq!(q.decide(read_some(8192), t + ms(1500)), Verdict::Probe);
    assert_eq!(q.decide(read_some(8192), t + ms(2400)), Verdict::Probe);
    assert_eq!(q.decide(read_some(8192), t + ms(2500)), Verdict::Stalled);
    // With data queued, taking some is progress too.
    let mut r = Pacer::new(t);
    r.set_stall_timeout(Duration::from_secs(2));
    let queued = |acked| Backlog {
        notsent: 30_000,
        ..backlog(0, acked).unwrap()
    };
    assert!(matches!(
        r.decide(Some(queued(0)), t + ms(1000)),
        Verdict::Wait(_)
    ));
    assert!(matches!(
        r.decide(Some(queued(100)), t + ms(2500)),
        Verdict::Wait(_)
    ));
    assert_eq!(r.decide(Some(queued(100)), t + ms(4600)), Verdict::Stalled);
}

mod slow;
