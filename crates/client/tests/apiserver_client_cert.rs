//! The client authenticating to the embedded API server with a client certificate from a
//! kubeconfig (`client-certificate-data` / `client-key-data`), where the server requires a
//! token from everyone else; and gzip-compressed large responses decoded transparently.

use rkube_apiserver::{ApiServer, ServerOptions};
use rkube_client::config::KubeconfigOptions;
use rkube_client::{Client, Config};
use serde_json::{Value, json};

async fn server() -> ApiServer {
    ApiServer::start(ServerOptions { tls: true, token: Some("t0ken".into()), ..ServerOptions::default() })
        .await
        .expect("server starts")
}

fn client(kubeconfig: &str) -> Client {
    let mut config = Config::from_kubeconfig_str(kubeconfig, &KubeconfigOptions::default()).expect("kubeconfig");
    config.qps = -1.0;
    Client::new(config).expect("client")
}

#[tokio::test]
async fn client_certificate_from_kubeconfig_authenticates() {
    let server = server().await;
    let kubeconfig = server.client_certificate_kubeconfig("jane", &["dev", "ops"]).unwrap();
    assert!(kubeconfig.contains("client-certificate-data: ") && !kubeconfig.contains("token"));
    let jane = client(&kubeconfig);
    jane.get().abs_path("/api/v1/namespaces/default/configmaps").send_checked().await.unwrap();
    let review = json!({"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"});
    let who: Value =
        jane.post().abs_path("/apis/authentication.k8s.io/v1/selfsubjectreviews").json(&review).into().await.unwrap();
    assert_eq!(who["status"]["userInfo"]["username"], "jane");
    assert_eq!(who["status"]["userInfo"]["groups"], json!(["dev", "ops", "system:authenticated"]));

    // The same server refuses a client with neither certificate nor token.
    let anonymous = client(&rkube_apiserver::kubeconfig_yaml(server.url(), server.ca_pem(), None));
    let resp = anonymous.get().abs_path("/api/v1/namespaces/default/configmaps").send().await.unwrap();
    assert_eq!(resp.status.as_u16(), 401);
}

#[tokio::test]
async fn gzipped_large_lists_are_decoded() {
    let server = server().await;
    let c = client(&server.kubeconfig());
    let filler = "y".repeat(8192);
    for i in 0..20 {
        let cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("big-{i}")},
                        "data": {"filler": filler}});
        c.post().abs_path("/api/v1/namespaces/default/configmaps").json(&cm).send_checked().await.unwrap();
    }
    let resp = c.get().abs_path("/api/v1/namespaces/default/configmaps").send_checked().await.unwrap();
    let encoding = resp.headers.get("content-encoding").and_then(|v| v.to_str().ok());
    assert_eq!(encoding, Some("gzip"), "the server compressed the list");
    let list: Value = resp.json().unwrap();
    assert_eq!(list["items"].as_array().map(Vec::len), Some(20));
    assert!(resp.body.len() > 128 * 1024, "decoded body is the full list");
}
