//! The shaped link: a network namespace whose loopback has a 1500-byte MTU and a token-bucket
//! limit (`tc qdisc … tbf rate 8mbit burst 16kb latency 200ms`), like a slow Wi-Fi or uplink
//! shared by the viewers.
//!
//! [`ShapedLink::enter`] makes it with `ip netns add`, sets it up with `ip netns exec`, and moves
//! the calling thread into it (`setns`): every process that thread spawns from then on — the
//! servers and the probes — runs inside, and the thread's own connections (the readiness checks)
//! too. The name is removed again right away (`ip netns del`): the namespace lives on only while
//! something is in it, so the kernel frees it once the runs end, even if the benchmark is
//! killed. Dropping the guard moves the thread back. It needs root; without it, or without
//! `ip`/`tc`, [`ShapedLink::enter`] says why and the scenario is skipped.

use std::fs::File;
use std::marker::PhantomData;
use std::os::fd::AsRawFd;
use std::process::Command;

#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("needs root (to create a network namespace and shape its loopback)")]
    NotRoot,
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("cannot {what}")]
    Io {
        what: &'static str,
        source: std::io::Error,
    },
}

/// The token-bucket shaping of the namespace's loopback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shaping {
    /// `tc` rate, e.g. `8mbit`.
    pub rate: String,
    pub burst: String,
    pub latency: String,
    pub mtu: u32,
}

impl Default for Shaping {
    fn default() -> Self {
        Self {
            rate: "8mbit".into(),
            burst: "16kb".into(),
            latency: "200ms".into(),
            mtu: 1500,
        }
    }
}

impl std::fmt::Display for Shaping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "lo mtu {}, tbf rate {} burst {} latency {}",
            self.mtu, self.rate, self.burst, self.latency
        )
    }
}

/// The calling thread inside the shaped namespace until dropped (on the same thread: the
/// guard is not `Send`).
pub struct ShapedLink {
    /// The thread's namespace before, to return to.
    home: File,
    _same_thread: PhantomData<*const ()>,
}

fn run(args: &[&str]) -> Result<(), NetnsError> {
    let command = args.join(" ");
    let out = Command::new(args[0])
        .args(&args[1..])
        .output()
        .map_err(|e| NetnsError::Command {
            command: command.clone(),
            detail: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetnsError::Command {
            command,
            detail: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn setns(ns: &File) -> std::io::Result<()> {
    // SAFETY: setns(2) on a namespace file descriptor we hold open; affects this thread only.
    if unsafe { libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl ShapedLink {
    pub fn enter(shaping: &Shaping) -> Result<Self, NetnsError> {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return Err(NetnsError::NotRoot);
        }
        let name = format!("streamserver-bench-{}", std::process::id());
        run(&["ip", "netns", "add", &name])?;
        let entered = Self::setup_and_enter(&name, shaping);
        // Whatever happened, the name goes: the namespace lives while something is inside.
        let deleted = run(&["ip", "netns", "del", &name]);
        let link = entered?;
        deleted?;
        Ok(link)
    }

    fn setup_and_enter(name: &str, s: &Shaping) -> Result<Self, NetnsError> {
        let mtu = s.mtu.to_string();
        let exec = ["ip", "netns", "exec", name];
        run(&[&exec[..], &["ip", "link", "set", "lo", "up", "mtu", &mtu]].concat())?;
        run(&[
            &exec[..],
            &[
                "tc", "qdisc", "add", "dev", "lo", "root", "tbf", "rate", &s.rate, "burst",
                &s.burst, "latency", &s.latency,
            ],
        ]
        .concat())?;
        let io = |what| move |source| NetnsError::Io { what, source };
        let home = File::open("/proc/thread-self/ns/net").map_err(io("open our namespace"))?;
        let ns = File::open(format!("/var/run/netns/{name}")).map_err(io("open the namespace"))?;
        setns(&ns).map_err(io("enter the namespace (setns)"))?;
        Ok(Self {
            home,
            _same_thread: PhantomData,
        })
    }
}

impl Drop for ShapedLink {
    fn drop(&mut self) {
        if let Err(err) = setns(&self.home) {
            eprintln!("shaped link: cannot return to the original network namespace: {err}");
        }
    }
}

#[cfg(test)]
mod tests;
