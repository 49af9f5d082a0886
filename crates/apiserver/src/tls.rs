//! A self-signed CA generated at start, a serving certificate it signs for the listen address
//! (plus localhost), and client certificates: the CA issues them on request, and a connection
//! presenting one it (or an extra client CA) signed is authenticated as the certificate's
//! subject, CN the user and each O a group, as kube-apiserver's x509 authenticator reads it.

use std::net::SocketAddr;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
    SigningKey,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// A client certificate and its private key, both PEM, for a kubeconfig's
/// `client-certificate-data` and `client-key-data`.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    /// The certificate, signed by the server's CA.
    pub cert_pem: String,
    /// The private key (PKCS#8).
    pub key_pem: String,
}

/// Why a client certificate could not be issued.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    /// The server serves plain HTTP, so it has no CA.
    #[error("the server does not serve TLS, so it has no CA to sign client certificates")]
    NoTls,
    /// Key generation or signing failed.
    #[error("client certificate generation failed: {0}")]
    Generate(String),
}

/// Who a verified client certificate says the caller is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The subject's CommonName.
    pub user: String,
    /// The subject's Organization values, in order.
    pub groups: Vec<String>,
}

/// The server's TLS setup: its rustls config, its CA, and what signs client certificates.
pub struct Tls {
    /// HTTP/2 and HTTP/1.1 via ALPN; client certificates requested but optional.
    pub config: ServerConfig,
    /// The generated CA certificate (PEM).
    pub ca_pem: String,
    ca_der: Vec<u8>,
    ca_key: KeyPair,
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("ca_pem", &self.ca_pem).finish_non_exhaustive()
    }
}

/// Generates the CA and serving certificate; client certificates signed by the CA or by
/// `client_ca` (PEM, any number of certificates) authenticate.
pub fn setup(addr: SocketAddr, client_ca: Option<&str>) -> Result<Tls, String> {
    let err = |e: rcgen::Error| e.to_string();
    let ca_key = KeyPair::generate().map_err(err)?;
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca_params.distinguished_name.push(DnType::CommonName, "rkube-ca");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages =
        vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    let ca = ca_params.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::from_params(&ca_params, &ca_key);

    let key = KeyPair::generate().map_err(err)?;
    let mut params = CertificateParams::new(vec!["localhost".to_string(), "kubernetes".to_string()]).map_err(err)?;
    params.distinguished_name.push(DnType::CommonName, "rkube-apiserver");
    params.subject_alt_names.push(SanType::IpAddress(addr.ip()));
    params.subject_alt_names.push(SanType::IpAddress(std::net::IpAddr::from([127, 0, 0, 1])));
    let cert = params.signed_by(&key, &issuer).map_err(err)?;

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = RootCertStore::empty();
    roots.add(CertificateDer::from(ca.der().to_vec())).map_err(|e| e.to_string())?;
    if let Some(pem) = client_ca {
        use rustls::pki_types::pem::PemObject;
        for c in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let c = c.map_err(|e| format!("client CA: {e}"))?;
            roots.add(c).map_err(|e| format!("client CA: {e}"))?;
        }
    }
    // Requested but optional: token and anonymous clients keep working without one.
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .map_err(|e| e.to_string())?;
    let chain = vec![CertificateDer::from(cert.der().to_vec())];
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key_der)
        .map_err(|e| e.to_string())?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Tls { config, ca_pem: ca.pem(), ca_der: ca.der().to_vec(), ca_key })
}

