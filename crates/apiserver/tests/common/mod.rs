//! Shared helpers of the integration tests: an in-process server, a small raw HTTP client
//! (hyper, HTTP/1.1 or HTTP/2, plain or TLS) and a kubectl runner.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Version};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rkube_apiserver::{ApiServer, ServerOptions};
use serde_json::{Value, json};

/// Starts a server with default options.
pub async fn start() -> ApiServer {
    ApiServer::start(ServerOptions::default()).await.expect("server starts")
}

/// Starts a server with `opts`.
pub async fn start_with(opts: ServerOptions) -> ApiServer {
    ApiServer::start(opts).await.expect("server starts")
}

/// A response, fully read.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub version: Version,
    pub body: Bytes,
}

impl Resp {
    /// The body as JSON (panics with the body text otherwise).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }
    /// Asserts the status code, printing the body when it differs.
    #[track_caller]
    pub fn expect(self, code: u16) -> Self {
        assert_eq!(self.status, code, "unexpected status; body: {}", self.text());
        self
    }
}

/// A raw HTTP client for one server.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: String,
    token: Option<String>,
}

fn tls_config(ca_pem: Option<&str>) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    if let Some(pem) = ca_pem {
        for cert in rustls_pemfile_certs(pem) {
            roots.add(cert).expect("CA certificate");
        }
    }
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(roots)
        .with_no_client_auth()
}

fn rustls_pemfile_certs(pem: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_slice_iter(pem.as_bytes()).map(|c| c.expect("PEM certificate")).collect()
}

impl Http {
    /// HTTP/1.1 (or HTTP/2 negotiated by ALPN over TLS) to `server`.
    pub fn new(server: &ApiServer) -> Self {
        Self::build(server, false)
    }
    /// HTTP/2 only: h2c with prior knowledge over plain TCP, ALPN h2 over TLS.
    pub fn h2(server: &ApiServer) -> Self {
        Self::build(server, true)
    }
    fn build(server: &ApiServer, h2_only: bool) -> Self {
        let base = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls_config(server.ca_pem()))
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .build();
        let mut b = Client::builder(TokioExecutor::new());
        b.pool_idle_timeout(Duration::from_secs(5));
        if h2_only {
            b.http2_only(true);
        }
        Self { client: b.build(base), base: server.url().to_string(), token: None }
    }
    /// The same client sending `Authorization: Bearer <token>`.
    pub fn with_token(mut self, token: &str) -> Self {
        self.token = Some(token.to_string());
        self
    }
    /// Sends a request and returns the response head with its streaming body.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> http::Response<Incoming> {
        let mut req = Request::builder().method(method).uri(format!("{}{}", self.base, path));
        if let Some(t) = &self.token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        tokio::time::timeout(Duration::from_secs(20), self.client.request(req))
            .await
            .expect("response within 20s")
            .expect("request sent")
    }
    /// Sends a request and reads the whole response.
    pub async fn request(&self, method: Method, path: &str, headers: &[(&str, &str)], body: Vec<u8>) -> Resp {
        let resp = self.send(method, path, headers, body).await;
        let (parts, body) = resp.into_parts();
        let body = tokio::time::timeout(Duration::from_secs(20), body.collect())
            .await
            .expect("body within 20s")
            .expect("body read")
            .to_bytes();
        Resp { status: parts.status.as_u16(), headers: parts.headers, version: parts.version, body }
    }
    /// GET.
    pub async fn get(&self, path: &str) -> Resp {
        self.request(Method::GET, path, &[], Vec::new()).await
    }
    /// GET with an Accept header.
    pub async fn get_as(&self, path: &str, accept: &str) -> Resp {
        self.request(Method::GET, path, &[("accept", accept)], Vec::new()).await
    }
    /// POST a JSON body.
    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::POST, path, &[("content-type", "application/json")], body.to_string().into_bytes()).await
    }
    /// POST raw bytes as JSON.
    pub async fn post_raw(&self, path: &str, body: &[u8]) -> Resp {
        self.request(Method::POST, path, &[("content-type", "application/json")], body.to_vec()).await
    }
    /// PUT a JSON body.
    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.request(Method::PUT, path, &[("content-type", "application/json")], body.to_string().into_bytes()).await
    }
    /// PATCH with a content type.
    pub async fn patch(&self, path: &str, content_type: &str, body: &Value) -> Resp {
        self.request(Method::PATCH, path, &[("content-type", content_type)], body.to_string().into_bytes()).await
    }
    /// DELETE.
    pub async fn delete(&self, path: &str) -> Resp {
        self.request(Method::DELETE, path, &[], Vec::new()).await
    }
    /// Starts a watch (the path must carry watch=true).
    pub async fn watch(&self, path: &str) -> Watch {
        let resp = self.send(Method::GET, path, &[], Vec::new()).await;
        assert_eq!(resp.status().as_u16(), 200, "watch {path} refused");
        Watch { body: resp.into_body(), buf: Vec::new(), ended: false }
    }
}

/// A watch stream read line by line.
pub struct Watch {
    body: Incoming,
    buf: Vec<u8>,
    ended: bool,
}

