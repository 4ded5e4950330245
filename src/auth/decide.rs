//! The decision rules of [`super::Authenticator`] (listed in the module doc of `auth`):
//! [`Authenticator::check`] decides everything that needs no argon2 at once and hands back a
//! [`PendingVerify`] (see [`super::verify`]) when a password must be verified; the grants of
//! entries and users are turned into a [`Decision`] here.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Instant;

use super::addr::allowed;
use super::cache::AuthCache;
use super::credentials::{presented, Presented};
use super::throttle::SourceKey;
use super::verify::PendingVerify;
use super::{lock, AuthRequest, Authenticator, Decision, Denial, Inner, Permission, Reason, Scope};

/// The outcome of [`Authenticator::check`].
pub enum Check {
    Done(Decision),
    /// Run [`PendingVerify::run`] on a blocking thread, then [`Authenticator::finish`] (or let
    /// [`Authenticator::authorize`] do both).
    Verify(PendingVerify),
}

impl Authenticator {
    /// Decides `request` if that needs no argon2 (anything but an uncached Basic login).
    pub fn check(&self, request: &AuthRequest<'_>, cache: &mut AuthCache, now: Instant) -> Check {
        let Some(inner) = &self.inner else {
            return Check::Done(open());
        };
        if request.permission == Permission::Health && inner.health_open {
            return Check::Done(open());
        }
        let peer = request.peer.to_canonical();
        let login_possible =
            (inner.users.iter()).any(|u| !u.is_anonymous() && allowed(u.allow.as_deref(), peer));
        let credentials = if login_possible {
            presented(request.authorization, request.token)
        } else {
            Presented::None
        };
        let (permission, stream) = (request.permission, request.stream);
        let key = SourceKey::of(peer);
        let unauthorized = |user: Option<usize>, reason| {
            let user = user.map(|u| Arc::clone(&inner.names[u]));
            Check::Done(Decision::Unauthorized(Denial { user, reason }))
        };
        match credentials {
            Presented::None => {
                Check::Done(inner.anonymous(peer, permission, stream, login_possible))
            }
            Presented::Malformed => unauthorized(None, Reason::MalformedCredentials),
            Presented::Token(token) => {
                let digest = inner.key.token(token);
                let mut found = None;
                for (d, user) in &inner.tokens {
                    if d.matches(&digest) {
                        found = Some(*user);
                    }
                }
                match found {
                    Some(u) if allowed(inner.users[u].allow.as_deref(), peer) => {
                        Check::Done(inner.authorized(u, peer, permission, stream))
                    }
                    Some(u) => unauthorized(Some(u), Reason::AddressNotAllowed),
                    None => unauthorized(None, Reason::WrongToken),
                }
            }
            Presented::Basic { name, password } => {
                let digest = inner.key.basic(&name, &password);
                if let Some(u) = cache.get(inner.generation, &digest, now) {
                    return Check::Done(inner.authorized(u, peer, permission, stream));
                }
                if let Err(retry_after) = lock(&inner.throttle).check(key, now) {
                    return Check::Done(Decision::Throttled { retry_after });
                }
                let user = (inner.users.iter())
                    .position(|u| !u.is_anonymous() && u.name.0.as_bytes() == name.as_slice());
                let here = user.filter(|&u| allowed(inner.users[u].allow.as_deref(), peer));
                if let Some(u) = here {
                    let hit = lock(&inner.verified).get(&digest, now);
                    if let Some((cached, verified_at)) = hit.filter(|(c, _)| *c == u) {
                        cache.put(inner.generation, digest, cached, verified_at);
                        return Check::Done(inner.authorized(u, peer, permission, stream));
                    }
                }
                let own_hash = here.and_then(|u| inner.users[u].password_hash.as_ref());
                let failure = Denial {
                    user: user.map(|u| Arc::clone(&inner.names[u])),
                    reason: match (user, here) {
                        (None, _) => Reason::UnknownUser,
                        (Some(_), None) => Reason::AddressNotAllowed,
                        (Some(_), Some(_)) => Reason::WrongPassword,
                    },
                };
                let Some(hash) = own_hash
                    .map(|h| h.0.clone())
                    .or_else(|| inner.dummy_hash.clone())
                else {
                    // No password user exists: nothing to time, but still a guess.
                    lock(&inner.throttle).record_failure(key, now);
                    return Check::Done(Decision::Unauthorized(failure));
                };
                Check::Verify(PendingVerify {
                    inner: Arc::clone(inner),
                    password,
                    hash,
                    user: own_hash.and(here),
                    failure,
                    digest,
                    peer,
                    permission,
                    stream: stream.map(str::to_owned),
                })
            }
        }
    }
}

fn open() -> Decision {
    Decision::Allowed {
        user: None,
        scope: Scope::All,
    }
}

impl Inner {
    pub(super) fn anonymous_entries(&self, peer: IpAddr) -> impl Iterator<Item = usize> + '_ {
        (0..self.users.len()).filter(move |&i| {
            self.users[i].is_anonymous() && allowed(self.users[i].allow.as_deref(), peer)
        })
    }

    /// Without a login: what the anonymous entries grant, else 401 (or 403 when no login is
    /// possible from `peer`).
    fn anonymous(
        &self,
        peer: IpAddr,
        permission: Permission,
        stream: Option<&str>,
        login_possible: bool,
    ) -> Decision {
        let entries: Vec<usize> = self.anonymous_entries(peer).collect();
        if let Some(scope) = self.scope(&entries, permission, stream) {
            return Decision::Allowed { user: None, scope };
        }
        let reason = if login_possible {
            Reason::NoCredentials
        } else {
            Reason::AddressNotAllowed
        };
        let denial = Denial { user: None, reason };
        if login_possible {
            Decision::Unauthorized(denial)
        } else {
            Decision::Forbidden(denial)
        }
    }

    /// A logged-in user: their grants plus the anonymous ones that apply to `peer`.
    pub(super) fn authorized(
        &self,
        user: usize,
        peer: IpAddr,
        permission: Permission,
        stream: Option<&str>,
    ) -> Decision {
        let mut entries: Vec<usize> = self.anonymous_entries(peer).collect();
        entries.push(user);
        let name = Some(Arc::clone(&self.names[user]));
        match self.scope(&entries, permission, stream) {
            Some(scope) => Decision::Allowed { user: name, scope },
            None => Decision::Forbidden(Denial {
                user: name,
                reason: Reason::NoPermission,
            }),
        }
    }

    /// `None` when no entry grants `permission` on `stream`, else the union of their streams.
    fn scope(
        &self,
        entries: &[usize],
        permission: Permission,
        stream: Option<&str>,
    ) -> Option<Scope> {
        if !entries
            .iter()
            .any(|&i| self.users[i].grants(permission, stream))
        {
            return None;
        }
        let mut only: Vec<Arc<str>> = Vec::new();
        for &i in entries {
            match self.users[i].grant(permission) {
                super::Grant::All => return Some(Scope::All),
                super::Grant::Nothing => {}
                super::Grant::Streams(ids) => {
                    for id in ids {
                        if !only.iter().any(|s| **s == **id) {
                            only.push(Arc::from(id.as_str()));
                        }
                    }
                }
            }
        }
        Some(Scope::Only(only))
    }
}

#[cfg(test)]
mod tests;
