//! The rustls client configuration a [`Config`] asks for: roots (the configured CA or the
//! system's), a client certificate, ALPN `h2` + `http/1.1`, and certificate checks switched
//! off only when `insecure_skip_tls_verify` is set.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use super::client_cert::CertResolver;
use crate::config::Config;
use crate::error::Error;

/// Builds the TLS client configuration (TLS 1.2 and 1.3 with `provider`); the client
/// identity, if any, comes from `client_cert` at each handshake.
pub(crate) fn client_config(
    config: &Config,
    provider: Arc<CryptoProvider>,
    client_cert: Option<Arc<CertResolver>>,
) -> Result<ClientConfig, Error> {
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Tls(e.to_string()))?;
    let builder = if config.insecure_skip_tls_verify {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    } else {
        builder.with_root_certificates(roots(config)?)
    };
    // ALPN (h2, http/1.1) is set by hyper-rustls's `enable_all_versions`.
    let mut tls = match client_cert {
        Some(resolver) => builder.with_client_cert_resolver(resolver),
        None => builder.with_no_client_auth(),
    };
    // No session resumption (client-go sets no session cache): a resumed session would carry
    // the identity of the old client certificate past a rotation.
    tls.resumption = rustls::client::Resumption::disabled();
    Ok(tls)
}

fn describe(path: Option<&std::path::Path>) -> String {
    path.map(|p| p.display().to_string()).unwrap_or_else(|| "(inline data)".into())
}

fn roots(config: &Config) -> Result<RootCertStore, Error> {
    let mut store = RootCertStore::empty();
    match &config.root_ca {
        Some(ca) => {
            let mut added = 0;
            for cert in CertificateDer::pem_slice_iter(ca.bytes()) {
                let cert =
                    cert.map_err(|e| Error::Tls(format!("certificate-authority {}: {e}", describe(ca.path()))))?;
                store
                    .add(cert)
                    .map_err(|e| Error::Tls(format!("certificate-authority {}: {e}", describe(ca.path()))))?;
                added += 1;
            }
            if added == 0 {
                return Err(Error::Tls(format!(
                    "certificate-authority {}: no PEM certificate found",
                    describe(ca.path())
                )));
            }
        }
        None => {
            let found = rustls_native_certs::load_native_certs();
            for err in &found.errors {
                tracing::debug!(error = %err, "could not load a system root certificate");
            }
            let (added, _ignored) = store.add_parsable_certificates(found.certs);
            if added == 0 {
                tracing::warn!("no system root certificates found; https servers cannot be verified");
            }
        }
    }
    Ok(store)
}

/// Accepts any server certificate (`insecure-skip-tls-verify: true`), still checking that the
/// handshake signatures are valid.
#[derive(Debug)]
struct NoVerify(Arc<CryptoProvider>);

impl ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
