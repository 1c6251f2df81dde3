//! Built-in TLS (`serve --tls-cert/--tls-key`): loading the PEM certificate chain and private
//! key, the rustls server configuration (ring provider, ALPN `h2` and `http/1.1`) and replacing
//! the certificate at run time (SIGHUP) without touching established connections.
//!
//! Reloading swaps the certificate inside a certificate resolver instead of rebuilding the
//! acceptor: rustls asks the resolver once per handshake, so new connections get the new
//! certificate while connections already past their handshake keep their session as it is.

use anyhow::Context;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, PoisonError, RwLock};
use tokio_rustls::TlsAcceptor;

/// The certificate and key files named on the command line (both PEM).
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// Certificate chain, leaf first.
    pub cert: PathBuf,
    /// Private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// The server's TLS state: the acceptor for new connections and the certificate it presents.
pub struct Tls {
    resolver: Arc<ReloadableCert>,
    acceptor: TlsAcceptor,
}

impl Tls {
    /// Reads the files and builds the server configuration; fails (so `serve` does not start)
    /// when they cannot be read, hold no certificate or key, or the key does not match.
    pub fn load(files: TlsFiles) -> anyhow::Result<Tls> {
        // ring explicitly, not the process default: rustls would pick aws-lc-rs if another
        // crate enabled it, and with both compiled in it cannot choose on its own.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let certified = load_certified_key(&files, &provider)?;
        let resolver =
            Arc::new(ReloadableCert { files, provider: provider.clone(), current: RwLock::new(Arc::new(certified)) });
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .context("the TLS provider supports no safe protocol version")?
            .with_no_client_auth()
            .with_cert_resolver(resolver.clone());
        // HTTP/2 first: clients that offer it get it; the others speak HTTP/1.1.
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls { resolver, acceptor: TlsAcceptor::from(Arc::new(config)) })
    }

    /// Re-reads the files. On success new handshakes present the new certificate; on failure
    /// the current one stays (the caller logs the error).
    pub fn reload(&self) -> anyhow::Result<()> {
        let certified = load_certified_key(&self.resolver.files, &self.resolver.provider)?;
        *self.resolver.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(certified);
        Ok(())
    }

    /// The acceptor for new connections (cheap to clone: it shares the configuration).
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }
}

/// Hands every handshake the certificate loaded last.
#[derive(Debug)]
struct ReloadableCert {
    files: TlsFiles,
    provider: Arc<CryptoProvider>,
    current: RwLock<Arc<CertifiedKey>>,
}

impl ResolvesServerCert for ReloadableCert {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        // A poisoned lock still holds a complete certificate (the writer only swaps an Arc).
        Some(self.current.read().unwrap_or_else(PoisonError::into_inner).clone())
    }
}

fn load_certified_key(files: &TlsFiles, provider: &CryptoProvider) -> anyhow::Result<CertifiedKey> {
    let chain = read_chain(&files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key)
        .with_context(|| format!("cannot read a PEM private key from {}", files.key.display()))?;
    CertifiedKey::from_der(chain, key, provider).with_context(|| {
        format!(
            "the private key {} is unusable or does not belong to the certificate {}",
            files.key.display(),
            files.cert.display()
        )
    })
}

fn read_chain(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let context = || format!("cannot read PEM certificates from {}", path.display());
    let chain = CertificateDer::pem_file_iter(path)
        .with_context(context)?
        .collect::<Result<Vec<_>, _>>()
        .with_context(context)?;
    anyhow::ensure!(!chain.is_empty(), "no certificate in {}", path.display());
    Ok(chain)
}
