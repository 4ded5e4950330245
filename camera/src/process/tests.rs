//! Unit tests of the parent check (the parent-death signal itself is tested on the real binary
//! in `tests/protocol.rs`).

use super::*;

#[test]
fn the_parent_check_passes_for_the_real_parent_and_names_a_wrong_one() {
    // SAFETY: getppid has no preconditions.
    let parent = unsafe { libc::getppid() } as u32;
    die_with_parent(None).unwrap();
    die_with_parent(Some(parent)).unwrap();
    let err = die_with_parent(Some(parent + 1)).unwrap_err();
    assert!(matches!(
        err,
        ProcessError::ParentGone(ParentGone { expected, actual }) if expected == parent + 1 && actual == parent
    ));
    assert!(err
        .to_string()
        .starts_with(&format!("the server (pid {}) is gone", parent + 1)));
}
