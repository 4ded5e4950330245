//! Unit tests of `auth::token`.

use super::*;

#[test]
fn generated_tokens_are_43_url_safe_characters_and_differ() {
    let a = generate_token().unwrap();
    let b = generate_token().unwrap();
    assert_eq!(a.len(), 43);
    assert_ne!(a, b);
    assert_eq!(check_token(&a), Ok(()));
    assert_eq!(token_line(&a), format!("token = \"{a}\""));
    let decoded = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&a)
        .unwrap();
    assert_eq!(decoded.len(), 32);
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