impl Tls {
    /// A client certificate for `user` in `groups`, valid for a year, signed by the CA.
    pub fn client_certificate(&self, user: &str, groups: &[&str]) -> Result<ClientCertificate, CertificateError> {
        let gen_err = |e: rcgen::Error| CertificateError::Generate(e.to_string());
        // rcgen keeps one value per attribute type, and a group per O needs several, so the
        // certificate is assembled here and only signed with rcgen's key.
        if self.ca_key.algorithm() != &rcgen::PKCS_ECDSA_P256_SHA256 {
            return Err(CertificateError::Generate("the CA key is not ECDSA P-256".into()));
        }
        let issuer = der::tbs_fields(&self.ca_der)
            .and_then(|f| f.get(5).map(|s| s.to_vec()))
            .ok_or_else(|| CertificateError::Generate("cannot read the CA's subject".into()))?;
        let key = KeyPair::generate().map_err(gen_err)?;
        let mut serial: [u8; 16] = rand::random();
        serial[0] = (serial[0] & 0x7f) | 0x40;
        let utc = |t: jiff::Timestamp| der::tlv(0x17, t.strftime("%y%m%d%H%M%SZ").to_string().as_bytes());
        let now = jiff::Timestamp::now();
        let hour = jiff::SignedDuration::from_hours(1);
        let not_before = now.checked_sub(hour).unwrap_or(now);
        let not_after = now.checked_add(hour * (24 * 365)).unwrap_or(now);
        let mut subject = Vec::new();
        for g in groups {
            subject.extend(der::attribute(der::OID_O, g));
        }
        subject.extend(der::attribute(der::OID_CN, user));
        let extensions = der::tlv(
            0xa3,
            &der::tlv(
                0x30,
                &[
                    // keyUsage (critical): digitalSignature.
                    der::tlv(
                        0x30,
                        &[der::OID_KEY_USAGE, &[0x01, 0x01, 0xff], &der::tlv(0x04, &[0x03, 0x02, 0x07, 0x80])].concat(),
                    ),
                    // extKeyUsage: clientAuth.
                    der::tlv(
                        0x30,
                        &[der::OID_EXT_KEY_USAGE, &der::tlv(0x04, &der::tlv(0x30, der::OID_CLIENT_AUTH))].concat(),
                    ),
                ]
                .concat(),
            ),
        );
        let tbs = der::tlv(
            0x30,
            &[
                &[0xa0, 0x03, 0x02, 0x01, 0x02][..],
                &der::tlv(0x02, &serial),
                der::ALG_ECDSA_SHA256,
                &issuer,
                &der::tlv(0x30, &[utc(not_before), utc(not_after)].concat()),
                &der::tlv(0x30, &subject),
                &key.subject_public_key_info(),
                &extensions,
            ]
            .concat(),
        );
        let signature = self.ca_key.sign(&tbs).map_err(gen_err)?;
        let mut bits = vec![0u8];
        bits.extend(signature);
        let cert = der::tlv(0x30, &[tbs.as_slice(), der::ALG_ECDSA_SHA256, &der::tlv(0x03, &bits)].concat());
        Ok(ClientCertificate { cert_pem: pem("CERTIFICATE", &cert), key_pem: key.serialize_pem() })
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The identity in a (verified) client certificate: subject CN and O values; `None` when
/// the certificate cannot be read or names no user.
pub fn identity(cert: &[u8]) -> Option<Identity> {
    let subject = der::tbs_fields(cert)?.get(5).copied()?;
    let (_, names, _) = der::read(subject)?;
    let mut user = None;
    let mut groups = Vec::new();
    let mut sets = names;
    while !sets.is_empty() {
        let (_, set, rest) = der::read(sets)?;
        sets = rest;
        let mut atvs = set;
        while !atvs.is_empty() {
            let (_, atv, rest) = der::read(atvs)?;
            atvs = rest;
            let (oid_tag, oid, after) = der::read(atv)?;
            let (_, value, _) = der::read(after)?;
            if oid_tag != 0x06 {
                continue;
            }
            let text = String::from_utf8_lossy(value).into_owned();
            match oid {
                [0x55, 0x04, 0x03] => user = Some(text),
                [0x55, 0x04, 0x0a] => groups.push(text),
                _ => {}
            }
        }
    }
    Some(Identity { user: user.filter(|u| !u.is_empty())?, groups })
}

/// Just enough DER to read a certificate's fields and write a client certificate.
mod der {
    /// AlgorithmIdentifier ecdsa-with-SHA256 (1.2.840.10045.4.3.2).
    pub const ALG_ECDSA_SHA256: &[u8] = &[0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];
    /// commonName (2.5.4.3).
    pub const OID_CN: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x03];
    /// organizationName (2.5.4.10).
    pub const OID_O: &[u8] = &[0x06, 0x03, 0x55, 0x04, 0x0a];
    /// keyUsage (2.5.29.15).
    pub const OID_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x0f];
    /// extKeyUsage (2.5.29.37).
    pub const OID_EXT_KEY_USAGE: &[u8] = &[0x06, 0x03, 0x55, 0x1d, 0x25];
    /// id-kp-clientAuth (1.3.6.1.5.5.7.3.2).
    pub const OID_CLIENT_AUTH: &[u8] = &[0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];

