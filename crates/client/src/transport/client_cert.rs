//! The TLS client identity, kept current: certificate files are read again every 5 minutes
//! (client-go's `CertCallbackRefreshDuration`) and an exec plugin's certificate is taken
//! whenever the plugin returns a new one.

use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use rustls::SignatureScheme;
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use tokio::time::Instant;

use crate::config::ClientCertificate;
use crate::error::Error;

/// How often certificate files are read again.
pub const CERT_REFRESH: Duration = Duration::from_secs(5 * 60);

/// Hands rustls the current client certificate. New connections use the newest one;
/// established (pooled) connections keep theirs until they close.
#[derive(Debug)]
pub(crate) struct CertResolver {
    provider: Arc<CryptoProvider>,
    current: RwLock<Option<Loaded>>,
    checked_at: Mutex<Option<Instant>>,
}

#[derive(Debug, Clone)]
struct Loaded {
    source: ClientCertificate,
    key: Arc<CertifiedKey>,
}

impl CertResolver {
    pub(crate) fn new(provider: Arc<CryptoProvider>) -> Self {
        CertResolver { provider, current: RwLock::new(None), checked_at: Mutex::new(None) }
    }

    /// Uses `cert` from now on (parsed only when it differs from the current one).
    pub(crate) fn set(&self, cert: &ClientCertificate) -> Result<(), Error> {
        self.mark_checked();
        let same = self.current.read().unwrap_or_else(|e| e.into_inner()).as_ref().is_some_and(|l| &l.source == cert);
        if same {
            return Ok(());
        }
        let key = Arc::new(certified_key(cert, &self.provider)?);
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = Some(Loaded { source: cert.clone(), key });
        Ok(())
    }

    /// Records that the source was just consulted (even if reading it failed).
    pub(crate) fn mark_checked(&self) {
        *self.checked_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    /// Whether the files are due to be read again.
    pub(crate) fn due(&self) -> bool {
        self.checked_at.lock().unwrap_or_else(|e| e.into_inner()).is_none_or(|t| t.elapsed() >= CERT_REFRESH)
    }

    /// The certificate chain in use (first: the client's own), for tests and diagnostics.
    #[cfg(test)]
    pub(crate) fn chain(&self) -> Option<Vec<CertificateDer<'static>>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).as_ref().map(|l| l.key.cert.clone())
    }
}

impl ResolvesClientCert for CertResolver {
    fn resolve(&self, _hints: &[&[u8]], _schemes: &[SignatureScheme]) -> Option<Arc<CertifiedKey>> {
        self.current.read().unwrap_or_else(|e| e.into_inner()).as_ref().map(|l| l.key.clone())
    }

    fn has_certs(&self) -> bool {
        self.current.read().unwrap_or_else(|e| e.into_inner()).is_some()
    }
}

/// Parses a PEM certificate chain and key into a rustls signing identity.
fn certified_key(cert: &ClientCertificate, provider: &CryptoProvider) -> Result<CertifiedKey, Error> {
    let describe = |p: Option<&std::path::Path>| p.map(|p| p.display().to_string()).unwrap_or("(inline data)".into());
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(cert.cert.bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| Error::Tls(format!("client certificate {}: {e}", describe(cert.cert.path()))))?;
    if chain.is_empty() {
        return Err(Error::Tls(format!("client certificate {}: no certificate found", describe(cert.cert.path()))));
    }
    let key = PrivateKeyDer::from_pem_slice(cert.key.bytes())
        .map_err(|e| Error::Tls(format!("client key {}: {e}", describe(cert.key.path()))))?;
    CertifiedKey::from_der(chain, key, provider).map_err(|e| Error::Tls(format!("client certificate and key: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PemData;

    fn generate(name: &str) -> (String, String) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec![name.to_owned()]).unwrap().self_signed(&key).unwrap();
        (cert.pem(), key.serialize_pem())
    }

    #[tokio::test(start_paused = true)]
    async fn files_are_read_again_when_due() {
        let dir = tempfile::tempdir().unwrap();
        let (cert_path, key_path) = (dir.path().join("tls.crt"), dir.path().join("tls.key"));
        let (c1, k1) = generate("one");
        std::fs::write(&cert_path, &c1).unwrap();
        std::fs::write(&key_path, &k1).unwrap();
        let source = ClientCertificate {
            cert: PemData::from_file(&cert_path, "client-certificate").unwrap(),
            key: PemData::from_file(&key_path, "client-key").unwrap(),
        };
        let resolver = CertResolver::new(Arc::new(rustls::crypto::ring::default_provider()));
        assert!(!resolver.has_certs() && resolver.due());
        resolver.set(&source).unwrap();
        assert!(resolver.has_certs() && !resolver.due());
        let first = resolver.chain().unwrap();

        let (c2, k2) = generate("two");
        std::fs::write(&cert_path, &c2).unwrap();
        std::fs::write(&key_path, &k2).unwrap();
        tokio::time::advance(CERT_REFRESH).await;
        assert!(resolver.due());
        resolver.set(&source.reload().unwrap()).unwrap();
        assert_ne!(resolver.chain().unwrap(), first, "the rotated certificate is in use");
    }

    #[test]
    fn mismatched_or_broken_material_is_an_error() {
        let (c1, _) = generate("one");
        let (_, k2) = generate("two");
        let provider = rustls::crypto::ring::default_provider();
        let mismatched = ClientCertificate { cert: PemData::from_bytes(c1.clone()), key: PemData::from_bytes(k2) };
        assert!(certified_key(&mismatched, &provider).is_err());
        let broken = ClientCertificate { cert: PemData::from_bytes("nope"), key: PemData::from_bytes("nope") };
        let err = certified_key(&broken, &provider).unwrap_err().to_string();
        assert!(err.contains("(inline data)"), "{err}");
    }
}
