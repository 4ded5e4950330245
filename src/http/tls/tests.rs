//! Unit tests of `http::tls`: loading, refusing bad pairs, reloading only on change.

use super::*;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/tls");

/// A temporary copy of a cert/key pair that tests may overwrite.
struct Pair {
    dir: PathBuf,
    config: TlsConfig,
}

impl Pair {
    fn new(tag: &str) -> Pair {
        let dir =
            std::env::temp_dir().join(format!("streamserver-tls-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = TlsConfig {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
        };
        let pair = Pair { dir, config };
        pair.install("cert.pem", "key.pem");
        pair
    }

    fn install(&self, cert: &str, key: &str) {
        std::fs::copy(Path::new(DIR).join(cert), &self.config.cert).unwrap();
        std::fs::copy(Path::new(DIR).join(key), &self.config.key).unwrap();
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn the_test_pair_loads_and_bad_pairs_name_their_file() {
    let pair = Pair::new("load");
    assert!(TlsCerts::load(&pair.config).is_ok());

    let missing = TlsConfig {
        cert: pair.dir.join("nope.pem"),
        ..pair.config.clone()
    };
    let err = TlsCerts::load(&missing).err().unwrap();
    assert!(err.to_string().contains("nope.pem"), "{err}");

    std::fs::write(&pair.config.cert, "not a certificate\n").unwrap();
    let err = TlsCerts::load(&pair.config).err().unwrap();
    assert!(matches!(err, TlsError::NoCertificate { .. }), "{err}");

    pair.install("cert.pem", "key2.pem");
    let err = TlsCerts::load(&pair.config).err().unwrap();
    assert!(
        matches!(err, TlsError::Unusable { .. }),
        "key of another certificate: {err}"
    );

    pair.install("cert.pem", "cert.pem");
    let err = TlsCerts::load(&pair.config).err().unwrap();
    assert!(matches!(err, TlsError::NoKey { .. }), "{err}");
}

#[test]
fn reload_only_when_the_files_change_and_keep_the_old_pair_on_error() {
    let pair = Pair::new("reload");
    let certs = TlsCerts::load(&pair.config).unwrap();
    assert!(!certs.reload(false).unwrap(), "nothing changed");
    assert!(certs.reload(true).unwrap(), "forced (SIGHUP)");

    // Half-written renewal: a new certificate with the old key is refused, the old pair stays.
    std::fs::copy(Path::new(DIR).join("cert2.pem"), &pair.config.cert).unwrap();
    let before = Arc::as_ptr(certs.acceptor().config());
    assert!(certs.reload(false).is_err());
    assert_eq!(
        Arc::as_ptr(certs.acceptor().config()),
        before,
        "old acceptor kept"
    );
    assert!(
        !certs.reload(false).unwrap(),
        "the same files are not retried"
    );

    // The key follows: now the new pair loads.
    std::fs::copy(Path::new(DIR).join("key2.pem"), &pair.config.key).unwrap();
    assert!(certs.reload(false).unwrap());
    assert_ne!(Arc::as_ptr(certs.acceptor().config()), before);
}