    /// One tag-length-value.
    pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        let len = content.len();
        if len < 0x80 {
            out.push(len as u8);
        } else {
            let bytes: Vec<u8> = len.to_be_bytes().into_iter().skip_while(|b| *b == 0).collect();
            out.push(0x80 | bytes.len() as u8);
            out.extend(bytes);
        }
        out.extend_from_slice(content);
        out
    }

    /// A subject RDN with one attribute, as a UTF8String.
    pub fn attribute(oid: &[u8], value: &str) -> Vec<u8> {
        tlv(0x31, &tlv(0x30, &[oid, &tlv(0x0c, value.as_bytes())].concat()))
    }

    /// The first element of `input`: (tag, content, rest).
    pub fn read(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
        let (&tag, rest) = input.split_first()?;
        let (&first, rest) = rest.split_first()?;
        let (len, rest) = if first < 0x80 {
            (first as usize, rest)
        } else {
            let n = (first & 0x7f) as usize;
            if n == 0 || n > 4 || rest.len() < n {
                return None;
            }
            (rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize), &rest[n..])
        };
        if rest.len() < len {
            return None;
        }
        Some((tag, &rest[..len], &rest[len..]))
    }

    /// The whole encodings of a certificate's TBSCertificate fields, with the optional
    /// version filled in so indices are fixed: 0 version, 1 serial, 2 signature algorithm,
    /// 3 issuer, 4 validity, 5 subject, 6 public key, then the rest.
    pub fn tbs_fields(cert: &[u8]) -> Option<Vec<&[u8]>> {
        let (_, cert, _) = read(cert)?;
        let (_, tbs, _) = read(cert)?;
        let mut fields: Vec<&[u8]> = Vec::new();
        let mut rest = tbs;
        while !rest.is_empty() {
            let (tag, _, next) = read(rest)?;
            if fields.is_empty() && tag != 0xa0 {
                fields.push(&[]);
            }
            fields.push(&rest[..rest.len() - next.len()]);
            rest = next;
        }
        Some(fields)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_client_certificates_name_user_and_groups() {
        let tls = setup(SocketAddr::from(([127, 0, 0, 1], 6443)), None).unwrap();
        let c = tls.client_certificate("jane", &["dev", "system:masters"]).unwrap();
        use rustls::pki_types::pem::PemObject;
        let der = CertificateDer::from_pem_slice(c.cert_pem.as_bytes()).unwrap();
        assert_eq!(
            identity(&der),
            Some(Identity { user: "jane".into(), groups: vec!["dev".into(), "system:masters".into()] })
        );
        // The CA's own certificate names a user (its CN) and no groups.
        let ca = CertificateDer::from_pem_slice(tls.ca_pem.as_bytes()).unwrap();
        assert_eq!(identity(&ca), Some(Identity { user: "rkube-ca".into(), groups: vec![] }));
        assert!(identity(b"\x30\x03garbage").is_none());
        assert!(identity(&[]).is_none());
        assert!(c.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    }

    #[test]
    fn long_lengths_round_trip() {
        let content = vec![7u8; 300];
        let enc = der::tlv(0x04, &content);
        assert_eq!(&enc[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let (tag, got, rest) = der::read(&enc).unwrap();
        assert_eq!((tag, got, rest.len()), (0x04, &content[..], 0));
    }
}
