//! The `[[user]]` entries of `config.toml`: who may do what, from where.
//!
//! ```toml
//! [[user]]
//! name = "alice"
//! password_hash = "$argon2id$v=19$m=8192,t=2,p=1$…"   # streamserver hash-password
//! token = "Kq8v3Tn0…"                                  # optional; streamserver new-token
//! allow = ["192.168.1.0/24", "::1"]                    # optional; default: any address
//! view = true                                          # streams, snapshots, viewer page
//! status = true                                        # /api/state, /metrics
//! control = ["front"]                                  # camera controls, stills, pause
//!
//! [[user]]
//! name = "anonymous"       # no password_hash, no token: what is open without login
//! view = ["front"]
//! allow = ["192.168.1.0/24"]
//! ```
//!
//! `view`, `status` and `control` are `true`, `false` (the default) or a list of stream ids.
//! `health = true/false` governs `/health`, which stays open to everyone while no entry sets
//! `health`. The entry named `anonymous` is the only one without credentials (several may
//! exist, with different `allow` lists; their grants add up); any other entry needs a
//! `password_hash`, a `token` or both, so a forgotten hash can never open an account.
//!
//! Values are checked while parsed (serde errors name key and line; [`secrets`] checks hashes
//! and tokens); [`validate_users`] checks what needs the whole list and the stream ids,
//! returning `(key, message)` for the loader. Neither ever repeats a password, hash or token in
//! a message. The rules that turn these entries into decisions are `auth`'s.

pub mod secrets;

use std::fmt;

use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::Deserialize;

use super::addr::AddrRange;
use secrets::{check_phc, check_token, HASH_HINT, TOKEN_HINT};

/// What an endpoint needs; each is a key of a `[[user]]` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// `view`: streams, snapshots, the viewer page.
    View,
    /// `status`: `/api/state`, `/metrics`.
    Status,
    /// `control`: camera controls, pause, stills.
    Control,
    /// `health`: `/health`.
    Health,
}

/// The name of the entry that grants access without login.
pub const ANONYMOUS: &str = "anonymous";

/// One `[[user]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    pub name: UserName,
    /// argon2id PHC string; never a plain-text password.
    pub password_hash: Option<PhcHash>,
    /// For clients that cannot send Basic auth: `?token=…` or `Authorization: Bearer …`.
    pub token: Option<Token>,
    /// Source addresses the entry applies to; `None` = any address.
    pub allow: Option<Vec<AddrRange>>,
    #[serde(default)]
    pub view: Grant,
    #[serde(default)]
    pub status: Grant,
    #[serde(default)]
    pub control: Grant,
    /// `/health`; unset everywhere = open to all.
    pub health: Option<bool>,
}

impl UserConfig {
    pub fn is_anonymous(&self) -> bool {
        self.name.0 == ANONYMOUS
    }

    /// Whether this entry grants `permission` on `stream` (`None`: a request for no stream in
    /// particular, e.g. `/api/state`, which any non-empty grant allows).
    pub fn grants(&self, permission: Permission, stream: Option<&str>) -> bool {
        match permission {
            Permission::View => self.view.allows(stream),
            Permission::Status => self.status.allows(stream),
            Permission::Control => self.control.allows(stream),
            Permission::Health => self.health == Some(true),
        }
    }

    pub fn grant(&self, permission: Permission) -> &Grant {
        static ALL: Grant = Grant::All;
        static NOTHING: Grant = Grant::Nothing;
        match permission {
            Permission::View => &self.view,
            Permission::Status => &self.status,
            Permission::Control => &self.control,
            Permission::Health if self.health == Some(true) => &ALL,
            Permission::Health => &NOTHING,
        }
    }
}

/// A user name: 1–64 characters, no `:` (Basic auth splits there), no control characters, no
/// surrounding spaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserName(pub String);

impl<'de> Deserialize<'de> for UserName {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let ok = (1..=64).contains(&name.chars().count())
            && name.trim() == name
            && !name.contains(':')
            && !name.chars().any(char::is_control);
        if ok {
            Ok(UserName(name))
        } else {
            Err(de::Error::custom(format!(
                "invalid user name {name:?}: 1-64 characters, no ':', no control characters, \
                 no leading or trailing spaces"
            )))
        }
    }
}

/// An argon2id PHC string, checked at load by [`check_phc`].
#[derive(Clone, PartialEq, Eq)]
pub struct PhcHash(pub String);

impl fmt::Debug for PhcHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhcHash(***)")
    }
}

impl<'de> Deserialize<'de> for PhcHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        check_phc(&value).map_err(de::Error::custom)?;
        Ok(PhcHash(value))
    }
}

