//! `[[user]]` entries for the tests: cheap password hashes (the real parameters take a second
//! per login in an unoptimised build), a valid token, and a config with users added.

use base64::Engine;
use streamserver::config::{Config, UserConfig};

/// A token that passes the config's checks.
pub const TOKEN: &str = "Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja-_xQ3";

/// An argon2id hash of `password` with cheap parameters (m = 64 KiB, t = 1).
pub fn cheap_hash(password: &str) -> String {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(64, 1, 1, None).unwrap(),
    )
    .hash_password(password.as_bytes())
    .unwrap()
    .to_string()
}

/// `Authorization: Basic …` for `user:password`, as a header line.
pub fn basic(user_password: &str) -> String {
    format!(
        "Authorization: Basic {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(user_password)
    )
}

/// The `[[user]]` entries of `users_toml`, validated against `config`'s stream ids like the
/// loader does.
pub fn parse_users(config: &Config, users_toml: &str) -> Vec<UserConfig> {
    let streams: String = (config.streams.iter())
        .map(|s| format!("[[stream]]\nid = \"{}\"\nsource = \"test\"\n", s.id))
        .collect();
    let text = format!("{streams}{users_toml}");
    Config::parse(&text, std::path::Path::new("users.toml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .users
}
