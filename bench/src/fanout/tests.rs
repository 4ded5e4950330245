//! Unit tests of `fanout`: the scenario syntax.

use super::*;

#[test]
fn scenarios_parse() {
    let one = Scenario::parse("1").unwrap();
    assert_eq!((one.name.as_str(), one.clients()), ("1 client", 1));
    let slow = Scenario::parse("150+50slow").unwrap();
    assert_eq!((slow.fast, slow.slow, slow.stalled), (150, 50, 0));
    assert_eq!(slow.name, "200 clients, 50 reading 1 frame/s");
    let stalled = Scenario::parse("400+100stalled").unwrap();
    assert_eq!((stalled.fast, stalled.slow, stalled.stalled), (400, 0, 100));
    let shaped = Scenario::parse("shaped").unwrap();
    assert!(shaped.shaped && shaped.fast == 2);
    for s in Scenario::SUITE.split(',') {
        assert!(Scenario::parse(s).is_ok(), "{s}");
    }
    for bad in ["", "0", "x", "1+", "1+2", "1+2fast", "+2slow"] {
        assert!(Scenario::parse(bad).is_err(), "{bad:?}");
    }
}
