//! Connections through an HTTP CONNECT proxy (kubeconfig `proxy-url`), against a small
//! tunnelling proxy and the embedded server over TLS.

mod common;

use std::sync::{Arc, Mutex};

use http::Version;
use rkube_apiserver::ServerOptions;
use rkube_client::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A CONNECT proxy that records each request head and tunnels bytes both ways.
async fn connect_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if inbound.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                let head = String::from_utf8_lossy(&head).into_owned();
                let target = head.split_whitespace().nth(1).unwrap_or_default().to_owned();
                seen.lock().unwrap().push(head);
                let Ok(mut outbound) = TcpStream::connect(&target).await else { return };
                inbound.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n").await.unwrap();
                let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
            });
        }
    });
    (format!("http://{addr}"), heads)
}

#[tokio::test]
async fn tls_through_a_connect_proxy_with_credentials() {
    let (server, _) = common::server_with(ServerOptions { tls: true, ..ServerOptions::default() }).await;
    let (proxy, heads) = connect_proxy().await;
    let mut config = common::config_for(&server);
    config.proxy_url = Some(proxy.replace("http://", "http://user:p%40ss@").parse().unwrap());
    let client = Client::new(config).unwrap();
    let resp = client.get().abs_path("/version").send_checked().await.unwrap();
    assert_eq!(resp.version, Version::HTTP_2, "TLS and ALPN run end to end through the tunnel");

    let heads = heads.lock().unwrap();
    assert_eq!(heads.len(), 1, "one pooled connection");
    let host = server.url().trim_start_matches("https://");
    assert!(heads[0].starts_with(&format!("CONNECT {host} HTTP/1.1")), "{}", heads[0]);
    // user:p@ss, base64.
    assert!(heads[0].to_lowercase().contains("proxy-authorization: basic dxnlcjpwqhnz"), "{}", heads[0]);
}
