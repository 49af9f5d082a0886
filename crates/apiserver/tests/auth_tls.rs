//! Bearer-token authentication, TLS with the generated CA, and HTTP/2 (h2c with prior
//! knowledge and ALPN over TLS).

mod common;

use common::{Http, start, start_with};
use rkube_apiserver::ServerOptions;

#[tokio::test]
async fn token_required_except_for_health() {
    let server = start_with(ServerOptions { token: Some("t0ken".into()), ..Default::default() }).await;
    let anon = Http::new(&server);
    let r = anon.get("/api/v1/namespaces").await.expect(401).json();
    assert_eq!(r["kind"], "Status");
    assert_eq!(r["reason"], "Unauthorized");
    assert_eq!(r["code"], 401);
    anon.get("/version").await.expect(401);
    for p in ["/healthz", "/readyz", "/livez"] {
        anon.get(p).await.expect(200);
    }
    Http::new(&server).with_token("wrong").get("/api/v1/namespaces").await.expect(401);
    let ok = Http::new(&server).with_token("t0ken");
    ok.get("/api/v1/namespaces").await.expect(200);
    assert!(server.kubeconfig().contains("token: t0ken"));
}

#[tokio::test]
async fn tls_with_generated_ca_and_alpn_h2() {
    let server = start_with(ServerOptions { tls: true, ..Default::default() }).await;
    assert!(server.url().starts_with("https://127.0.0.1:"));
    let pem = server.ca_pem().expect("CA").to_string();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(server.kubeconfig().contains("certificate-authority-data: "));
    let h1 = Http::new(&server);
    let r = h1.get("/api/v1/namespaces/default").await.expect(200);
    assert_eq!(r.json()["metadata"]["name"], "default");
    // ALPN h2 over TLS, including a watch stream.
    let h2 = Http::h2(&server);
    let r = h2.get("/api").await.expect(200);
    assert_eq!(r.version, http::Version::HTTP_2);
    let mut w = h2
        .watch(&format!("/api/v1/namespaces/default/configmaps?watch=true&resourceVersion={}", server.revision()))
        .await;
    h2.post("/api/v1/namespaces/default/configmaps", &common::configmap("default", "tls", serde_json::json!({})))
        .await
        .expect(201);
    assert_eq!(common::ev(&w.next().await.unwrap()).1, "tls");
    // A client that does not trust the CA cannot connect.
    let plain = start().await;
    let untrusted = Http::new(&plain);
    let url = server.url().to_string();
    let _ = untrusted; // plain-HTTP client of another server; build a TLS client without the CA:
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth(),
        )
        .https_only()
        .enable_http1()
        .build();
    let client: hyper_util::client::legacy::Client<_, http_body_util::Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
    let res = client.get(format!("{url}/api").parse().unwrap()).await;
    assert!(res.is_err(), "an unknown CA must be rejected");
}

#[tokio::test]
async fn h2c_prior_knowledge() {
    let server = start().await;
    let h2 = Http::h2(&server);
    let r = h2.get("/api/v1/namespaces").await.expect(200);
    assert_eq!(r.version, http::Version::HTTP_2);
    let h1 = Http::new(&server);
    assert_eq!(h1.get("/api/v1/namespaces").await.expect(200).version, http::Version::HTTP_11);
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let server = start().await;
    let url = server.url().to_string();
    let http = Http::new(&server);
    http.get("/healthz").await.expect(200);
    server.shutdown().await;
    let addr = url.trim_start_matches("http://");
    let connect = tokio::net::TcpStream::connect(addr).await;
    assert!(connect.is_err(), "listener closed");
}

