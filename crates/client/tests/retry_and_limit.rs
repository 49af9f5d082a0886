//! Retries of 429/5xx with Retry-After and the client-side rate limiter, against the embedded
//! server, measured on tokio's paused clock (virtual time: nothing sleeps for real).

mod common;

use std::time::Duration;

use futures::future::join_all;
use k8s_openapi::api::core::v1::ConfigMap;
use rkube_apiserver::{ApiServer, InjectedError};
use rkube_client::{Api, Client};
use rkube_core::{ListOptions, WatchOptions, WriteOptions};
use tokio::time::Instant;

async fn server_and_client(qps: f32, burst: u32) -> (ApiServer, Client) {
    let server = ApiServer::start_default().await.unwrap();
    let mut config = common::config_for(&server);
    config.qps = qps;
    config.burst = burst;
    (server, Client::new(config).unwrap())
}

const THROTTLED: InjectedError = InjectedError { code: 429, retry_after: Some(1) };

#[tokio::test(start_paused = true)]
async fn throttled_requests_are_retried_after_retry_after_then_succeed() {
    let (server, client) = server_and_client(-1.0, 0).await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    server.faults().set_error_rate(1.0, THROTTLED);
    let faults_off_after = Duration::from_millis(3500);
    let started = Instant::now();
    let (w, cm) = (WriteOptions::default(), common::configmap("r", &[]));
    let (created, _) = tokio::join!(cms.create(&w, &cm), async {
        tokio::time::sleep(faults_off_after).await;
        server.faults().clear();
    });
    created.unwrap();
    // Attempts at 0 s, 1 s, 2 s, 3 s were throttled; the one at 4 s went through.
    assert_eq!(started.elapsed().as_secs(), 4, "{:?}", started.elapsed());
    // The POST was retried, not duplicated.
    assert_eq!(cms.list(&ListOptions::default()).await.unwrap().items.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn retries_stop_after_ten() {
    let (server, client) = server_and_client(-1.0, 0).await;
    server.faults().set_error_rate(1.0, THROTTLED);
    let started = Instant::now();
    let err = client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap_err();
    assert!(err.is_too_many_requests(), "{err}");
    assert_eq!(err.api_error().unwrap().retry_after, Some(Duration::from_secs(1)));
    // 1 attempt + 10 retries, one second apart.
    assert_eq!(started.elapsed().as_secs(), 10, "{:?}", started.elapsed());

    // 503 with Retry-After is retried too; 500 without Retry-After is not.
    server.faults().set_error_rate(1.0, InjectedError { code: 503, retry_after: Some(2) });
    let started = Instant::now();
    let err = client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap_err();
    assert!(err.is_server_error() && err.status_code() == Some(503), "{err}");
    assert_eq!(started.elapsed().as_secs(), 20);
    server.faults().set_error_rate(1.0, InjectedError { code: 500, retry_after: None });
    let started = Instant::now();
    let err = client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap_err();
    assert!(err.is_server_error() && err.status_code() == Some(500), "{err}");
    assert_eq!(started.elapsed(), Duration::ZERO);
}

#[tokio::test(start_paused = true)]
async fn limiter_holds_qps_after_the_burst() {
    let (_server, client) = server_and_client(5.0, 10).await;
    let started = Instant::now();
    for _ in 0..30 {
        client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap();
    }
    // 10 go at once, the other 20 at 5 per second.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(4) && elapsed < Duration::from_millis(4100), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn limiter_is_shared_by_clones_and_clients_built_on_them() {
    let (_server, client) = server_and_client(5.0, 10).await;
    let typed: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let started = Instant::now();
    let tasks = (0..3).map(|i| {
        let client = client.clone();
        let typed = typed.clone();
        async move {
            for _ in 0..10 {
                if i == 0 {
                    typed.list(&ListOptions::default()).await.unwrap();
                } else {
                    client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap();
                }
            }
        }
    });
    join_all(tasks).await;
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_secs(4) && elapsed < Duration::from_millis(4100), "{elapsed:?}");
}

#[tokio::test(start_paused = true)]
async fn watches_bypass_the_limiter_and_negative_qps_disables_it() {
    let (_server, client) = server_and_client(1.0, 1).await;
    client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap();
    // The bucket is empty: a GET would wait a second, a watch does not.
    let started = Instant::now();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let _watch = cms.watch(&WatchOptions::default()).await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    client.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap();
    assert_eq!(started.elapsed(), Duration::from_secs(1));

    let (_server, unlimited) = server_and_client(-1.0, 0).await;
    assert!(unlimited.rate_limiter().is_none());
    let started = Instant::now();
    for _ in 0..50 {
        unlimited.get().abs_path("/api/v1/namespaces").send_checked().await.unwrap();
    }
    assert_eq!(started.elapsed(), Duration::ZERO);
}
