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
