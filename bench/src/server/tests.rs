//! Unit tests of `server`: target parsing.

use super::*;

#[test]
fn targets_parse_and_bad_ones_are_refused() {
    assert_eq!(Target::parse("ours").unwrap(), Target::ours());
    assert!(Target::parse("floor").unwrap().floor);
    let t = Target::parse(
        "w1:env=TOKIO_WORKER_THREADS=1;server=send_buffer_bytes = 0;log=level = \"warn\";bin=/x/s",
    )
    .unwrap();
    assert_eq!(t.name, "w1");
    assert!(!t.floor);
    assert_eq!(t.env, vec![("TOKIO_WORKER_THREADS".into(), "1".into())]);
    assert_eq!(t.server_toml, "send_buffer_bytes = 0\n");
    assert_eq!(t.logging_toml, "level = \"warn\"\n");
    assert_eq!(t.bin, Some(PathBuf::from("/x/s")));
    for bad in [
        "",
        "w1",
        "w1:env=X",
        "w1:what=1",
        ":env=A=1",
        "floor:env=A=1",
    ] {
        assert!(Target::parse(bad).is_err(), "{bad:?}");
    }
}
