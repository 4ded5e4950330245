//! Access tokens: long random strings for clients that cannot send Basic auth
//! (`/stream.mjpg?token=…`, or `Authorization: Bearer …`).
//!
//! A generated token is 32 bytes from the OS RNG in URL-safe base64 without padding: 43
//! characters, 256 bits, usable in a URL as it is. Configured tokens must look like that — at
//! least [`TOKEN_MIN_CHARS`] characters of `A-Z a-z 0-9 - _` with at least
//! [`TOKEN_MIN_DISTINCT`] different ones — so a short or hand-typed token (`"secret"`,
//! `"aaaa…"`) is refused at load.

use base64::Engine;

pub const TOKEN_MIN_CHARS: usize = 32;
/// A random 32-character token has ~25 distinct characters; fewer than this means made by hand.
pub const TOKEN_MIN_DISTINCT: usize = 12;
/// What to run for a good token.
pub const TOKEN_HINT: &str = "run `streamserver new-token` for a random one";

#[derive(Debug, thiserror::Error)]
#[error("the OS random number generator failed: {0}")]
pub struct RngError(String);

/// A new random token (43 URL-safe characters).
pub fn generate_token() -> Result<String, RngError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|e| RngError(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes.as_ref()))
}

/// The line to paste into a `[[user]]` entry: `token = "…"`.
pub fn token_line(token: &str) -> String {
    format!("token = \"{token}\"")
}

/// Checks a configured token; the message never repeats it.
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
mod tests;
