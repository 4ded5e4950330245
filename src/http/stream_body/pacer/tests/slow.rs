//! Unit tests of `pacer` for a client that falls behind: what follows an unseen part, how it
//! becomes fast again, and the gap between parts that follows its reads.

use super::*;

/// Makes `p` see a slow client: a part unread at a probe's (late) answer.
fn make_slow(p: &mut Pacer, t: Instant) -> Instant {
    p.decide(backlog(PEAK, 0), t);
    p.part_sent(t);
    let t1 = t + ms(33);
    assert_eq!(p.decide(backlog(PEAK - 3072, PART), t1), Verdict::Probe);
    p.probe_sent(t1);
    let quick = p.next_look(t1).unwrap();
    let unanswered = Backlog {
        unacked: 1,
        in_flight: 1,
        ..backlog(PEAK - 3072, PART).unwrap()
    };
    assert!(matches!(
        p.decide(Some(unanswered), quick),
        Verdict::Wait(_)
    ));
    let answered = quick + PROBE_FIRST;
    assert_eq!(
        p.decide(backlog(PEAK - 3072, PART + 1), answered),
        Verdict::Probe
    );
    p.probe_sent(answered);
    assert!(p.is_slow());
    answered
}

#[test]
fn a_slow_clients_unseen_part_is_followed_no_sooner_than_its_read_interval() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    let t1 = make_slow(&mut p, t);
    // It reads the part (seen: the window opens): the next goes at once.
    let read = t1 + PROBE_EVERY;
    assert_eq!(p.decide(backlog(PEAK, PART + 2), read), Verdict::Send);
    p.part_sent(read);
    // This part hides in the margin: the window shows nothing unread. Ask once whether the
    // client is reading; it answers late (not reading): wait for the gap.
    let t2 = read + ms(33);
    assert_eq!(p.decide(backlog(PEAK, 2 * PART), t2), Verdict::Probe);
    p.probe_sent(t2);
    let quick = p.next_look(t2).unwrap();
    let unanswered = Backlog {
        unacked: 1,
        in_flight: 1,
        ..backlog(PEAK, 2 * PART).unwrap()
    };
    let Verdict::Wait(_) = p.decide(Some(unanswered), quick) else {
        panic!("waits for the answer");
    };
    let answered = quick + PROBE_FIRST;
    let due = read + SLOW_GAP;
    assert_eq!(
        p.decide(backlog(PEAK, 2 * PART + 1), answered),
        Verdict::Wait(due)
    );
    assert!(p.is_slow());
    assert_eq!(p.decide(backlog(PEAK, 2 * PART + 1), due), Verdict::Send);
}

#[test]
fn a_slow_client_that_answers_at_once_several_times_is_fast_again() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    let mut now = make_slow(&mut p, t) + PROBE_EVERY;
    assert_eq!(p.decide(backlog(PEAK, PART + 2), now), Verdict::Send);
    p.part_sent(now);
    for i in 1..=QUICK_ANSWERS_TO_RECOVER {
        // Its part shows nothing unread; asked, it answers at once.
        let look = now + ms(33);
        assert_eq!(p.decide(backlog(PEAK, PART), look), Verdict::Probe);
        p.probe_sent(look);
        let quick = p.next_look(look).unwrap();
        let verdict = p.decide(backlog(PEAK, PART + 1), quick);
        if i < QUICK_ANSWERS_TO_RECOVER {
            // Still slow (a slow client waiting for its part answers at once too): the part
            // waits for the gap.
            assert!(p.is_slow());
            assert_eq!(verdict, Verdict::Wait(now + SLOW_GAP));
            now += SLOW_GAP;
            assert_eq!(p.decide(backlog(PEAK, PART + 1), now), Verdict::Send);
            p.part_sent(now);
        } else {
            assert!(!p.is_slow());
            assert_eq!(verdict, Verdict::Send);
        }
    }
}

#[test]
fn the_gap_follows_the_interval_between_seen_reads() {
    let t = Instant::now();
    let mut p = Pacer::new(t);
    let mut now = make_slow(&mut p, t);
    // Reads seen 400 ms apart: unread, then open, twice.
    for _ in 0..2 {
        now += ms(400);
        assert_eq!(p.decide(backlog(PEAK, PART), now), Verdict::Send);
        p.part_sent(now);
        let look = now + ms(33);
        assert_eq!(p.decide(backlog(PEAK - 3072, PART), look), Verdict::Probe);
        p.probe_sent(look);
        let unanswered = Backlog {
            unacked: 1,
            in_flight: 1,
            ..backlog(PEAK - 3072, PART).unwrap()
        };
        let quick = p.next_look(look).unwrap();
        assert!(matches!(
            p.decide(Some(unanswered), quick),
            Verdict::Wait(_)
        ));
        now = look;
    }
    assert!(p.is_slow());
    // An unseen part now waits 90 % of that interval, not the default gap.
    now += ms(400 - 33);
    assert_eq!(p.decide(backlog(PEAK, PART), now), Verdict::Send);
    p.part_sent(now);
    let look = now + ms(33);
    assert_eq!(p.decide(backlog(PEAK, PART), look), Verdict::Probe);
    p.probe_sent(look);
    let quick = p.next_look(look).unwrap();
    let unanswered = Backlog {
        unacked: 1,
        in_flight: 1,
        ..backlog(PEAK, PART).unwrap()
    };
    assert_eq!(
        p.decide(Some(unanswered), quick),
        Verdict::Wait(now + ms(400).mul_f32(0.9))
    );
}
