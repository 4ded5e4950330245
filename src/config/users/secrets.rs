//! What a configured secret must look like: the `password_hash` (an argon2id PHC string with
//! affordable parameters, never a plain-text password) and the `token` (long, random-looking,
//! URL-safe) of a `[[user]]`. Checked while the config is parsed, so the error names the key
//! and the line; no message ever repeats the value (it may be a password, and config errors
//! are logged). `auth` hashes, verifies and generates; it re-exports these checks.

use argon2::password_hash::phc::PasswordHash;
use argon2::Params;

/// Largest `m` accepted in a configured hash (KiB): 64 MiB. Each login attempt allocates `m`
/// KiB, which must stay affordable on a 512 MB Pi Zero.
pub const MAX_M_COST_KIB: u32 = 64 * 1024;
/// Most passes accepted in a configured hash.
pub const MAX_T_COST: u32 = 16;
/// Most lanes accepted in a configured hash.
pub const MAX_P_COST: u32 = 4;

/// What to run when a hash is missing or unusable.
pub const HASH_HINT: &str = "run `streamserver hash-password` and paste the line it prints";
/// What to run for a good token.
pub const TOKEN_HINT: &str = "run `streamserver new-token` for a random one";

/// Shortest token accepted (characters).
pub const TOKEN_MIN_CHARS: usize = 32;
/// A random 32-character token has ~25 distinct characters; fewer than this means made by hand.
pub const TOKEN_MIN_DISTINCT: usize = 12;

/// `(m KiB, t, p)` of a PHC string, if it has valid argon2 parameters.
pub fn argon2_params(phc: &str) -> Option<(u32, u32, u32)> {
    let hash = PasswordHash::new(phc).ok()?;
    let params = Params::try_from(&hash).ok()?;
    Some((params.m_cost(), params.t_cost(), params.p_cost()))
}

/// Checks a configured `password_hash`.
pub fn check_phc(value: &str) -> Result<(), String> {
    if !value.starts_with('$') {
        return Err(format!(
            "this is not a password hash (a plain-text password?): only an argon2id hash may \
             be stored; {HASH_HINT}"
        ));
    }
    let crypt = [
        ("$2a$", "bcrypt"),
        ("$2b$", "bcrypt"),
        ("$2y$", "bcrypt"),
        ("$1$", "md5-crypt"),
        ("$5$", "sha256-crypt"),
        ("$6$", "sha512-crypt"),
        ("$y$", "yescrypt"),
    ];
    if let Some((_, name)) = crypt.iter().find(|(prefix, _)| value.starts_with(prefix)) {
        return Err(format!(
            "only argon2id hashes are accepted, this one is {name}; {HASH_HINT}"
        ));
    }
    let hash = PasswordHash::new(value).map_err(|_| {
        format!("not a valid PHC hash string ($argon2id$v=19$m=…,t=…,p=…$salt$hash); {HASH_HINT}")
    })?;
    let algorithm = hash.algorithm.as_str();
    if algorithm != "argon2id" {
        // Named only when it is a known one: `$hunter2` parses as algorithm "hunter2".
        let which = match algorithm {
            "argon2i" | "argon2d" | "scrypt" | "pbkdf2-sha256" | "pbkdf2-sha512" => {
                format!(", this one is {algorithm}")
            }
            _ => String::new(),
        };
        return Err(format!(
            "only argon2id hashes are accepted{which}; {HASH_HINT}"
        ));
    }
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(format!("the hash has no salt or no output; {HASH_HINT}"));
    }
    let (m, t, p) =
        argon2_params(value).ok_or_else(|| format!("invalid argon2 parameters; {HASH_HINT}"))?;
    if m > MAX_M_COST_KIB || t > MAX_T_COST || p > MAX_P_COST {
        return Err(format!(
            "argon2 parameters m={m},t={t},p={p} are too costly for every login (at most \
             m={MAX_M_COST_KIB},t={MAX_T_COST},p={MAX_P_COST}); {HASH_HINT}"
        ));
    }
    Ok(())
}

/// Checks a configured token: at least [`TOKEN_MIN_CHARS`] of `A-Z a-z 0-9 - _` with at least
/// [`TOKEN_MIN_DISTINCT`] different ones, so a short or hand-typed token (`"secret"`,
/// `"aaaa…"`) is refused.
pub fn check_token(token: &str) -> Result<(), String> {
    if token.len() < TOKEN_MIN_CHARS {
        return Err(format!(
            "too short ({} characters, at least {TOKEN_MIN_CHARS}); {TOKEN_HINT}",
            token.chars().count()
        ));
    }
    if let Some(bad) = token
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '-' || *c == '_'))
    {
        let shown = if bad.is_ascii_graphic() || bad == ' ' {
            format!("{bad:?}")
        } else {
            format!("U+{:04X}", u32::from(bad))
        };
        return Err(format!(
            "may only contain A-Z a-z 0-9 - _ (found {shown}); {TOKEN_HINT}"
        ));
    }
    let mut seen = [false; 128];
    token.bytes().for_each(|b| seen[usize::from(b)] = true);
    if seen.iter().filter(|s| **s).count() < TOKEN_MIN_DISTINCT {
        return Err(format!(
            "too predictable (few distinct characters); {TOKEN_HINT}"
        ));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
