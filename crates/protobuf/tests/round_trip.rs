//! Every built-in kind the embedded server serves, with populated fields (quantities,
//! int-or-string, times with fractional seconds, raw JSON, byte fields, maps, pointer fields
//! set to their zero value), survives k8s-openapi -> protobuf bytes -> k8s-openapi and
//! JSON -> protobuf -> JSON unchanged.

use std::fmt::Debug;

use k8s_openapi as oa;
use rkube_protobuf::{HasProtobuf, decode, encode, from_json, to_json};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

fn fixtures() -> serde_json::Map<String, Value> {
    let text = include_str!("data/kinds.json");
    serde_json::from_str::<Value>(text).expect("fixtures parse").as_object().expect("object").clone()
}

fn round_trip<K: HasProtobuf + DeserializeOwned + Serialize + Clone + PartialEq + Debug>(name: &str, fixture: &Value) {
    let typed: K = serde_json::from_value(fixture.clone()).unwrap_or_else(|e| panic!("{name}: fixture: {e}"));
    let expected = serde_json::to_value(&typed).unwrap();
    // typed -> bytes -> typed
    let bytes = encode(typed.clone());
    let back: K = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(serde_json::to_value(&back).unwrap(), expected, "{name}: typed round trip");
    assert_eq!(back, typed, "{name}: typed values equal");
    // JSON -> bytes -> JSON (the server's path)
    let pb = from_json(&serde_json::to_vec(&expected).unwrap()).unwrap();
    assert_eq!(pb, bytes, "{name}: JSON and typed encodings agree");
    assert_eq!(to_json(&pb).unwrap(), expected, "{name}: JSON round trip");
    // and the fixture really is populated: nothing it says was lost on the way in
    let mut lost = Vec::new();
    missing(fixture, &expected, String::new(), &mut lost);
    assert!(lost.is_empty(), "{name}: fixture fields unknown to k8s-openapi: {lost:?}");
}

