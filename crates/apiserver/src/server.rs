//! Starting and stopping the server: listener, HTTP/1.1 and HTTP/2 (h2c, and ALPN over TLS),
//! a generated self-signed CA, the kubeconfig clients use, and the handle tests drive.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::Api;
use crate::faults::Faults;
use crate::objects;
use crate::registry::Registry;
use crate::store::Store;
use crate::tls::{CertificateError, ClientCertificate};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// Certificate generation or TLS setup failed.
    #[error("TLS setup failed: {0}")]
    Tls(String),
    /// A seed object was rejected.
    #[error("seed object {index} rejected: {message}")]
    Seed {
        /// Position in the seed list.
        index: usize,
        /// The server's answer.
        message: String,
    },
}

/// How to run the server. The default listens on 127.0.0.1 with a random port, plain HTTP,
/// no token.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Listen address (loopback unless told otherwise).
    pub listen: SocketAddr,
    /// Require `Authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Serve HTTPS with a generated CA (written into the kubeconfig). Client certificates
    /// the CA signs (see [`ApiServer::client_certificate`]) authenticate their subject.
    pub tls: bool,
    /// Another CA (PEM) whose client certificates authenticate too, as kube-apiserver's
    /// `--client-ca-file`; only with `tls`.
    pub client_ca: Option<String>,
    /// Past events kept per resource for watches and paginated reads.
    pub event_window: usize,
    /// Objects created at start, after the built-in namespaces (any kind, JSON).
    pub seed: Vec<Value>,
    /// How often watches that asked for bookmarks get one.
    pub bookmark_interval: Duration,
    /// Serve watch-list streams (`sendInitialEvents`); off answers them with 422 as a
    /// server without the WatchList feature does, so clients' fallbacks can be tested.
    pub watch_list: bool,
    /// Largest request body accepted.
    pub max_body: usize,
    /// Seed of the fault injector's random choices.
    pub fault_seed: u64,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            token: None,
            tls: false,
            client_ca: None,
            event_window: 10_000,
            seed: Vec::new(),
            bookmark_interval: Duration::from_secs(1),
            watch_list: true,
            max_body: 3 * 1024 * 1024,
            fault_seed: 1,
        }
    }
}

/// A running server. Dropping it shuts the server down.
pub struct ApiServer {
    api: Arc<Api>,
    url: String,
    addr: SocketAddr,
    ca_pem: Option<String>,
    tls: Option<Arc<crate::tls::Tls>>,
    token: Option<String>,
    shutdown: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ApiServer {
    /// Starts a server with default options (127.0.0.1, random port, HTTP).
    pub async fn start_default() -> Result<Self, StartError> {
        Self::start(ServerOptions::default()).await
    }

    /// Starts a server; it runs on the current tokio runtime until shut down or dropped.
    pub async fn start(opts: ServerOptions) -> Result<Self, StartError> {
        let listener =
            TcpListener::bind(opts.listen).await.map_err(|source| StartError::Bind { addr: opts.listen, source })?;
        let addr = listener.local_addr().map_err(|source| StartError::Bind { addr: opts.listen, source })?;
        let tls_setup = match opts.tls {
            true => Some(Arc::new(crate::tls::setup(addr, opts.client_ca.as_deref()).map_err(StartError::Tls)?)),
            false => None,
        };
        let ca_pem = tls_setup.as_ref().map(|t| t.ca_pem.clone());
        let acceptor = tls_setup.as_ref().map(|t| tokio_rustls::TlsAcceptor::from(Arc::new(t.config.clone())));
        let scheme = if opts.tls { "https" } else { "http" };
        let url = format!("{scheme}://{addr}");
        let api = Arc::new(Api {
            store: Store::new(opts.event_window),
            registry: Registry::new(),
            faults: Arc::new(Faults::new(opts.fault_seed)),
            token: opts.token.clone(),
            max_body: opts.max_body,
            bookmark_interval: opts.bookmark_interval,
            watch_list: opts.watch_list,
            pod_logs: Default::default(),
            gc: Default::default(),
            access_log: Default::default(),
            server_address: addr.to_string(),
        });
        seed(&api, &opts.seed)?;
        let (shutdown, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, api.clone(), acceptor, rx));
        tracing::info!(%url, tls = opts.tls, auth = opts.token.is_some(), "embedded API server listening");
        Ok(Self { api, url, addr, ca_pem, tls: tls_setup, token: opts.token, shutdown, task: Some(task) })
    }

    /// The base URL, e.g. `http://127.0.0.1:41234`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The generated CA certificate (PEM) when serving TLS.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// A kubeconfig (YAML) that points clients such as kubectl at this server.
    pub fn kubeconfig(&self) -> String {
        kubeconfig_yaml(&self.url, self.ca_pem.as_deref(), self.token.as_deref())
    }

    /// A client certificate and key (PEM) for `user` in `groups`, signed by the server's CA:
    /// requests over a connection that presents it are authenticated as that user, with or
    /// without a token.
    pub fn client_certificate(&self, user: &str, groups: &[&str]) -> Result<ClientCertificate, CertificateError> {
        self.tls.as_ref().ok_or(CertificateError::NoTls)?.client_certificate(user, groups)
    }

