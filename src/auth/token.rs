//! Access tokens: long random strings for clients that cannot send Basic auth
//! (`/stream.mjpg?token=…`, or `Authorization: Bearer …`).
//!
//! A generated token is 32 bytes from the OS RNG in URL-safe base64 without padding: 43
//! characters, 256 bits, usable in a URL as it is. Configured tokens must look like that — at
//! least [`TOKEN_MIN_CHARS`] characters of `A-Z a-z 0-9 - _` with at least
//! [`TOKEN_MIN_DISTINCT`] different ones — so a short or hand-typed token (`"secret"`,
//! `"aaaa…"`) is refused at load.

use base64::Engine;

pub use crate::config::users::secrets::{
    check_token, TOKEN_HINT, TOKEN_MIN_CHARS, TOKEN_MIN_DISTINCT,
};

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

#[cfg(test)]
mod tests;
