//! Unit tests of `floor`: the build and its errors (needs `cc` and the shared source, like the
//! benchmarks themselves; fails loudly without them).

use super::*;

#[test]
fn the_shared_floor_server_builds_once_and_runs() {
    let src = default_source();
    assert!(
        src.is_file(),
        "{} is missing: the benchmarks need it",
        src.display()
    );
    let out = std::env::temp_dir().join(format!("floor-build-test-{}", std::process::id()));
    let bin = build(&src, &out).unwrap();
    let built = std::fs::metadata(&bin).unwrap().modified().unwrap();
    assert_eq!(build(&src, &out).unwrap(), bin);
    assert_eq!(
        std::fs::metadata(&bin).unwrap().modified().unwrap(),
        built,
        "an up-to-date binary is not rebuilt"
    );
    // Without arguments it prints its usage and exits with status 2.
    let run = Command::new(&bin).output().unwrap();
    assert_eq!(run.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&run.stderr).contains("usage"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_missing_source_or_a_broken_one_is_a_clear_error() {
    let dir = std::env::temp_dir().join(format!("floor-build-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("nope.c");
    let err = build(&missing, &dir).unwrap_err();
    assert!(matches!(err, FloorError::NoSource(_)));
    assert!(err.to_string().contains("--floor-src"), "{err}");
    let broken = dir.join("broken.c");
    std::fs::write(&broken, "int main( {").unwrap();
    let err = build(&broken, &dir).unwrap_err();
    assert!(matches!(err, FloorError::Cc { .. }), "{err}");
    assert!(err.to_string().contains("broken.c"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
