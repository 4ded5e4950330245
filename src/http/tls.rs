//! Optional HTTPS (`[server.tls]`): rustls with the `ring` provider, HTTP/1.1 only, the
//! certificate chain and key read from PEM files — and reloaded without a restart.
//!
//! [`TlsCerts`] holds the acceptor new connections use. A named thread ([`Reloader`]) looks at
//! both files' modification time, size and inode every [`CHECK_EVERY`] and on SIGHUP (which
//! `[server.tls]` makes a reload signal instead of the default "terminate"); on a change it
//! reads and checks them and swaps the acceptor. Connections already open keep their session,
//! so streams are not dropped. A new pair that does not load (unreadable, not PEM, key not
//! matching the certificate — e.g. half-written by a renewal) is logged with the reason and the
//! old one stays in use; the next change is tried again.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

use crate::config::TlsConfig;

/// How often the files are looked at.
pub const CHECK_EVERY: Duration = Duration::from_secs(2);
/// How often the reload thread wakes to look at SIGHUP and shutdown.
const TICK: Duration = Duration::from_millis(200);

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read {path}")]
    Read { path: PathBuf, source: io::Error },
    #[error("{path}: no certificate in it (PEM \"BEGIN CERTIFICATE\" blocks)")]
    NoCertificate { path: PathBuf },
    #[error("{path}: unreadable PEM: {message}")]
    Pem { path: PathBuf, message: String },
    #[error("{path}: no private key in it (PEM PKCS#8, PKCS#1 or SEC1): {message}")]
    NoKey { path: PathBuf, message: String },
    #[error("certificate {cert} with key {key}: {source}")]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        source: rustls::Error,
    },
    #[error("cannot start the TLS reload thread")]
    Thread(#[source] io::Error),
    #[error("cannot install the SIGHUP handler")]
    Signal(#[source] io::Error),
}

/// The current certificate and key, as an acceptor for new connections.
pub struct TlsCerts {
    config: TlsConfig,
    acceptor: RwLock<TlsAcceptor>,
    /// What the files looked like when last loaded (or tried).
    stamp: Mutex<Stamp>,
}

/// Modification time, size and inode of the cert and key files (`None`: unreadable).
type Stamp = [Option<(std::time::SystemTime, u64, u64)>; 2];

impl TlsCerts {
    /// Loads the pair (blocking: reads two small files); an error names the file.
    pub fn load(config: &TlsConfig) -> Result<Arc<Self>, TlsError> {
        let stamp = stamp(config);
        let server = server_config(&config.cert, &config.key)?;
        Ok(Arc::new(TlsCerts {
            config: config.clone(),
            acceptor: RwLock::new(TlsAcceptor::from(server)),
            stamp: Mutex::new(stamp),
        }))
    }

    /// The acceptor for a new connection.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Reloads if either file changed since the last attempt (or always, when `force`).
    /// `Ok(true)`: a new pair is in use; an error leaves the old pair in use.
    pub fn reload(&self, force: bool) -> Result<bool, TlsError> {
        let now = stamp(&self.config);
        {
            let mut last = self.stamp.lock().unwrap_or_else(PoisonError::into_inner);
            if !force && *last == now {
                return Ok(false);
            }
            *last = now;
        }
        let server = server_config(&self.config.cert, &self.config.key)?;
        *self
            .acceptor
            .write()
            .unwrap_or_else(PoisonError::into_inner) = TlsAcceptor::from(server);
        Ok(true)
    }
}

fn stamp(config: &TlsConfig) -> Stamp {
    use std::os::unix::fs::MetadataExt;
    [&config.cert, &config.key].map(|p| {
        let m = std::fs::metadata(p).ok()?;
        Some((m.modified().ok()?, m.len(), m.ino()))
    })
}

fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// A rustls server configuration from PEM files: HTTP/1.1 over TLS 1.2 or 1.3.
fn server_config(cert: &Path, key: &Path) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let cert_pem = read(cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            path: cert.to_owned(),
            message: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_owned(),
        });
    }
    let key_pem = zeroize::Zeroizing::new(read(key)?);
    let private = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| TlsError::NoKey {
        path: key.to_owned(),
        message: e.to_string(),
    })?;
    let unusable = |source| TlsError::Unusable {
        cert: cert.to_owned(),
        key: key.to_owned(),
        source,
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(unusable)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(unusable)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The thread that reloads [`TlsCerts`]; [`Reloader::stop`] ends and joins it.
pub struct Reloader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    sighup: signal_hook::SigId,
}

impl Reloader {
    pub fn start(certs: Arc<TlsCerts>) -> Result<Reloader, TlsError> {
        let stop = Arc::new(AtomicBool::new(false));
        let hup = Arc::new(AtomicBool::new(false));
        let sighup = signal_hook::flag::register(signal_hook::consts::SIGHUP, Arc::clone(&hup))
            .map_err(TlsError::Signal)?;
        let stopped = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("tls-reload".into())
            .spawn(move || run(&certs, &stopped, &hup))
            .map_err(|e| {
                signal_hook::low_level::unregister(sighup);
                TlsError::Thread(e)
            })?;
        Ok(Reloader {
            stop,
            thread: Some(thread),
            sighup,
        })
    }

    /// Stops the thread and waits for it (at most one [`TICK`] plus a reload in progress).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        signal_hook::low_level::unregister(self.sighup);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Reloader {
    fn drop(&mut self) {
        self.halt();
    }
}

fn run(certs: &TlsCerts, stop: &AtomicBool, hup: &AtomicBool) {
    let mut next_check = Instant::now() + CHECK_EVERY;
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(TICK);
        let signalled = hup.swap(false, Ordering::Relaxed);
        if !signalled && Instant::now() < next_check {
            continue;
        }
        next_check = Instant::now() + CHECK_EVERY;
        let (cert, key) = (certs.config.cert.display(), certs.config.key.display());
        match certs.reload(signalled) {
            Ok(true) => info!(%cert, %key, sighup = signalled, "TLS certificate reloaded"),
            Ok(false) => {}
            Err(err) => warn!(
                error = %crate::util::error_chain(&err),
                "TLS certificate not reloaded; the previous one stays in use"
            ),
        }
    }
}

#[cfg(test)]
mod tests;
