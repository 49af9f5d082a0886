//! The transport over real HTTP and TLS against the embedded server: CA trust, server names,
//! HTTP/2 via ALPN, bearer tokens (also from a rotated file), warnings, timeouts, and what a
//! caller sees when the server cannot be reached.

mod common;

use std::time::Duration;

use http::Version;
use k8s_openapi::api::core::v1::ConfigMap;
use rkube_apiserver::{ApiServer, ServerOptions};
use rkube_client::config::{Auth, TokenFile};
use rkube_client::{Api, Client, Config, Error};
use rkube_core::options::FieldValidation;
use rkube_core::{ListOptions, Resource, WriteOptions};
use serde_json::json;

fn tls() -> ServerOptions {
    ServerOptions { tls: true, ..ServerOptions::default() }
}

#[tokio::test]
async fn tls_with_the_generated_ca_negotiates_http2() {
    let (server, client) = common::server_with(tls()).await;
    assert!(server.url().starts_with("https://"));
    let resp = client.get().abs_path("/version").send().await.unwrap();
    assert!(resp.is_success());
    assert_eq!(resp.version, Version::HTTP_2, "ALPN h2 over TLS");
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    cms.create(&WriteOptions::default(), &common::configmap("over-tls", &[])).await.unwrap();
    assert_eq!(cms.list(&ListOptions::default()).await.unwrap().items.len(), 1);

    // Plain HTTP stays HTTP/1.1 (no h2c).
    let (_plain, plain) = common::server().await;
    assert_eq!(plain.get().abs_path("/version").send().await.unwrap().version, Version::HTTP_11);
}

#[tokio::test]
async fn server_certificate_is_verified() {
    let server = ApiServer::start(tls()).await.unwrap();
    // No CA: the system roots do not know the server's self-signed CA.
    let untrusted = Client::new(Config::new(server.url().parse().unwrap())).unwrap();
    let err = untrusted.get().abs_path("/version").send().await.unwrap_err();
    assert!(err.is_transport(), "{err}");
    let text = err.to_string();
    assert!(text.contains(server.url()) && text.to_lowercase().contains("certificate"), "{text}");

    // insecure-skip-tls-verify accepts it.
    let mut insecure = Config::new(server.url().parse().unwrap());
    insecure.insecure_skip_tls_verify = true;
    assert!(Client::new(insecure).unwrap().get().abs_path("/version").send().await.unwrap().is_success());

    // tls-server-name: the certificate names "kubernetes", not "wrong.example".
    let mut named = common::config_for(&server);
    named.tls_server_name = Some("kubernetes".into());
    assert!(Client::new(named.clone()).unwrap().get().abs_path("/version").send().await.unwrap().is_success());
    named.tls_server_name = Some("wrong.example".into());
    let err = Client::new(named).unwrap().get().abs_path("/version").send().await.unwrap_err();
    assert!(err.to_string().to_lowercase().contains("certificate"), "{err}");
}

#[tokio::test]
async fn bearer_token_auth() {
    let token = ServerOptions { token: Some("s3cret-token".into()), ..tls() };
    let (server, client) = common::server_with(token).await;
    assert!(client.get().abs_path("/api/v1/namespaces").send_checked().await.is_ok());

    let mut wrong = common::config_for(&server);
    wrong.auth = Auth::Bearer("nope".into());
    let err = Client::new(wrong).unwrap().get().abs_path("/api/v1/namespaces").send_checked().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
    assert!(!err.to_string().contains("s3cret") && !err.to_string().contains("nope"), "no token in errors: {err}");

    let mut none = common::config_for(&server);
    none.auth = Auth::None;
    let err = Client::new(none).unwrap().get().abs_path("/api/v1/namespaces").send_checked().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");
}

#[tokio::test]
async fn rotated_token_file_is_picked_up_after_a_401() {
    let (server, _client) = common::server_with(ServerOptions { token: Some("new-token".into()), ..tls() }).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("token");
    std::fs::write(&path, "old-token\n").unwrap();
    let mut config = common::config_for(&server);
    config.auth = Auth::TokenFile(TokenFile::new(&path, None));
    let client = Client::new(config).unwrap();

    // The file holds a token the server refuses: 401 even after the one retry.
    let err = client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap_err();
    assert!(err.is_unauthorized(), "{err}");

    // The token is rotated on disk. The cached copy is still fresh (read < 50 s ago), so the
    // next request goes out with the old token, gets 401, drops the cache, re-reads the file
    // and succeeds on its single retry.
    std::fs::write(&path, "new-token\n").unwrap();
    let ok = client.get().abs_path("/api/v1/namespaces").send_checked().await;
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[tokio::test]
async fn warnings_are_surfaced() {
    let (_server, client) = common::server().await;
    let mut body = serde_json::to_value(common::configmap("warn", &[])).unwrap();
    body["spec"] = json!({"unknown": true});
    let write = WriteOptions { field_validation: Some(FieldValidation::Warn), ..WriteOptions::default() };
    let resp = client
        .post()
        .resource(&ConfigMap::api_resource())
        .namespace("default")
        .query(write.to_query())
        .json(&body)
        .send_checked()
        .await
        .unwrap();
    assert_eq!(resp.warnings, [r#"unknown field "spec""#]);
}

#[tokio::test]
async fn per_request_timeout() {
    let (server, _client) = common::server().await;
    server.faults().set_latency(Duration::from_secs(2));
    let mut config = common::config_for(&server);
    config.timeout = Some(Duration::from_millis(200));
    let client = Client::new(config).unwrap();
    let started = std::time::Instant::now();
    let err = client.get().abs_path("/api/v1/namespaces").send().await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }) && err.is_transport(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(1));
    // A per-request override wins over the config.
    server.faults().set_latency(Duration::from_millis(300));
    let ok = client.get().abs_path("/api/v1/namespaces").timeout(Duration::from_secs(5)).send().await;
    assert!(ok.is_ok(), "{:?}", ok.err());
}

#[tokio::test]
async fn unreachable_server_is_named_in_the_error() {
    // Nothing listens on a port we just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let url = format!("http://127.0.0.1:{port}");
    let client = Client::new(Config::new(url.parse().unwrap())).unwrap();
    let err = client.get().abs_path("/version").send().await.unwrap_err();
    let text = err.to_string();
    assert!(err.is_transport() && err.api_error().is_none(), "{text}");
    assert!(text.contains(&format!("GET {url}/version")) && text.contains("cannot connect"), "{text}");
    assert!(text.to_lowercase().contains("refused"), "{text}");

    let err = Client::new(Config::new("ftp://example.com".parse().unwrap())).unwrap_err();
    assert!(err.to_string().contains("ftp://example.com"), "{err}");
}
