//! The tracing span of every request. Alone in its test binary: tracing caches which
//! subscribers want a callsite, and parallel tests on other threads without a subscriber would
//! make that flaky.

mod common;

use rkube_apiserver::ServerOptions;

#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_request_is_traced_without_credentials() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let (_server, client) = common::server_with(ServerOptions {
        token: Some("very-secret-token".into()),
        tls: true,
        ..ServerOptions::default()
    })
    .await;
    client.get().abs_path("/api/v1/namespaces/default/configmaps").send_checked().await.unwrap();
    let _ = client.get().abs_path("/api/v1/namespaces/default/configmaps/nope").send().await.unwrap();
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains("rkube_client") && l.contains("response")).collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].contains("verb=GET") && lines[0].contains("path=/api/v1/namespaces/default/configmaps"),
        "{}",
        lines[0]
    );
    assert!(lines[0].contains("status=200") && lines[0].contains("latency_ms="), "{}", lines[0]);
    assert!(lines[1].contains("status=404"), "{}", lines[1]);
    assert!(!log.contains("very-secret-token"), "a token was logged");
}
