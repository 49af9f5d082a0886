//! Client-certificate authentication against a small TLS server that requires and records
//! client certificates (the embedded API server does not ask for them), including rotation of
//! the certificate files.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http::Response;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, SanType};
use rkube_client::config::{ClientCertificate, PemData};
use rkube_client::transport::CERT_REFRESH;
use rkube_client::{Client, Config};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::TcpListener;

struct Ca {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

fn ca() -> Ca {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, "test-ca");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
    let pem = params.self_signed(&key).unwrap().pem();
    Ca { params, key, pem }
}

/// A certificate signed by `ca`: (cert PEM, cert DER, key PEM).
fn leaf(ca: &Ca, cn: &str, server: bool) -> (String, Vec<u8>, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(if server { vec!["localhost".to_string()] } else { vec![] }).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    if server {
        params.subject_alt_names.push(SanType::IpAddress([127, 0, 0, 1].into()));
    }
    let cert = params.signed_by(&key, &Issuer::from_params(&ca.params, &ca.key)).unwrap();
    (cert.pem(), cert.der().to_vec(), key.serialize_pem())
}

/// A TLS server requiring a client certificate from `ca`; one request per connection; it
/// records the client certificate of each connection.
async fn mtls_server(ca: &Ca) -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(ca.params.self_signed(&ca.key).unwrap().der().to_vec())).unwrap();
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone()).build().unwrap();
    let (_, der, key_pem) = leaf(ca, "server", true);
    let key: PrivateKeyDer<'static> = PemObject::from_pem_slice(key_pem.as_bytes()).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![CertificateDer::from(der)], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, record) = (acceptor.clone(), record.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else { return };
                let peer = tls.get_ref().1.peer_certificates().and_then(|c| c.first()).map(|c| c.to_vec());
                record.lock().unwrap().push(peer.unwrap_or_default());
                let service = service_fn(|_req| async {
                    Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from_static(b"{}"))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .keep_alive(false)
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    (url, seen)
}

#[tokio::test(start_paused = true)]
async fn client_certificate_is_presented_and_rotated() {
    let ca = ca();
    let (url, seen) = mtls_server(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (dir.path().join("client.crt"), dir.path().join("client.key"));
    let (jane_pem, jane_der, jane_key) = leaf(&ca, "jane", false);
    std::fs::write(&cert_path, &jane_pem).unwrap();
    std::fs::write(&key_path, &jane_key).unwrap();

    let mut config = Config::new(url.parse().unwrap());
    config.root_ca = Some(PemData::from_bytes(ca.pem.clone()));
    config.qps = -1.0;
    config.client_certificate = Some(ClientCertificate {
        cert: PemData::from_file(&cert_path, "client-certificate").unwrap(),
        key: PemData::from_file(&key_path, "client-key").unwrap(),
    });
    let client = Client::new(config.clone()).unwrap();
    client.get().abs_path("/version").send_checked().await.unwrap();
    assert_eq!(seen.lock().unwrap().last().unwrap(), &jane_der);

    // Rotate the files: the next connection after the refresh period presents the new one.
    let (bob_pem, bob_der, bob_key) = leaf(&ca, "bob", false);
    std::fs::write(&cert_path, &bob_pem).unwrap();
    std::fs::write(&key_path, &bob_key).unwrap();
    client.get().abs_path("/version").send_checked().await.unwrap();
    assert_eq!(seen.lock().unwrap().last().unwrap(), &jane_der, "not yet due");
    tokio::time::advance(CERT_REFRESH).await;
    client.get().abs_path("/version").send_checked().await.unwrap();
    assert_eq!(seen.lock().unwrap().last().unwrap(), &bob_der);

    // Without a certificate the server refuses the handshake.
    config.client_certificate = None;
    let err = Client::new(config).unwrap().get().abs_path("/version").send().await.unwrap_err();
    assert!(err.is_transport(), "{err}");
}

#[tokio::test]
async fn exec_plugin_client_certificate_is_presented() {
    let ca = ca();
    let (url, seen) = mtls_server(&ca).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert_pem, cert_der, key_pem) = leaf(&ca, "from-plugin", false);
    let credential = serde_json::json!({
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"clientCertificateData": cert_pem, "clientKeyData": key_pem}
    });
    std::fs::write(dir.path().join("cred.json"), credential.to_string()).unwrap();
    let script = dir.path().join("plugin.sh");
    std::fs::write(&script, format!("cat '{}'\n", dir.path().join("cred.json").display())).unwrap();
    use base64::Engine as _;
    let ca_data = base64::engine::general_purpose::STANDARD.encode(&ca.pem);
    let kubeconfig = format!(
        "current-context: c\nclusters:\n- name: k\n  cluster:\n    server: {url}\n    certificate-authority-data: {ca_data}\ncontexts:\n- name: c\n  context: {{cluster: k, user: u}}\nusers:\n- name: u\n  user:\n    exec:\n      command: /bin/sh\n      args: ['{}']\n      apiVersion: client.authentication.k8s.io/v1\n      interactiveMode: Never\n",
        script.display()
    );
    let config = Config::from_kubeconfig_str(&kubeconfig, &Default::default()).unwrap();
    let client = Client::new(config).unwrap();
    client.get().abs_path("/version").send_checked().await.unwrap();
    assert_eq!(seen.lock().unwrap().last().unwrap(), &cert_der);
}
