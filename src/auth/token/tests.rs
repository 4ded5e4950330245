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
