//! The generated ClientSet facade over real HTTP.

mod common;

use k8s_openapi::api::apps::v1::DaemonSet;
use k8s_openapi::api::core::v1::Node;
use rkube_client::ClientSet;
use rkube_core::{ListOptions, WriteOptions};
use serde_json::json;

#[tokio::test]
async fn group_version_accessors_reach_their_resources() {
    let (_server, client) = common::server().await;
    let cs = ClientSet::new(client);
    let w = WriteOptions::default();

    cs.core_v1().config_maps("default").create(&w, &common::configmap("c", &[])).await.unwrap();
    cs.core_v1().config_maps("kube-system").create(&w, &common::configmap("k", &[])).await.unwrap();
    assert_eq!(cs.core_v1().config_maps("default").list(&ListOptions::default()).await.unwrap().items.len(), 1);
    // "" is all namespaces, as client-go's NamespaceAll.
    assert_eq!(cs.core_v1().config_maps("").list(&ListOptions::default()).await.unwrap().items.len(), 2);

    let node: Node = serde_json::from_value(json!({"metadata": {"name": "n"}})).unwrap();
    cs.core_v1().nodes().create(&w, &node).await.unwrap();
    assert_eq!(cs.core_v1().nodes().get("n").await.unwrap().metadata.name.as_deref(), Some("n"));
    let namespaces = cs.core_v1().namespaces().list(&ListOptions::default()).await.unwrap();
    assert!(namespaces.items.len() >= 4);

    let ds: DaemonSet = serde_json::from_value(json!({
        "metadata": {"name": "ds"},
        "spec": {"selector": {"matchLabels": {"a": "b"}},
                 "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}
    }))
    .unwrap();
    cs.apps_v1().daemon_sets("default").create(&w, &ds).await.unwrap();
    assert_eq!(
        cs.apps_v1().daemon_sets("default").list(&ListOptions::default().limit(500)).await.unwrap().items.len(),
        1
    );
    assert!(cs.apps_v1().deployments("default").list(&ListOptions::default()).await.unwrap().items.is_empty());
    assert!(cs.batch_v1().jobs("default").list(&ListOptions::default()).await.unwrap().items.is_empty());
    assert!(cs.coordination_v1().leases("kube-system").list(&ListOptions::default()).await.is_ok());
    assert!(cs.apiextensions_v1().custom_resource_definitions().list(&ListOptions::default()).await.is_ok());
}

#[test]
fn every_required_group_version_has_an_accessor() {
    // Compile-time coverage of the generated list: one call per required group/version.
    fn paths(cs: &ClientSet) -> Vec<String> {
        use rkube_client::Api;
        fn p<K: rkube_core::Object>(api: Api<K>) -> String {
            format!("{}/{}", api.resource().api_version(), api.resource().plural)
        }
        vec![
            p(cs.core_v1().pods("ns")),
            p(cs.apps_v1().deployments("ns")),
            p(cs.batch_v1().cron_jobs("ns")),
            p(cs.coordination_v1().leases("ns")),
            p(cs.events_v1().events("ns")),
            p(cs.networking_v1().ingresses("ns")),
            p(cs.rbac_v1().cluster_roles()),
            p(cs.policy_v1().pod_disruption_budgets("ns")),
            p(cs.autoscaling_v2().horizontal_pod_autoscalers("ns")),
            p(cs.storage_v1().storage_classes()),
            p(cs.apiextensions_v1().custom_resource_definitions()),
            p(cs.admissionregistration_v1().validating_webhook_configurations()),
            p(cs.discovery_v1().endpoint_slices("ns")),
            p(cs.scheduling_v1().priority_classes()),
            p(cs.certificates_v1().certificate_signing_requests()),
            p(cs.node_v1().runtime_classes()),
            p(cs.flowcontrol_v1().flow_schemas()),
            p(cs.resource_v1().resource_claims("ns")),
            p(cs.apiregistration_v1().api_services()),
            p(cs.authorization_v1().self_subject_access_reviews()),
            p(cs.authentication_v1().token_reviews()),
        ]
    }
    let client = rkube_client::Client::new(rkube_client::Config::new("http://127.0.0.1:1".parse().unwrap())).unwrap();
    let got = paths(&ClientSet::new(client));
    assert_eq!(got[0], "v1/pods");
    assert_eq!(got[1], "apps/v1/deployments");
    assert_eq!(got[7], "policy/v1/poddisruptionbudgets");
    assert_eq!(got[10], "apiextensions.k8s.io/v1/customresourcedefinitions");
    assert_eq!(got[18], "apiregistration.k8s.io/v1/apiservices");
    assert_eq!(got[19], "authorization.k8s.io/v1/selfsubjectaccessreviews");
    assert_eq!(got[20], "authentication.k8s.io/v1/tokenreviews");
}
