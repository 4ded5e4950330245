//! Unit tests of `markdown`.

use super::*;

#[test]
fn replaces_only_its_block() {
    let text = "# B\n## Encode\n<!-- bench:encode:start -->\nold\n<!-- bench:encode:end -->\n## Fan-out\n<!-- bench:fanout:start -->\nkeep\n<!-- bench:fanout:end -->\n";
    let out = replace_in(text, "encode", "new\n").unwrap();
    assert!(out.contains("start -->\nnew\n<!-- bench:encode:end"));
    assert!(!out.contains("old") && out.contains("keep"));
    assert_eq!(replace_in(&out, "encode", "new").unwrap(), out);
    assert!(replace_in(text, "other", "x").is_err());
}

#[test]
fn machine_names_the_cpu() {
    let m = machine();
    assert!(m.contains("nproc") && m.contains("Linux"), "{m}");
}
