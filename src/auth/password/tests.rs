//! Unit tests of `auth::password`.

use super::*;

/// Cheap parameters: unit tests run unoptimised, where the real ones take a second.
pub(crate) fn cheap_hash(plain: &str) -> String {
    hash_with(plain.as_bytes(), 64, 1, 1).unwrap()
}

#[test]
fn default_hash_is_argon2id_with_the_documented_parameters_and_verifies() {
    let phc = hash_password("correct horse").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=8192,t=2,p=1$"), "{phc}");
    assert_eq!(check_phc(&phc), Ok(()));
    assert!(verify_password(b"correct horse", &phc));
    assert!(!verify_password(b"correct horsE", &phc));
    assert_ne!(phc, hash_password("correct horse").unwrap(), "salted");
}

#[test]
fn verification_uses_the_parameters_of_the_hash() {
    let phc = cheap_hash("pw");
    assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"));
    assert!(verify_password(b"pw", &phc));
    assert!(!verify_password(b"", &phc));
    let dummy = dummy_hash_like(&phc).unwrap();
    assert!(dummy.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{dummy}");
    assert!(!verify_password(b"pw", &dummy));
}

#[test]
fn a_password_from_stdin_is_its_first_line() {
    let table: [(&[u8], Result<&str, &str>); 6] = [
        (b"s3cret\n", Ok("s3cret")),
        (b"s3cret\r\n", Ok("s3cret")),
        (b"s3cret", Ok("s3cret")),
        (b" spaces kept \nsecond line\n", Ok(" spaces kept ")),
        (b"\n", Err("empty")),
        (b"", Err("empty")),
    ];
    for (input, want) in table {
        let got = read_password(&mut &input[..], false);
        match (got, want) {
            (Ok(pw), Ok(w)) => assert_eq!(pw.as_str(), w),
            (Err(e), Err(w)) => assert!(e.to_string().contains(w), "{e}"),
            (got, want) => panic!("{input:?}: {:?} vs {want:?}", got.map(|p| p.to_string())),
        }
    }
}

#[test]
fn the_printed_line_pastes_into_the_config() {
    let line = password_hash_line("correct horse").unwrap();
    let value = line
        .strip_prefix("password_hash = \"")
        .and_then(|l| l.strip_suffix('"'))
        .unwrap();
    let parsed: toml::Table = toml::from_str(&line).unwrap();
    assert_eq!(parsed["password_hash"].as_str(), Some(value));
    assert!(verify_password(b"correct horse", value));
}
