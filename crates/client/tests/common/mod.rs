//! Shared fixtures of the client tests: an embedded API server and a client for it.

#![allow(dead_code)]

use rkube_apiserver::{ApiServer, ServerOptions};
use rkube_client::Client;
use rkube_client::config::{Config, KubeconfigOptions};

/// A server with default options (plain HTTP) and a client built from its kubeconfig.
pub async fn server() -> (ApiServer, Client) {
    server_with(ServerOptions::default()).await
}

/// A server with `options` and a client built from its kubeconfig, rate limiting off so
/// tests run at full speed.
pub async fn server_with(options: ServerOptions) -> (ApiServer, Client) {
    let server = ApiServer::start(options).await.expect("server starts");
    let mut config = config_for(&server);
    config.qps = -1.0;
    let client = Client::new(config).expect("client");
    (server, client)
}

/// The config of the server's own kubeconfig.
pub fn config_for(server: &ApiServer) -> Config {
    Config::from_kubeconfig_str(&server.kubeconfig(), &KubeconfigOptions::default()).expect("kubeconfig")
}

/// A ConfigMap object as JSON.
pub fn configmap(name: &str, data: &[(&str, &str)]) -> k8s_openapi::api::core::v1::ConfigMap {
    let mut cm = k8s_openapi::api::core::v1::ConfigMap::default();
    cm.metadata.name = Some(name.to_owned());
    cm.data = Some(data.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect());
    cm
}
