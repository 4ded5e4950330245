//! Unit tests of `netns`: the namespace is made, shaped, entered, left and gone (as root; prints
//! SKIPPED with the reason otherwise, like the benchmark).

use super::*;

fn our_ns() -> std::path::PathBuf {
    std::fs::read_link("/proc/thread-self/ns/net").unwrap()
}

fn output(cmd: &[&str]) -> String {
    let out = Command::new(cmd[0]).args(&cmd[1..]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_shaped_link_is_entered_shaped_left_and_freed() {
    let home = our_ns();
    let link = match ShapedLink::enter(&Shaping::default()) {
        Err(NetnsError::NotRoot) => {
            eprintln!("SKIPPED: {}", NetnsError::NotRoot);
            return;
        }
        other => other.unwrap(),
    };
    assert_ne!(our_ns(), home, "this thread is inside");
    // Children spawned from this thread are inside too, and see the shaped loopback.
    let lo = output(&["ip", "link", "show", "lo"]);
    assert!(lo.contains("mtu 1500") && lo.contains("UP"), "{lo}");
    let qdisc = output(&["tc", "qdisc", "show", "dev", "lo"]);
    assert!(qdisc.contains("tbf") && qdisc.contains("8Mbit"), "{qdisc}");
    let name = format!("streamserver-bench-{}", std::process::id());
    assert!(
        !output(&["ip", "netns", "list"]).contains(&name),
        "the name is gone already"
    );
    drop(link);
    assert_eq!(our_ns(), home, "back home");
    let lo = output(&["ip", "link", "show", "lo"]);
    assert!(!lo.contains("mtu 1500"), "{lo}");
}
