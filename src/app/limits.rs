//! The open-file limit against `max_clients`: every stream client is a socket, so a limit below
//! what `max_clients` needs would turn into failed accepts under load. At start the soft limit
//! is raised towards the hard one when needed; if even the hard limit is too low, start-up fails
//! with an error naming `server.max_clients`.

use tracing::info;

use crate::config::ServerConfig;
use crate::http::EXTRA_CONNECTIONS;

/// Descriptors kept for everything that is not a client: log files, listeners, sources, the
/// runtime, libraries.
pub const RESERVED_FDS: u64 = 128;

#[derive(Debug, thiserror::Error)]
pub enum LimitError {
    #[error(
        "server.max_clients = {max_clients} needs about {needed} open files, but this process may \
         open only {hard} (raise LimitNOFILE= in the unit, or `ulimit -n`; or lower max_clients)"
    )]
    TooFewFiles {
        max_clients: usize,
        needed: u64,
        hard: u64,
    },
    #[error("cannot read or raise the open-file limit")]
    Rlimit(#[source] std::io::Error),
}

/// Open files `config` needs: every client connection (those waiting for their head may pass
/// the limit for a moment, see `http::admission`) plus [`RESERVED_FDS`].
pub fn files_needed(config: &ServerConfig) -> u64 {
    (config.max_clients + EXTRA_CONNECTIONS + config.max_pending_connections) as u64 + RESERVED_FDS
}

/// Raises the soft `RLIMIT_NOFILE` to what `config` needs if the hard limit allows; fails if it
/// does not.
pub fn ensure_file_limit(config: &ServerConfig) -> Result<(), LimitError> {
    let needed = files_needed(config);
    let (soft, hard) = get().map_err(LimitError::Rlimit)?;
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        return Err(LimitError::TooFewFiles {
            max_clients: config.max_clients,
            needed,
            hard,
        });
    }
    set(needed, hard).map_err(LimitError::Rlimit)?;
    info!(
        from = soft,
        to = needed,
        "raised the open-file limit for max_clients"
    );
    Ok(())
}

/// `(soft, hard)` of `RLIMIT_NOFILE`.
fn get() -> std::io::Result<(u64, u64)> {
    // SAFETY: getrlimit fills the struct it is given.
    let mut lim: libc::rlimit = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // rlim_t is 32 bits wide on 32-bit ARM, 64 elsewhere.
    #[allow(clippy::useless_conversion)]
    Ok((u64::from(lim.rlim_cur), u64::from(lim.rlim_max)))
}

fn set(soft: u64, hard: u64) -> std::io::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: libc::rlim_t::try_from(soft).unwrap_or(libc::rlim_t::MAX),
        rlim_max: libc::rlim_t::try_from(hard).unwrap_or(libc::rlim_t::MAX),
    };
    // SAFETY: setrlimit reads the struct it is given.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}