/// An access token, checked at load by [`check_token`]; `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(pub String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(***)")
    }
}

impl<'de> Deserialize<'de> for Token {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = String::deserialize(d)?;
        check_token(&value).map_err(de::Error::custom)?;
        Ok(Token(value))
    }
}

/// One permission of an entry: `false`, `true`, or limited to some streams.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Grant {
    #[default]
    Nothing,
    All,
    Streams(Vec<String>),
}

impl Grant {
    /// `stream = None` is a request about no stream in particular: any non-empty grant allows it
    /// (the endpoint then shows only the granted streams).
    pub fn allows(&self, stream: Option<&str>) -> bool {
        match (self, stream) {
            (Grant::Nothing, _) => false,
            (Grant::All, _) => true,
            (Grant::Streams(_), None) => true,
            (Grant::Streams(ids), Some(s)) => ids.iter().any(|id| id == s),
        }
    }
}

impl<'de> Deserialize<'de> for Grant {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct GrantVisitor;
        impl<'de> Visitor<'de> for GrantVisitor {
            type Value = Grant;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("true, false or a list of stream ids")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Grant, E> {
                Ok(if v { Grant::All } else { Grant::Nothing })
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Grant, A::Error> {
                let mut ids = Vec::new();
                while let Some(id) = seq.next_element::<String>()? {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                if ids.is_empty() {
                    return Err(de::Error::custom(
                        "an empty list grants nothing: write false, or list stream ids",
                    ));
                }
                Ok(Grant::Streams(ids))
            }
        }
        d.deserialize_any(GrantVisitor)
    }
}

/// Checks of the whole `[[user]]` list: names unique, credentials where they must be and only
/// there, tokens unique, stream ids known, every entry granting something. `Err((key, message))`
/// with `key` like `user[2].view`.
pub fn validate_users(users: &[UserConfig], stream_ids: &[&str]) -> Result<(), (String, String)> {
    for (i, user) in users.iter().enumerate() {
        let key = |field: &str| format!("user[{i}].{field}");
        let name = user.name.0.as_str();
        if user.is_anonymous() {
            if user.password_hash.is_some() {
                return Err((key("password_hash"), anonymous_with("a password_hash")));
            }
            if user.token.is_some() {
                return Err((key("token"), anonymous_with("a token")));
            }
        } else if user.password_hash.is_none() && user.token.is_none() {
            return Err((
                key("name"),
                format!(
                    "user {name:?} has neither password_hash nor token: {HASH_HINT} (or set a \
                     token: {TOKEN_HINT}); only the entry named {ANONYMOUS:?} grants access \
                     without login"
                ),
            ));
        }
        if !user.is_anonymous() && users[..i].iter().any(|o| o.name == user.name) {
            return Err((key("name"), format!("duplicate user name {name:?}")));
        }
        if let Some(token) = &user.token {
            if let Some(j) = users[..i]
                .iter()
                .position(|o| o.token.as_ref() == Some(token))
            {
                return Err((
                    key("token"),
                    format!(
                        "the same token as user[{j}] ({:?}); every user needs their own: \
                         {TOKEN_HINT}",
                        users[j].name.0
                    ),
                ));
            }
        }
        if user.allow.as_ref().is_some_and(Vec::is_empty) {
            return Err((
                key("allow"),
                "an empty list lets no address in: list addresses or CIDR ranges, or remove \
                 `allow` to allow any address"
                    .into(),
            ));
        }
        for (field, grant) in [
            ("view", &user.view),
            ("status", &user.status),
            ("control", &user.control),
        ] {
            if let Grant::Streams(ids) = grant {
                if let Some(unknown) = ids.iter().find(|id| !stream_ids.contains(&id.as_str())) {
                    return Err((
                        key(field),
                        format!(
                            "unknown stream id {unknown:?} (streams: {})",
                            stream_ids.join(", ")
                        ),
                    ));
                }
            }
        }
        let grants_something = [&user.view, &user.status, &user.control]
            .iter()
            .any(|g| **g != Grant::Nothing)
            || user.health.is_some();
        if !grants_something {
            return Err((
                key("name"),
                format!(
                    "user {name:?} grants nothing: set view, status, control (true or a list \
                     of stream ids) or health"
                ),
            ));
        }
    }
    Ok(())
}

fn anonymous_with(what: &str) -> String {
    format!(
        "the {ANONYMOUS:?} entry grants access without login and cannot have {what}; give this \
         user another name"
    )
}

#[cfg(test)]
mod tests;
