//! Transport behaviour the embedded server cannot show, against a small scripted HTTP server:
//! request headers (User-Agent, Accept-Encoding, impersonation), gzip-compressed bodies and
//! watch streams, and the retry of GETs whose connection was reset.

use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderMap, Request, Response};
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::ConfigMap;
use rkube_client::config::Impersonation;
use rkube_client::{Client, Config};
use rkube_core::WatchEvent;
use tokio::net::TcpListener;

type Body = http_body_util::combinators::BoxBody<Bytes, std::convert::Infallible>;

/// What the scripted server does with each connection.
#[derive(Clone, Copy)]
enum Script {
    /// Answers every request with gzip-compressed JSON sent in small chunks.
    GzipJson,
    /// Drops the first connection after reading the request, then answers with JSON.
    ResetFirst,
}

struct Scripted {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<(String, HeaderMap)>>>,
    connections: Arc<AtomicUsize>,
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

const CONFIGMAP: &str = r#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"zipped"},"data":{"k":"v"}}"#;
const WATCH: &str = concat!(
    r#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}}"#,
    "\n",
    r#"{"type":"DELETED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}}"#,
    "\n"
);

async fn answer(req: Request<Incoming>, script: Script) -> Response<Body> {
    let path = req.uri().path().to_owned();
    let plain = if path.ends_with("/watch-me") { WATCH } else { CONFIGMAP };
    match script {
        Script::GzipJson => {
            let zipped = gzip(plain.as_bytes());
            // Several small frames, so the decoder sees partial gzip blocks and partial events.
            let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> =
                zipped.chunks(7).map(|c| Ok(Frame::data(Bytes::copy_from_slice(c)))).collect();
            let body = BodyExt::boxed(StreamBody::new(futures::stream::iter(chunks)));
            Response::builder().header("content-encoding", "gzip").header("content-type", "application/json").body(body)
        }
        Script::ResetFirst => Response::builder()
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from_static(CONFIGMAP.as_bytes())).boxed()),
    }
    .unwrap()
}

async fn scripted(script: Script) -> Scripted {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let connections = Arc::new(AtomicUsize::new(0));
    let (seen2, conns2) = (seen.clone(), connections.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { return };
            let n = conns2.fetch_add(1, Ordering::SeqCst);
            if matches!(script, Script::ResetFirst) && n == 0 {
                use tokio::io::AsyncReadExt;
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                drop(stream);
                continue;
            }
            let seen = seen2.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<Incoming>| {
                    seen.lock().unwrap().push((req.uri().to_string(), req.headers().clone()));
                    async move { Ok::<_, std::convert::Infallible>(answer(req, script).await) }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Scripted { addr, seen, connections }
}

fn client_for(addr: SocketAddr, adjust: impl FnOnce(&mut Config)) -> Client {
    let mut config = Config::new(format!("http://{addr}").parse().unwrap());
    adjust(&mut config);
    Client::new(config).unwrap()
}

#[tokio::test]
async fn request_headers_follow_client_go() {
    let server = scripted(Script::GzipJson).await;
    let client = client_for(server.addr, |c| {
        c.impersonate = Some(Impersonation {
            user: "jane".into(),
            uid: None,
            groups: vec!["devs".into(), "ops".into()],
            extra: [("scopes".to_string(), vec!["view".to_string()])].into(),
        })
    });
    client.get().abs_path("/api/v1/namespaces/default/configmaps/zipped").send_checked().await.unwrap();
    let seen = server.seen.lock().unwrap();
    let headers = &seen[0].1;
    let ua = headers["user-agent"].to_str().unwrap();
    assert_eq!(
        ua,
        format!("rkube/{} ({}/{})", env!("CARGO_PKG_VERSION"), std::env::consts::OS, std::env::consts::ARCH)
    );
    assert_eq!(headers["accept-encoding"], "gzip");
    assert_eq!(headers["accept"], "application/json");
    assert_eq!(headers["impersonate-user"], "jane");
    let groups: Vec<_> = headers.get_all("impersonate-group").iter().map(|v| v.to_str().unwrap()).collect();
    assert_eq!(groups, ["devs", "ops"]);
    assert_eq!(headers["impersonate-extra-scopes"], "view");
    assert!(!headers.contains_key("authorization"));
}

#[tokio::test]
async fn disable_compression_drops_accept_encoding() {
    let server = scripted(Script::ResetFirst).await;
    let client = client_for(server.addr, |c| c.disable_compression = true);
    client.get().abs_path("/x").send_checked().await.unwrap();
    assert!(!server.seen.lock().unwrap()[0].1.contains_key("accept-encoding"));
}

#[tokio::test]
async fn gzip_bodies_and_streams_are_decoded() {
    let server = scripted(Script::GzipJson).await;
    let client = client_for(server.addr, |_| {});
    let cm: ConfigMap = client.get().abs_path("/api/v1/namespaces/default/configmaps/zipped").into().await.unwrap();
    assert_eq!(cm.data.unwrap()["k"], "v");

    let mut stream = client.get().abs_path("/logs").stream().await.unwrap();
    let mut collected = Vec::new();
    while let Some(chunk) = stream.next().await {
        collected.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(collected, CONFIGMAP.as_bytes());

    let events: Vec<_> = client.get().abs_path("/watch-me").watch::<ConfigMap>().await.unwrap().collect().await;
    let names: Vec<_> = events
        .into_iter()
        .map(|e| match e.unwrap() {
            WatchEvent::Added(cm) => format!("ADDED {}", cm.metadata.name.unwrap()),
            WatchEvent::Deleted(cm) => format!("DELETED {}", cm.metadata.name.unwrap()),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(names, ["ADDED a", "DELETED a"]);
}

#[tokio::test(start_paused = true)]
async fn get_is_retried_after_a_connection_reset_but_post_is_not() {
    let server = scripted(Script::ResetFirst).await;
    let client = client_for(server.addr, |c| c.qps = -1.0);
    let started = tokio::time::Instant::now();
    let cm: ConfigMap = client.get().abs_path("/api/v1/namespaces/default/configmaps/zipped").into().await.unwrap();
    assert_eq!(cm.metadata.name.as_deref(), Some("zipped"));
    assert_eq!(server.connections.load(Ordering::SeqCst), 2);
    assert_eq!(started.elapsed(), Duration::from_secs(1), "retried after one second, as client-go");

    let server = scripted(Script::ResetFirst).await;
    let client = client_for(server.addr, |c| c.qps = -1.0);
    let err = client.post().abs_path("/api/v1/namespaces/default/configmaps").json(&cm).send().await.unwrap_err();
    assert!(err.is_transport(), "{err}");
    assert_eq!(server.connections.load(Ordering::SeqCst), 1);
}
