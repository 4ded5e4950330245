//! Unit tests of `config::users::secrets`.

use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};

use super::*;

/// An argon2 hash with cheap parameters (unit tests run unoptimised).
pub(crate) fn hash_with(algorithm: Algorithm, plain: &str) -> String {
    Argon2::new(
        algorithm,
        Version::V0x13,
        Params::new(64, 1, 1, None).unwrap(),
    )
    .hash_password(plain.as_bytes())
    .unwrap()
    .to_string()
}

#[test]
fn configured_hashes_are_checked_without_repeating_them() {
    let good = hash_with(Algorithm::Argon2id, "x");
    let argon2i = hash_with(Algorithm::Argon2i, "x");
    let costly = good.replace("m=64,t=1,p=1", "m=1048576,t=1,p=1");
    let table: [(&str, &str); 7] = [
        ("hunter2", "plain-text password?"),
        ("", "plain-text password?"),
        ("$hunter2", "only argon2id hashes are accepted; run"),
        (
            "$2b$12$abcdefghijklmnopqrstuuOYk4oM6yHhP3p9EVVLxT5nfQaIRZ9Pe",
            "only argon2id hashes are accepted, this one is bcrypt",
        ),
        (
            &argon2i,
            "only argon2id hashes are accepted, this one is argon2i",
        ),
        ("$argon2id$v=19$m=64,t=1,p=1", "no salt or no output"),
        (&costly, "too costly"),
    ];
    for (value, want) in table {
        let err = check_phc(value).unwrap_err();
        assert!(err.contains(want), "{value:?}: {err}");
        assert!(err.contains("streamserver hash-password"), "{err}");
        if value.len() > 1 {
            assert!(!err.contains(value), "the value is not repeated: {err}");
        }
    }
    assert_eq!(check_phc(&good), Ok(()));
}

#[test]
fn weak_tokens_are_refused_without_repeating_them() {
    let table = [
        ("secret", "too short (6 characters"),
        ("", "too short"),
        (
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "too predictable",
        ),
        ("abababababababababababababababab", "too predictable"),
        ("Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja+xyz", "found '+'"),
        ("Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja xyz", "found ' '"),
        ("Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Jaé", "found U+00E9"),
    ];
    for (token, want) in table {
        let err = check_token(token).unwrap_err();
        assert!(err.contains(want), "{token:?}: {err}");
        assert!(err.contains("streamserver new-token"), "{err}");
        if token.len() > 1 {
            assert!(!err.contains(token), "{err}");
        }
    }
    assert_eq!(check_token("Kq8v3Tn0pZx1Lr7Yw2Hc9Ud4Fb6Gs5Ja"), Ok(()));
}
