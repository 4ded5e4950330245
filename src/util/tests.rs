//! Unit tests of the shared helpers.

use super::*;

#[test]
fn error_chain_joins_the_causes() {
    let inner = std::io::Error::other("refused");
    #[derive(Debug, thiserror::Error)]
    #[error("cannot connect")]
    struct Outer(#[source] std::io::Error);
    assert_eq!(error_chain(&Outer(inner)), "cannot connect: refused");
}

#[test]
fn panic_messages_of_both_payload_kinds() {
    let p = std::panic::catch_unwind(|| panic!("plain")).unwrap_err();
    assert_eq!(panic_message(&*p), "plain");
    let n = 7;
    let p = std::panic::catch_unwind(|| panic!("formatted {n}")).unwrap_err();
    assert_eq!(panic_message(&*p), "formatted 7");
}
