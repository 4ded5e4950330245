//! Password hashes: argon2id with parameters sized for a Raspberry Pi, the checks a configured
//! hash must pass, and the logic of `streamserver hash-password`.
//!
//! Parameters (`m` = 8 MiB, `t` = 2 passes, `p` = 1 lane): one verification took 5.3–5.7 ms
//! (fastest of 40–60 runs; medians 9–13 ms, the 2-core x86-64 build machine being shared at a
//! load of 7–10) in a release build with AVX2; the portable code path argon2 takes on ARM
//! measured within 1.5× of it. A Pi 3 is 5–10× slower, so about 30–60 ms: well under 100 ms,
//! cheap enough for a login per connection. That is 25–40 % of the cost of OWASP's minimum
//! (19 MiB, t = 2: 14–22 ms here, ~70–200 ms on a Pi 3). Online guessing is bounded by the
//! throttle ([`super::throttle`]), not by argon2; argon2 protects the hashes if the config file
//! (root and the service group only) leaks, and a long password does more there than any
//! parameter a Pi can afford. `p` = 1 because the argon2 crate runs lanes one after another
//! without its `parallel` feature: more lanes would only cost time.
//!
//! A hash in the config carries its own parameters and is verified with them. Hashes asking for
//! more than [`MAX_M_COST_KIB`], [`MAX_T_COST`] or [`MAX_P_COST`] are refused at load
//! ([`check_phc`], in `config` with the rest of the schema): each login attempt allocates `m`
//! KiB, which must stay affordable on a 512 MB Pi Zero.

use std::io::{BufRead, IsTerminal, Write};

use argon2::{Algorithm, Argon2, Params, PasswordHasher, PasswordVerifier, Version};
use zeroize::Zeroizing;

use crate::config::users::secrets::argon2_params;

/// Memory per hash (KiB).
pub const M_COST_KIB: u32 = 8 * 1024;
/// Passes over the memory.
pub const T_COST: u32 = 2;
/// Lanes.
pub const P_COST: u32 = 1;
pub use crate::config::users::secrets::{
    check_phc, HASH_HINT, MAX_M_COST_KIB, MAX_P_COST, MAX_T_COST,
};

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password is empty")]
    Empty,
    #[error("the two passwords differ")]
    Mismatch,
    #[error("cannot read the password")]
    Read(#[source] std::io::Error),
    #[error("cannot write the hash")]
    Write(#[source] std::io::Error),
    #[error("argon2: {0}")]
    Hash(String),
}

/// Hashes `plain` with the default parameters and a random salt: a PHC string
/// `$argon2id$v=19$m=8192,t=2,p=1$<salt>$<hash>`.
pub fn hash_password(plain: &str) -> Result<String, PasswordError> {
    hash_with(plain.as_bytes(), M_COST_KIB, T_COST, P_COST)
}

/// Hashes with explicit parameters (tests use cheap ones; the dummy hash copies a user's).
pub(crate) fn hash_with(plain: &[u8], m: u32, t: u32, p: u32) -> Result<String, PasswordError> {
    let params = Params::new(m, t, p, None).map_err(|e| PasswordError::Hash(e.to_string()))?;
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(plain)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `plain` matches the PHC hash (argon2 compares the outputs in constant time).
/// Blocking: milliseconds on x86, tens of milliseconds on a Pi.
pub fn verify_password(plain: &[u8], phc: &str) -> bool {
    Argon2::default().verify_password(plain, phc).is_ok()
}

/// A hash of a random password with the same parameters as `phc`: verified against for unknown
/// user names, so they take as long as known ones.
pub(crate) fn dummy_hash_like(phc: &str) -> Result<String, PasswordError> {
    let (m, t, p) = argon2_params(phc).unwrap_or((M_COST_KIB, T_COST, P_COST));
    let mut random = Zeroizing::new([0u8; 32]);
    getrandom::fill(random.as_mut()).map_err(|e| PasswordError::Hash(e.to_string()))?;
    hash_with(random.as_ref(), m, t, p)
}

/// Reads one password: from the terminal without echo, asked twice (`interactive`), else the
/// first line of `input` (its line ending removed). An empty password is refused.
pub fn read_password(
    input: &mut dyn BufRead,
    interactive: bool,
) -> Result<Zeroizing<String>, PasswordError> {
    let password = if interactive {
        let first =
            Zeroizing::new(rpassword::prompt_password("Password: ").map_err(PasswordError::Read)?);
        let again = Zeroizing::new(
            rpassword::prompt_password("Repeat password: ").map_err(PasswordError::Read)?,
        );
        if first != again {
            return Err(PasswordError::Mismatch);
        }
        first
    } else {
        let mut line = Zeroizing::new(String::new());
        input.read_line(&mut line).map_err(PasswordError::Read)?;
        let end = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(end);
        line
    };
    if password.is_empty() {
        return Err(PasswordError::Empty);
    }
    Ok(password)
}

/// The line to paste into a `[[user]]` entry: `password_hash = "$argon2id$…"`.
pub fn password_hash_line(plain: &str) -> Result<String, PasswordError> {
    Ok(format!("password_hash = \"{}\"", hash_password(plain)?))
}

/// `streamserver hash-password`: reads the password from the terminal (or stdin when it is not
/// a terminal) and writes the line to paste to `out`; prompts go to the terminal, so the output
/// can be redirected.
pub fn hash_password_command(out: &mut dyn Write) -> Result<(), PasswordError> {
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let password = read_password(&mut stdin.lock(), interactive)?;
    let line = password_hash_line(&password)?;
    writeln!(out, "{line}").map_err(PasswordError::Write)
}

#[cfg(test)]
pub(crate) mod tests;
