//! What `run` does to its own process before anything else: die with the server, and keep the
//! protocol's stdout for protocol bytes only.
//!
//! - [`die_with_parent`]: `PR_SET_PDEATHSIG(SIGKILL)`, so the kernel kills the helper when the
//!   server dies (the camera is then freed with it), then a check that the parent is still the
//!   server that spawned it: one that died before the `prctl` has already reparented the helper,
//!   and the signal will never come.
//! - [`protocol_stdout`]: a duplicate of fd 1 for the protocol, then fd 1 pointed at stderr, so
//!   a stray `println!` or a C++ library writing to `std::cout` ends up in the log, not in the
//!   frame stream.

use std::fs::File;
use std::io;
use std::os::fd::{FromRawFd, OwnedFd};

/// The server that spawned the helper is gone.
#[derive(Debug, thiserror::Error)]
#[error("the server (pid {expected}) is gone: this helper's parent is pid {actual}; exiting")]
pub struct ParentGone {
    pub expected: u32,
    pub actual: u32,
}

/// Asks the kernel for SIGKILL when the parent dies, then checks that the parent is still
/// `parent_pid` (when given). Errors: the `prctl` failed, or the parent is gone.
pub fn die_with_parent(parent_pid: Option<u32>) -> Result<(), ProcessError> {
    // SAFETY: prctl(PR_SET_PDEATHSIG) takes a signal number and changes only this process.
    let rc = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong) };
    if rc != 0 {
        return Err(ProcessError::Prctl(io::Error::last_os_error()));
    }
    if let Some(expected) = parent_pid {
        // SAFETY: getppid has no preconditions and cannot fail.
        let actual = unsafe { libc::getppid() } as u32;
        if actual != expected {
            return Err(ParentGone { expected, actual }.into());
        }
    }
    Ok(())
}

/// Takes fd 1 for the protocol (a close-on-exec duplicate, written unbuffered) and points fd 1
/// at fd 2. Call before loading libcamera or starting any thread that may print.
pub fn protocol_stdout() -> Result<File, ProcessError> {
    // SAFETY: F_DUPFD_CLOEXEC duplicates fd 1 into a new fd at or above 3; checked below.
    let fd = unsafe { libc::fcntl(1, libc::F_DUPFD_CLOEXEC, 3) };
    if fd < 0 {
        return Err(ProcessError::Stdout(io::Error::last_os_error()));
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let protocol = File::from(unsafe { OwnedFd::from_raw_fd(fd) });
    // SAFETY: dup2 replaces fd 1 (owned by std's stdout, which now writes to stderr's file).
    if unsafe { libc::dup2(2, 1) } < 0 {
        return Err(ProcessError::Stdout(io::Error::last_os_error()));
    }
    Ok(protocol)
}

/// Setting the process up failed.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot ask for the parent-death signal: {0}")]
    Prctl(#[source] io::Error),
    #[error(transparent)]
    ParentGone(#[from] ParentGone),
    #[error("cannot set stdout aside for the protocol: {0}")]
    Stdout(#[source] io::Error),
}

#[cfg(test)]
mod tests;