/// A raw HTTPS client trusting `server`'s CA that presents `cert` (HTTP/2 by ALPN).
fn mtls_client(
    server: &rkube_apiserver::ApiServer,
    cert: Option<&rkube_apiserver::ClientCertificate>,
) -> hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<bytes::Bytes>,
> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(server.ca_pem().expect("TLS").as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder =
        rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots);
    let config = match cert {
        Some(c) => {
            let chain: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(c.cert_pem.as_bytes()).map(Result::unwrap).collect();
            let key = PrivateKeyDer::from_pem_slice(c.key_pem.as_bytes()).unwrap();
            builder.with_client_auth_cert(chain, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_only()
        .enable_http1()
        .enable_http2()
        .build();
    hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)
}

/// Sends `method` to `url` with an optional bearer token; status, HTTP version and JSON body.
async fn call(
    client: &hyper_util::client::legacy::Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        http_body_util::Full<bytes::Bytes>,
    >,
    method: http::Method,
    url: &str,
    token: Option<&str>,
) -> Result<(u16, http::Version, serde_json::Value), String> {
    use http_body_util::BodyExt;
    let mut req = http::Request::builder().method(method).uri(url).header("content-type", "application/json");
    if let Some(t) = token {
        req = req.header("authorization", format!("Bearer {t}"));
    }
    let body = serde_json::json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let req = req.body(http_body_util::Full::new(bytes::Bytes::from(body.to_string()))).unwrap();
    let resp = client.request(req).await.map_err(|e| format!("{e:?}"))?;
    let (status, version) = (resp.status().as_u16(), resp.version());
    let bytes = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    Ok((status, version, serde_json::from_slice(&bytes).unwrap_or_default()))
}

#[tokio::test]
async fn client_certificates_authenticate_their_subject() {
    let server = start_with(ServerOptions { tls: true, token: Some("t0ken".into()), ..Default::default() }).await;
    let cert = server.client_certificate("jane", &["dev", "ops"]).unwrap();
    assert!(cert.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let url = server.url().to_string();
    let review = format!("{url}/apis/authentication.k8s.io/v1/selfsubjectreviews");

    // The certificate alone authenticates, though the server requires a token.
    let jane = mtls_client(&server, Some(&cert));
    let (code, version, list) =
        call(&jane, http::Method::GET, &format!("{url}/api/v1/namespaces"), None).await.unwrap();
    assert_eq!((code, version), (200, http::Version::HTTP_2), "{list}");
    assert_eq!(list["kind"], "NamespaceList");
    let (code, _, who) = call(&jane, http::Method::POST, &review, None).await.unwrap();
    assert_eq!(code, 201, "{who}");
    assert_eq!(who["kind"], "SelfSubjectReview");
    assert_eq!(who["apiVersion"], "authentication.k8s.io/v1");
    assert_eq!(who["status"]["userInfo"]["username"], "jane");
    assert_eq!(who["status"]["userInfo"]["groups"], serde_json::json!(["dev", "ops", "system:authenticated"]));
    // Older API versions answer too (kubectl falls back to them).
    let beta = format!("{url}/apis/authentication.k8s.io/v1beta1/selfsubjectreviews");
    let (code, _, who) = call(&jane, http::Method::POST, &beta, None).await.unwrap();
    assert_eq!((code, who["apiVersion"].as_str()), (201, Some("authentication.k8s.io/v1beta1")));

    // Without a certificate the token is still required.
    let anon = mtls_client(&server, None);
    let (code, _, body) = call(&anon, http::Method::GET, &format!("{url}/api/v1/namespaces"), None).await.unwrap();
    assert_eq!((code, body["reason"].as_str()), (401, Some("Unauthorized")));
    let (code, _, who) = call(&anon, http::Method::POST, &review, Some("t0ken")).await.unwrap();
    assert_eq!((code, who["status"]["userInfo"]["username"].as_str()), (201, Some("admin")));
    let (code, _, _) = call(&anon, http::Method::POST, &review, Some("wrong")).await.unwrap();
    assert_eq!(code, 401);

    // A certificate from a CA the server does not trust fails the handshake.
    let other = start_with(ServerOptions { tls: true, ..Default::default() }).await;
    let stranger = other.client_certificate("mallory", &["system:masters"]).unwrap();
    let mallory = mtls_client(&server, Some(&stranger));
    assert!(call(&mallory, http::Method::POST, &review, None).await.is_err(), "untrusted client CA accepted");

    // ... unless it is configured as an extra client CA.
    let trusting = start_with(ServerOptions {
        tls: true,
        token: Some("x".into()),
        client_ca: Some(other.ca_pem().unwrap().to_string()),
        ..Default::default()
    })
    .await;
    let via_extra = mtls_client(&trusting, Some(&stranger));
    let url = trusting.url();
    let (code, _, who) =
        call(&via_extra, http::Method::POST, &format!("{url}/apis/authentication.k8s.io/v1/selfsubjectreviews"), None)
            .await
            .unwrap();
    assert_eq!((code, who["status"]["userInfo"]["username"].as_str()), (201, Some("mallory")));

    // Plain HTTP has no CA to sign with.
    let plain = start().await;
    assert!(matches!(plain.client_certificate("x", &[]), Err(rkube_apiserver::CertificateError::NoTls)));
    assert!(server.client_certificate_kubeconfig("jane", &[]).unwrap().contains("client-certificate-data: "));
}

#[tokio::test]
async fn kubectl_authenticates_with_a_client_certificate() {
    let server = start_with(ServerOptions { tls: true, token: Some("t0ken".into()), ..Default::default() }).await;
    for bin in [common::KUBECTL_NEWEST, common::KUBECTL_DEFAULT] {
        let kubectl = common::Kubectl::new(bin, &server);
        // Overwrite the token kubeconfig with one that carries only the client certificate.
        let kubeconfig = server.client_certificate_kubeconfig("jane", &["dev", "system:masters"]).unwrap();
        assert!(!kubeconfig.contains("token"));
        std::fs::write(kubeconfig_path(&kubectl), kubeconfig).unwrap();
        kubectl.ok(&["create", "configmap", &format!("by-cert-{}", bin.len()), "--from-literal=a=b"]).await;
        let names = kubectl.ok(&["get", "configmaps", "-o", "name"]).await;
        assert!(names.contains("configmap/by-cert-"), "{names}");
        let who = kubectl.ok(&["auth", "whoami", "-o", "json"]).await;
        let who: serde_json::Value = serde_json::from_str(&who).unwrap();
        assert_eq!(who["status"]["userInfo"]["username"], "jane", "{bin}: {who}");
        assert_eq!(
            who["status"]["userInfo"]["groups"],
            serde_json::json!(["dev", "system:masters", "system:authenticated"]),
            "{bin}"
        );
        // Without the certificate a wrong token is refused. (With no credentials at all
        // kubectl prompts for a username over HTTPS instead of sending the request.)
        let anonymous = rkube_apiserver::kubeconfig_yaml(server.url(), server.ca_pem(), Some("wrong"));
        std::fs::write(kubeconfig_path(&kubectl), anonymous).unwrap();
        let out = kubectl.run(&["get", "configmaps"]).await;
        assert_eq!(out.code, 1);
        assert!(out.stderr.contains("You must be logged in to the server (Unauthorized)"), "{}", out.stderr);
    }
}

fn kubeconfig_path(k: &common::Kubectl) -> std::path::PathBuf {
    k.kubeconfig.clone()
}