impl Watch {
    /// The next event, None when the stream ended; panics after `secs` seconds of silence.
    pub async fn next_within(&mut self, secs: u64) -> Option<Value> {
        loop {
            if let Some(pos) = self.buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.buf.drain(..=pos).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                return Some(serde_json::from_slice(&line).expect("watch line is JSON"));
            }
            if self.ended {
                return None;
            }
            let frame = tokio::time::timeout(Duration::from_secs(secs), self.body.frame())
                .await
                .unwrap_or_else(|_| panic!("no watch event within {secs}s"));
            match frame {
                Some(Ok(f)) => {
                    if let Ok(data) = f.into_data() {
                        self.buf.extend_from_slice(&data);
                    }
                }
                _ => self.ended = true,
            }
        }
    }
    /// The next event (5 s budget).
    pub async fn next(&mut self) -> Option<Value> {
        self.next_within(5).await
    }
    /// The next event that is not a BOOKMARK.
    pub async fn next_non_bookmark(&mut self) -> Option<Value> {
        loop {
            let ev = self.next().await?;
            if ev["type"] != "BOOKMARK" {
                return Some(ev);
            }
        }
    }
    /// Whether nothing but bookmarks arrives within `ms` milliseconds.
    pub async fn quiet_for(&mut self, ms: u64) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_millis(ms);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return true;
            }
            match tokio::time::timeout(left, self.next_within(60)).await {
                Err(_) => return true,
                Ok(Some(ev)) if ev["type"] == "BOOKMARK" => continue,
                Ok(_) => return false,
            }
        }
    }
}

/// `(type, name)` of a watch event.
pub fn ev(e: &Value) -> (String, String) {
    (
        e["type"].as_str().unwrap_or_default().to_string(),
        e["object"]["metadata"]["name"].as_str().unwrap_or_default().to_string(),
    )
}

/// A ConfigMap body.
pub fn configmap(ns: &str, name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": name, "namespace": ns, "labels": labels}, "data": {"k": "v"}})
}

/// A Deployment body.
pub fn deployment(ns: &str, name: &str, replicas: i64) -> Value {
    json!({"apiVersion": "apps/v1", "kind": "Deployment",
           "metadata": {"name": name, "namespace": ns, "labels": {"app": name}},
           "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                    "template": {"metadata": {"labels": {"app": name}},
                                 "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}})
}

/// A namespaced CRD `widgets.example.com` (v1 served+stored, v2 served) with status and scale.
pub fn widget_crd() -> Value {
    let schema = json!({"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}});
    json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"],
                              "categories": ["all"]},
                    "versions": [
                        {"name": "v1", "served": true, "storage": true, "schema": schema,
                         "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                                   "statusReplicasPath": ".status.replicas"}}},
                        {"name": "v2", "served": true, "storage": false, "schema": schema}]}})
}

/// Which kubectl binaries the tests use: the oldest and newest versioned ones plus the default.
pub const KUBECTL_OLDEST: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.27";
/// The newest versioned kubectl.
pub const KUBECTL_NEWEST: &str = "/usr/lib/google-cloud-sdk/bin/kubectl.1.33";
/// The machine's default kubectl.
pub const KUBECTL_DEFAULT: &str = "/usr/bin/kubectl";

/// Output of one kubectl run.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs one kubectl binary against one server, with a private HOME and discovery cache.
pub struct Kubectl {
    pub bin: PathBuf,
    pub kubeconfig: PathBuf,
    pub dir: tempfile::TempDir,
}

impl Kubectl {
    /// Fails loudly when the binary is missing: these tests must not silently skip.
    pub fn new(bin: &str, server: &ApiServer) -> Self {
        assert!(
            Path::new(bin).exists(),
            "{bin} is missing: install the kubectl package (it ships kubectl.1.27 … kubectl.1.33)"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = dir.path().join("kubeconfig");
        server.write_kubeconfig(&kubeconfig).expect("kubeconfig written");
        Self { bin: bin.into(), kubeconfig, dir }
    }
    fn command(&self, args: &[&str]) -> tokio::process::Command {
        let mut c = tokio::process::Command::new(&self.bin);
        c.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", self.dir.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .env("KUBECACHEDIR", self.dir.path().join("cache"))
            .kill_on_drop(true);
        c
    }
    /// Runs kubectl with `args` and optional stdin.
    pub async fn run_with(&self, args: &[&str], stdin: Option<&str>) -> Out {
        use std::process::Stdio;
        use tokio::io::AsyncWriteExt;
        let mut c = self.command(args);
        c.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = c.spawn().expect("kubectl starts");
        if let Some(input) = stdin {
            let mut si = child.stdin.take().expect("stdin");
            si.write_all(input.as_bytes()).await.expect("stdin written");
        }
        let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
            .await
            .unwrap_or_else(|_| panic!("kubectl {args:?} did not finish in 60s"))
            .expect("kubectl ran");
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    /// Runs kubectl.
    pub async fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, None).await
    }
    /// Runs kubectl, asserts success, returns stdout.
    #[track_caller]
    pub fn ok<'a>(&'a self, args: &'a [&'a str]) -> impl std::future::Future<Output = String> + 'a {
        let caller = std::panic::Location::caller();
        async move {
            let out = self.run(args).await;
            assert_eq!(out.code, 0, "{caller}: kubectl {args:?} failed: {}{}", out.stdout, out.stderr);
            out.stdout
        }
    }
    /// Runs kubectl with a manifest on stdin (`-f -`), asserts success, returns stdout.
    pub async fn ok_stdin(&self, args: &[&str], manifest: &str) -> String {
        let out = self.run_with(args, Some(manifest)).await;
        assert_eq!(out.code, 0, "kubectl {args:?} failed: {}{}", out.stdout, out.stderr);
        out.stdout
    }
    /// Starts a long-running kubectl (e.g. `get -w`) whose stdout is read line by line.
    pub fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        use std::process::Stdio;
        self.command(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn")
    }
}

/// Table rows of kubectl output split into whitespace-separated columns (header first).
pub fn rows(table: &str) -> Vec<Vec<String>> {
    table.lines().filter(|l| !l.trim().is_empty()).map(|l| l.split_whitespace().map(String::from).collect()).collect()
}