fn missing(a: &Value, b: &Value, path: String, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                match b.get(k) {
                    Some(w) => missing(v, w, format!("{path}.{k}"), out),
                    None if v.is_null() => {}
                    None => out.push(format!("{path}.{k}")),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                missing(v, w, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn every_builtin_kind_round_trips_with_populated_fields() {
    use oa::api::{
        apps::v1 as apps, batch::v1 as batch, coordination::v1 as coord, core::v1 as core, events::v1 as events,
    };
    let f = fixtures();
    let get = |k: &str| f.get(k).unwrap_or_else(|| panic!("fixture {k}"));
    round_trip::<core::Namespace>("Namespace", get("Namespace"));
    round_trip::<core::Node>("Node", get("Node"));
    round_trip::<core::Pod>("Pod", get("Pod"));
    round_trip::<core::Service>("Service", get("Service"));
    round_trip::<core::Endpoints>("Endpoints", get("Endpoints"));
    round_trip::<core::ConfigMap>("ConfigMap", get("ConfigMap"));
    round_trip::<core::Secret>("Secret", get("Secret"));
    round_trip::<core::ServiceAccount>("ServiceAccount", get("ServiceAccount"));
    round_trip::<core::Event>("Event", get("Event"));
    round_trip::<events::Event>("events.k8s.io/Event", get("events.k8s.io/Event"));
    round_trip::<apps::Deployment>("Deployment", get("Deployment"));
    round_trip::<apps::ReplicaSet>("ReplicaSet", get("ReplicaSet"));
    round_trip::<apps::DaemonSet>("DaemonSet", get("DaemonSet"));
    round_trip::<apps::StatefulSet>("StatefulSet", get("StatefulSet"));
    round_trip::<batch::Job>("Job", get("Job"));
    round_trip::<batch::CronJob>("CronJob", get("CronJob"));
    round_trip::<coord::Lease>("Lease", get("Lease"));
    round_trip::<oa::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(
        "CustomResourceDefinition",
        get("CustomResourceDefinition"),
    );
    round_trip::<oa::api::autoscaling::v1::Scale>("Scale", get("Scale"));
}

#[test]
fn special_values_survive() {
    let f = fixtures();
    // byte fields: arbitrary bytes, empty values
    let secret: oa::api::core::v1::Secret =
        decode(&from_json(&serde_json::to_vec(&f["Secret"]).unwrap()).unwrap()).unwrap();
    let data = secret.data.unwrap();
    assert_eq!(data["binary"].0, [0x00, 0xff, 0x10, 0x80]);
    assert!(data["empty"].0.is_empty());
    // times with fractional seconds (MicroTime keeps microseconds)
    let lease = to_json(&from_json(&serde_json::to_vec(&f["Lease"]).unwrap()).unwrap()).unwrap();
    assert_eq!(lease["spec"]["renewTime"], "2024-01-01T00:00:10.123456Z");
    // int-or-string, quantities, pointer fields set to zero
    let d = to_json(&from_json(&serde_json::to_vec(&f["Deployment"]).unwrap()).unwrap()).unwrap();
    assert_eq!(d["spec"]["strategy"]["rollingUpdate"], json!({"maxSurge": "25%", "maxUnavailable": 1}));
    assert_eq!(d["spec"]["replicas"], 0);
    let pod = to_json(&from_json(&serde_json::to_vec(&f["Pod"]).unwrap()).unwrap()).unwrap();
    let c = &pod["spec"]["containers"][0];
    assert_eq!(c["resources"]["requests"]["memory"], "512Mi");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "http");
    assert_eq!(c["securityContext"]["runAsUser"], 0);
    // raw JSON (CRD defaults, enums, examples)
    let crd = to_json(&from_json(&serde_json::to_vec(&f["CustomResourceDefinition"]).unwrap()).unwrap()).unwrap();
    let props = &crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"];
    assert_eq!(props["config"]["default"], json!({"a": [1, "two", null, true]}));
    assert_eq!(props["free"]["additionalProperties"], false);
    assert_eq!(props["labels"]["additionalProperties"], json!({"type": "string"}));
}

#[test]
fn go_zero_values_of_non_pointer_omitempty_fields_decode_as_absent() {
    use k8s_pb::api::core::v1 as pb;
    use prost::Message;
    // What a Go client writes for an empty ContainerPort.protocol (non-pointer, omitempty) and
    // for a ServiceAccount's automountServiceAccountToken=false (a pointer: kept).
    let port = pb::ContainerPort {
        container_port: Some(80),
        protocol: Some(String::new()),
        host_port: Some(0),
        ..Default::default()
    };
    let port: oa::api::core::v1::ContainerPort = rkube_protobuf::Convert::from_pb(port);
    assert_eq!(serde_json::to_value(port).unwrap(), json!({"containerPort": 80}));
    let sa = pb::ServiceAccount { automount_service_account_token: Some(false), ..Default::default() };
    let raw = rkube_protobuf::wire::encode_envelope("v1", "ServiceAccount", sa.encode_to_vec());
    assert_eq!(to_json(&raw).unwrap()["automountServiceAccountToken"], false);
}

#[test]
fn lists_and_status_encode() {
    let list = json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": {"resourceVersion": "12", "continue": "c"},
        "items": [{"metadata": {"name": "a"}, "data": {"k": "v"}}, {"metadata": {"name": "b"}}]});
    let pb = from_json(&serde_json::to_vec(&list).unwrap()).unwrap();
    let (meta, items) = rkube_protobuf::decode_list::<oa::api::core::v1::ConfigMap>(&pb).unwrap();
    assert_eq!((meta.resource_version.as_deref(), meta.continue_.as_deref()), (Some("12"), Some("c")));
    assert_eq!(items.iter().map(|c| c.metadata.name.clone().unwrap()).collect::<Vec<_>>(), ["a", "b"]);
    let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": "nope", "reason": "NotFound",
        "code": 404, "details": {"name": "x", "kind": "pods"}});
    let pb = from_json(&serde_json::to_vec(&status).unwrap()).unwrap();
    assert_eq!(rkube_protobuf::wire::decode_envelope(&pb).unwrap().kind, "Status");
    let mut with_meta = status.clone();
    with_meta["metadata"] = json!({}); // as kube-apiserver writes a Status in JSON
    assert_eq!(to_json(&pb).unwrap(), with_meta, "Status back to JSON (error answers in protobuf)");
}

