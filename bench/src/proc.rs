//! Reading another process's resource use from `/proc` (CPU time per thread in nanoseconds from
//! `/proc/PID/task/*/schedstat`, with the context switches; RSS from `/proc/PID/status`; open
//! descriptors from `/proc/PID/fd`), RSS sampled once a second by [`Sampler`], and raising our
//! own fd limit so hundreds of client connections (inherited by child processes) fit.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("cannot read /proc/{pid}/{file}")]
    Read {
        pid: u32,
        file: &'static str,
        source: std::io::Error,
    },
    #[error("unexpected format of /proc/{pid}/{file}")]
    Format { pid: u32, file: &'static str },
    #[error("setrlimit(RLIMIT_NOFILE)")]
    Rlimit(#[source] std::io::Error),
}

/// CPU time (ns) and context switches of one thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ThreadStat {
    pub cpu_ns: u64,
    pub switches: u64,
}

/// Every thread of `pid` now: run time from `schedstat` (ns, exact where the 10 ms ticks of
/// `stat` are too coarse for a process using ~1 % of a core) and voluntary + involuntary
/// context switches. Threads that end between two readings are missing from the later one.
pub fn threads(pid: u32) -> HashMap<u32, ThreadStat> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(tid) = entry.file_name().to_str().and_then(|t| t.parse().ok()) else {
            continue;
        };
        let path = entry.path();
        let cpu_ns = std::fs::read_to_string(path.join("schedstat"))
            .ok()
            .and_then(|s| s.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        let switches = std::fs::read_to_string(path.join("status"))
            .map(|s| {
                s.lines()
                    .filter(|l| l.contains("ctxt_switches:"))
                    .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
                    .sum()
            })
            .unwrap_or(0);
        out.insert(tid, ThreadStat { cpu_ns, switches });
    }
    out
}

/// What the threads in `end` did since `start` (a thread new in `end` counts from zero).
pub fn threads_delta(
    start: &HashMap<u32, ThreadStat>,
    end: &HashMap<u32, ThreadStat>,
) -> ThreadStat {
    let mut total = ThreadStat::default();
    for (tid, e) in end {
        let s = start.get(tid).copied().unwrap_or_default();
        total.cpu_ns += e.cpu_ns.saturating_sub(s.cpu_ns);
        total.switches += e.switches.saturating_sub(s.switches);
    }
    total
}

/// Resident set size of `pid` in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Result<u64, ProcError> {
    let status = read(pid, "status")?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or(ProcError::Format {
            pid,
            file: "status",
        })
}

/// Open file descriptors of `pid` (entries of `/proc/PID/fd`).
pub fn fd_count(pid: u32) -> Result<usize, ProcError> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(Iterator::count)
        .map_err(|source| ProcError::Read {
            pid,
            file: "fd",
            source,
        })
}

fn read(pid: u32, file: &'static str) -> Result<String, ProcError> {
    std::fs::read_to_string(format!("/proc/{pid}/{file}")).map_err(|source| ProcError::Read {
        pid,
        file,
        source,
    })
}

/// Raises the soft fd limit to the hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> Result<u64, ProcError> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read/write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return Err(ProcError::Rlimit(std::io::Error::last_os_error()));
        }
        lim.rlim_cur = lim.rlim_max;
        if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
            return Err(ProcError::Rlimit(std::io::Error::last_os_error()));
        }
    }
    // rlim_t is u64 on 64-bit Linux but u32 on 32-bit ARM (armv7): widen, never truncate.
    Ok(lim.rlim_cur as _)
}

/// RSS samples of a process, one per interval, taken by a background thread until stopped.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    samples: Arc<Mutex<Vec<u64>>>,
    thread: JoinHandle<()>,
}

/// What a [`Sampler`] saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RssSummary {
    pub samples: usize,
    pub first: u64,
    /// The sample a quarter into the run (after connections and buffers have settled).
    pub settled: u64,
    pub last: u64,
    pub max: u64,
}

impl Sampler {
    /// Samples `pid`'s RSS now and then every `interval` (bounded: at most one sample per
    /// interval, stops when the process is gone).
    pub fn start(pid: u32, interval: Duration) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (s, v) = (stop.clone(), samples.clone());
        let thread = std::thread::spawn(move || {
            let mut next = Instant::now();
            while !s.load(Ordering::Relaxed) {
                if Instant::now() >= next {
                    match rss_bytes(pid) {
                        Ok(rss) => v.lock().unwrap().push(rss),
                        Err(_) => return,
                    }
                    next += interval;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        Self {
            stop,
            samples,
            thread,
        }
    }

    pub fn finish(self) -> RssSummary {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.thread.join();
        let v = self.samples.lock().unwrap();
        RssSummary {
            samples: v.len(),
            first: v.first().copied().unwrap_or(0),
            settled: v.get(v.len() / 4).copied().unwrap_or(0),
            last: v.last().copied().unwrap_or(0),
            max: v.iter().copied().max().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests;
