//! Credentials out of every log line and `/api/state`: URLs lose their `user:password@` and the
//! values of secret query parameters (`token=…`, `password=…`, `pwd=…`, see [`SECRET_KEYS`]).
//!
//! [`redact_url`] is for configured URLs (upstream sources, relays, the prober): many IP cameras
//! take `?user=…&pwd=…`, so query secrets are hidden as well as the user info. [`redact_target`] is for the request target of an
//! incoming request (`/stream.mjpg?token=…`), borrowed when there is nothing to hide so logging
//! every request costs no allocation.
//!
//! The authority ends at the first `/`, `?` or `#` — as in the URL parser the sources use, which
//! refuses a raw `/` or `?` inside a password — and its last `@` ends the user info (a password
//! with a raw `@` is still hidden whole).

use std::borrow::Cow;

/// Query keys whose values are secrets (compared case-insensitively, after percent-decoding).
pub const SECRET_KEYS: &[&str] = &[
    "token",
    "access_token",
    "password",
    "passwd",
    "pass",
    "pwd",
    "psw",
    "secret",
    "key",
    "apikey",
    "api_key",
    "auth",
    "sig",
    "signature",
];

/// What replaces a secret.
const MASK: &str = "***";

/// `https://user:pw@cam:8443/snap.jpg?pwd=x&size=2` → `https://***@cam:8443/snap.jpg?pwd=***&size=2`.
pub fn redact_url(url: &str) -> String {
    let (scheme, rest) = match url.find("://") {
        Some(i) => url.split_at(i + 3),
        None => ("", url),
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rfind('@') {
        Some(at) => Cow::Owned(format!("{MASK}@{}", &authority[at + 1..])),
        None => Cow::Borrowed(authority),
    };
    format!("{scheme}{host}{}", redact_query(tail))
}

/// A request target for logs: secret query values masked; an absolute-form target
/// (`http://u:p@host/…`, sent to proxies) also loses its user info.
pub fn redact_target(target: &str) -> Cow<'_, str> {
    let path_end = target.find(['?', '#']).unwrap_or(target.len());
    if target[..path_end].contains("://") {
        return Cow::Owned(redact_url(target));
    }
    redact_query(target)
}

/// Masks the secret values in the query of `path?query#fragment`.
fn redact_query(target: &str) -> Cow<'_, str> {
    let Some(q) = target.find('?') else {
        return Cow::Borrowed(target);
    };
    let query_end = target[q..].find('#').map_or(target.len(), |f| q + f);
    let query = &target[q + 1..query_end];
    if !query.split('&').any(is_secret_pair) {
        return Cow::Borrowed(target);
    }
    let masked: Vec<Cow<'_, str>> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !value.is_empty() && is_secret_pair(pair) => {
                Cow::Owned(format!("{key}={MASK}"))
            }
            _ => Cow::Borrowed(pair),
        })
        .collect();
    Cow::Owned(format!(
        "{}?{}{}",
        &target[..q],
        masked.join("&"),
        &target[query_end..]
    ))
}

fn is_secret_pair(pair: &str) -> bool {
    let Some((key, value)) = pair.split_once('=') else {
        return false;
    };
    if value.is_empty() {
        return false;
    }
    let key = percent_decode_lossy(key);
    SECRET_KEYS.iter().any(|s| key.eq_ignore_ascii_case(s))
}

/// `tok%65n` → `token`, so an encoded key is recognised like the query parser would.
fn percent_decode_lossy(text: &str) -> Cow<'_, str> {
    if !text.contains(['%', '+']) {
        return Cow::Borrowed(text);
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(h), Some(l)) => {
                    out.push((h * 16 + l) as u8);
                    i += 3;
                    continue;
                }
                _ => out.push(b'%'),
            },
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests;