#[test]
fn gaps_are_only_fields_newer_than_k8s_pb() {
    // k8s-openapi serves Kubernetes 1.37, k8s-pb 0.9 carries 1.34 messages: fields added since
    // cannot travel in protobuf. Anything else in this list would be a generator bug.
    for gap in rkube_protobuf::generated::GAPS {
        assert!(gap.contains("no protobuf message") || gap.contains("not in protobuf"), "{gap}");
    }
}

fn skipping<K: HasProtobuf + DeserializeOwned + Serialize + Clone + PartialEq + Debug>(name: &str, fixture: &Value) {
    use rkube_protobuf::{DecodeOptions, decode_list_with, decode_with};
    let mut fixture = fixture.clone();
    fixture["metadata"]["managedFields"] = json!([
        {"manager": "kubectl", "operation": "Update", "apiVersion": "v1", "time": "2024-01-01T00:00:00Z",
         "fieldsType": "FieldsV1", "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}}},
        {"manager": "kubelet", "operation": "Update", "subresource": "status", "fieldsType": "FieldsV1",
         "fieldsV1": {"f:status": {}}}
    ]);
    let typed: K = serde_json::from_value(fixture).unwrap_or_else(|e| panic!("{name}: fixture: {e}"));
    let bytes = encode(typed.clone());
    let kept: K = decode_with(&bytes, DecodeOptions::default()).unwrap();
    assert_eq!(kept, typed, "{name}: kept");
    let skipped: K = decode_with(&bytes, DecodeOptions::skipping_managed_fields()).unwrap();
    let mut expected = serde_json::to_value(&typed).unwrap();
    expected["metadata"].as_object_mut().unwrap().remove("managedFields");
    assert_eq!(serde_json::to_value(&skipped).unwrap(), expected, "{name}: skipped");

    // The same in a list (items decoded one at a time).
    let item = serde_json::to_value(&typed).unwrap();
    let kind = format!("{}List", K::KIND);
    let list = json!({"apiVersion": K::API_VERSION, "kind": kind, "metadata": {"resourceVersion": "7"},
        "items": [item.clone(), item]});
    let pb = from_json(&serde_json::to_vec(&list).unwrap()).unwrap();
    let (meta, items) = decode_list_with::<K>(&pb, DecodeOptions::skipping_managed_fields()).unwrap();
    assert_eq!(meta.resource_version.as_deref(), Some("7"), "{name}");
    assert_eq!(items.len(), 2, "{name}");
    assert_eq!(serde_json::to_value(&items[1]).unwrap(), expected, "{name}: skipped in a list");
    let (_, items) = decode_list_with::<K>(&pb, DecodeOptions::default()).unwrap();
    assert_eq!(items[0], typed, "{name}: kept in a list");
}

#[test]
fn managed_fields_are_skipped_on_the_wire_for_every_kind() {
    use oa::api::{
        apps::v1 as apps, batch::v1 as batch, coordination::v1 as coord, core::v1 as core, events::v1 as events,
    };
    let f = fixtures();
    let get = |k: &str| f.get(k).unwrap_or_else(|| panic!("fixture {k}"));
    skipping::<core::Namespace>("Namespace", get("Namespace"));
    skipping::<core::Node>("Node", get("Node"));
    skipping::<core::Pod>("Pod", get("Pod"));
    skipping::<core::Service>("Service", get("Service"));
    skipping::<core::Endpoints>("Endpoints", get("Endpoints"));
    skipping::<core::ConfigMap>("ConfigMap", get("ConfigMap"));
    skipping::<core::Secret>("Secret", get("Secret"));
    skipping::<core::ServiceAccount>("ServiceAccount", get("ServiceAccount"));
    skipping::<core::Event>("Event", get("Event"));
    skipping::<events::Event>("events.k8s.io/Event", get("events.k8s.io/Event"));
    skipping::<apps::Deployment>("Deployment", get("Deployment"));
    skipping::<apps::ReplicaSet>("ReplicaSet", get("ReplicaSet"));
    skipping::<apps::DaemonSet>("DaemonSet", get("DaemonSet"));
    skipping::<apps::StatefulSet>("StatefulSet", get("StatefulSet"));
    skipping::<batch::Job>("Job", get("Job"));
    skipping::<batch::CronJob>("CronJob", get("CronJob"));
    skipping::<coord::Lease>("Lease", get("Lease"));
    skipping::<oa::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition>(
        "CustomResourceDefinition",
        get("CustomResourceDefinition"),
    );
    skipping::<oa::api::autoscaling::v1::Scale>("Scale", get("Scale"));
}

#[test]
fn kinds_are_lossless_unless_a_reachable_type_has_a_gap() {
    use rkube_protobuf::generated::{GAPS, KIND_GAPS, is_lossless};
    for (g, k) in
        [("", "ConfigMap"), ("", "Secret"), ("", "Service"), ("", "Namespace"), ("coordination.k8s.io", "Lease")]
    {
        assert!(is_lossless(g, k), "{g}/{k}");
    }
    for (g, k) in [("", "Pod"), ("", "Node"), ("apps", "Deployment"), ("batch", "Job"), ("batch", "CronJob")] {
        assert!(!is_lossless(g, k), "{g}/{k}");
    }
    assert!(!is_lossless("example.com", "Widget"), "custom resources have no protobuf");
    for (g, k, gaps) in KIND_GAPS {
        assert!(!is_lossless(g, k) && !gaps.is_empty(), "{g}/{k}");
        assert!(gaps.iter().all(|gap| GAPS.contains(gap)), "{g}/{k}");
    }
    // Deployments carry a pod template, not a pod status.
    let deployment = KIND_GAPS.iter().find(|(g, k, _)| (*g, *k) == ("apps", "Deployment")).unwrap().2;
    assert!(deployment.iter().any(|g| g.contains("PodSpec.scheduling_group")));
    assert!(!deployment.iter().any(|g| g.contains("PodStatus")));
}

#[test]
fn fields_v1_parsed_from_the_wire_keeps_the_generic_conversion_semantics() {
    use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
    use prost::Message;
    let entry = |raw: Option<&[u8]>| pb_meta::ManagedFieldsEntry {
        manager: Some("m".into()),
        fields_type: Some("FieldsV1".into()),
        fields_v1: Some(pb_meta::FieldsV1 { raw: raw.map(<[u8]>::to_vec) }),
        ..Default::default()
    };
    let cm = k8s_pb::api::core::v1::ConfigMap {
        metadata: Some(pb_meta::ObjectMeta {
            name: Some("a".into()),
            managed_fields: vec![
                entry(Some(br#"{"f:data":{}}"#)),
                entry(Some(b"not json")),
                entry(Some(b"")),
                entry(None),
                pb_meta::ManagedFieldsEntry { manager: Some("no-fields".into()), ..Default::default() },
            ],
            ..Default::default()
        }),
        ..Default::default()
    };
    let generic: oa::api::core::v1::ConfigMap = rkube_protobuf::Convert::from_pb(cm.clone());
    let raw = rkube_protobuf::wire::encode_envelope("v1", "ConfigMap", cm.encode_to_vec());
    let from_wire: oa::api::core::v1::ConfigMap = decode(&raw).unwrap();
    assert_eq!(from_wire, generic);
    let mf = from_wire.metadata.managed_fields.unwrap();
    assert_eq!(mf[0].fields_v1.as_ref().unwrap().0, json!({"f:data": {}}));
    assert_eq!(mf[1].fields_v1.as_ref().unwrap().0, json!("not json"));
    assert_eq!(mf[2].fields_v1.as_ref().unwrap().0, Value::Null);
    assert!(mf[4].fields_v1.is_none());
}