    /// A kubeconfig (YAML) that authenticates as `user` in `groups` with a fresh client
    /// certificate (`client-certificate-data` and `client-key-data`) instead of the token.
    pub fn client_certificate_kubeconfig(&self, user: &str, groups: &[&str]) -> Result<String, CertificateError> {
        use base64::Engine;
        let cert = self.client_certificate(user, groups)?;
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
        let user_block = format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n",
            b64(&cert.cert_pem),
            b64(&cert.key_pem)
        );
        Ok(kubeconfig_with_user(&self.url, self.ca_pem.as_deref(), &user_block))
    }

    /// Writes the kubeconfig to a file (mode 0600 on Unix: it may hold a token).
    pub fn write_kubeconfig(&self, path: &Path) -> std::io::Result<()> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, self.kubeconfig())?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
        Ok(())
    }

    /// The fault injector, to switch faults on and off from a test.
    pub fn faults(&self) -> &Faults {
        &self.api.faults
    }

    /// The log of answered requests; call `record(true)` on it to start recording.
    pub fn access_log(&self) -> &crate::access_log::AccessLog {
        &self.api.access_log
    }

    /// Appends text to a pod container's log, served by `pods/log` (and to its followers).
    pub fn append_pod_log(&self, namespace: &str, pod: &str, container: &str, text: &str) {
        self.api.pod_logs.append(namespace, pod, container, text);
    }

    /// The current resourceVersion of the store.
    pub fn revision(&self) -> u64 {
        self.api.store.revision()
    }

    /// Shrinks (or grows) the event window; shrinking compacts at once.
    pub fn set_event_window(&self, window: usize) {
        self.api.store.set_window(window);
    }

    /// Drops all past events: watches and continue tokens from before now get 410.
    pub fn compact(&self) -> u64 {
        self.api.store.compact()
    }

    /// Simulates a restart: data is kept, every watch is closed and the event window is lost.
    pub fn restart(&self) {
        self.api.store.restart();
    }

    /// Stops accepting connections and waits for the accept loop to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        self.api.store.close_watches();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.api.store.close_watches();
    }
}

fn seed(api: &Api, seed: &[Value]) -> Result<(), StartError> {
    let namespaces = ["default", "kube-system", "kube-public", "kube-node-lease"]
        .map(|n| json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}}));
    for (index, obj) in namespaces.iter().chain(seed).enumerate() {
        let fail = |message: String| StartError::Seed { index, message };
        let api_version = obj.get("apiVersion").and_then(Value::as_str).unwrap_or_default();
        let kind = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        let res = api
            .registry
            .all()
            .into_iter()
            .find(|r| r.group == group && r.version == version && r.kind == kind)
            .ok_or_else(|| fail(format!("no resource serves {api_version} {kind}")))?;
        let ns = obj.pointer("/metadata/namespace").and_then(Value::as_str).or(res.namespaced.then_some("default"));
        let opts = rkube_core::options::WriteOptions::default();
        let req = objects::WriteRequest {
            res: &res,
            namespace: ns,
            name: None,
            subresource: None,
            opts: &opts,
            manager: "rkube-apiserver",
        };
        let body = serde_json::to_vec(obj).unwrap_or_default();
        let written = objects::create(&api.store, &req, &body).map_err(|s| fail(s.message))?;
        if res.group == "apiextensions.k8s.io" {
            let crd: Value = serde_json::from_slice(&written.body).unwrap_or_default();
            api.registry.install_crd(&crd).map_err(fail)?;
        }
    }
    Ok(())
}

async fn serve(
    listener: TcpListener,
    api: Arc<Api>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => return,
        };
        let _ = stream.set_nodelay(true);
        let api = api.clone();
        let tls = tls.clone();
        let mut stop = shutdown.clone();
        tokio::spawn(async move {
            let service = |identity: Option<crate::tls::Identity>| {
                service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    let api = api.clone();
                    if let Some(id) = &identity {
                        req.extensions_mut().insert(id.clone());
                    }
                    async move { Ok::<_, std::convert::Infallible>(api.handle(req).await) }
                })
            };
            let builder = auto::Builder::new(TokioExecutor::new());
            let result = match tls {
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(s) => {
                        // rustls verified the chain already: a certificate here is trusted.
                        let identity = s
                            .get_ref()
                            .1
                            .peer_certificates()
                            .and_then(|chain| chain.first())
                            .and_then(|leaf| crate::tls::identity(leaf));
                        let conn = builder.serve_connection(TokioIo::new(s), service(identity));
                        tokio::select! { r = conn => r, _ = stop.changed() => Ok(()) }
                    }
                    Err(e) => {
                        tracing::debug!(%peer, error = %e, "TLS handshake failed");
                        return;
                    }
                },
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service(None));
                    tokio::select! { r = conn => r, _ = stop.changed() => Ok(()) }
                }
            };
            if let Err(e) = result {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}

/// A kubeconfig for `url`, with the CA inline and the token, if given.
pub fn kubeconfig_yaml(url: &str, ca_pem: Option<&str>, token: Option<&str>) -> String {
    let user = token.map(|t| format!("    token: {t}\n")).unwrap_or_default();
    kubeconfig_with_user(url, ca_pem, &user)
}

/// A kubeconfig whose user entry holds `user` (indented YAML lines; empty: no credentials).
fn kubeconfig_with_user(url: &str, ca_pem: Option<&str>, user: &str) -> String {
    use base64::Engine;
    let mut cluster = format!("    server: {url}\n");
    if let Some(ca) = ca_pem {
        let data = base64::engine::general_purpose::STANDARD.encode(ca);
        cluster.push_str(&format!("    certificate-authority-data: {data}\n"));
    }
    let user_block = if user.is_empty() { "  user: {}\n".to_string() } else { format!("  user:\n{user}") };
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: rkube\n  cluster:\n{cluster}contexts:\n- name: rkube\n  context:\n    cluster: rkube\n    user: rkube\n    namespace: default\ncurrent-context: rkube\nusers:\n- name: rkube\n{user_block}"
    )
}
