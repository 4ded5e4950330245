//! What a request presents: Basic auth, a token (`Authorization: Bearer …` or `?token=…`), or
//! nothing — and the keyed digests that let caches and token checks work without keeping
//! secrets around.
//!
//! A digest is BLAKE2b-256 keyed with 32 random bytes drawn when the [`super::Authenticator`]
//! is built, over a domain tag and the secret. It is what the login caches store instead of
//! the password: fast to compute (under a microsecond), so a cache lookup costs nothing next
//! to argon2, useless outside this process (the key never leaves memory), and compared in
//! constant time. Configured tokens are digested once at start, so checking a presented token
//! takes the same time whichever user (if any) it belongs to.

use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use blake2::digest::consts::U32;
use blake2::digest::{KeyInit, Mac};
use blake2::Blake2bMac;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// Standard alphabet, padding optional (some clients drop it).
const BASIC_BASE64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Longest `Authorization` value looked at (bytes); a longer one is malformed. Bounds the
/// decoded buffer; real Basic credentials are far shorter.
pub const MAX_AUTHORIZATION_BYTES: usize = 1024;

/// The credentials of a request. The password lives only here, zeroed on drop.
pub enum Presented<'a> {
    None,
    Basic {
        name: Vec<u8>,
        password: Zeroizing<Vec<u8>>,
    },
    Token(&'a [u8]),
    /// An `Authorization` header that is neither valid Basic nor Bearer.
    Malformed,
}

/// Reads the credentials: the `Authorization` header wins over the `token` query value; an
/// empty `?token=` counts as none.
pub fn presented<'a>(
    authorization: Option<&'a [u8]>,
    token_query: Option<&'a str>,
) -> Presented<'a> {
    match authorization {
        Some(value) => parse_authorization(value),
        None => match token_query {
            Some(t) if !t.is_empty() => Presented::Token(t.as_bytes()),
            _ => Presented::None,
        },
    }
}

fn parse_authorization(value: &[u8]) -> Presented<'_> {
    if value.len() > MAX_AUTHORIZATION_BYTES {
        return Presented::Malformed;
    }
    let Some(space) = value.iter().position(|b| *b == b' ') else {
        return Presented::Malformed;
    };
    let (scheme, rest) = value.split_at(space);
    let rest = rest.trim_ascii();
    if rest.is_empty() {
        return Presented::Malformed;
    }
    if scheme.eq_ignore_ascii_case(b"bearer") {
        return Presented::Token(rest);
    }
    if !scheme.eq_ignore_ascii_case(b"basic") {
        return Presented::Malformed;
    }
    let Ok(decoded) = BASIC_BASE64.decode(rest).map(Zeroizing::new) else {
        return Presented::Malformed;
    };
    match decoded.iter().position(|b| *b == b':') {
        Some(colon) => Presented::Basic {
            name: decoded[..colon].to_vec(),
            password: Zeroizing::new(decoded[colon + 1..].to_vec()),
        },
        None => Presented::Malformed,
    }
}

/// A keyed digest of a credential.
#[derive(Clone, Copy)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Constant-time equality.
    pub fn matches(&self, other: &Digest) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

/// The per-authenticator digest key.
pub struct DigestKey(Zeroizing<[u8; 32]>);

impl DigestKey {
    pub fn random() -> Result<DigestKey, getrandom::Error> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::fill(key.as_mut())?;
        Ok(DigestKey(key))
    }

    /// Of a Basic login; the name's length goes first, so no other pair has the same input.
    pub fn basic(&self, name: &[u8], password: &[u8]) -> Digest {
        let name_len = (name.len() as u64).to_le_bytes();
        self.digest(&[b"basic\0", &name_len, name, password])
    }

    pub fn token(&self, token: &[u8]) -> Digest {
        self.digest(&[b"token\0", token])
    }

    fn digest(&self, parts: &[&[u8]]) -> Digest {
        let mut mac = <Blake2bMac<U32> as KeyInit>::new_from_slice(self.0.as_ref())
            .expect("a 32-byte key fits BLAKE2b");
        for part in parts {
            mac.update(part);
        }
        Digest(mac.finalize().into_bytes().into())
    }
}

#[cfg(test)]
mod tests;
