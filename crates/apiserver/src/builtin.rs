//! Validation of built-in kinds: a body is decoded into its k8s-openapi type and stored as
//! that type re-encodes it, which prunes unknown fields and rejects ill-typed ones.

use k8s_openapi::api::autoscaling::v1 as autoscaling;
use k8s_openapi::api::{apps, batch, coordination, core, events};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1 as apiextensions;
use serde_json::Value;

/// Round-trips `value` through the typed representation of `group/kind`. Returns `None` for
/// kinds without a typed representation (custom resources). The error is serde's message,
/// which names the offending field.
pub fn normalize(group: &str, kind: &str, value: Value) -> Option<Result<Value, String>> {
    fn via<T: serde::de::DeserializeOwned + serde::Serialize>(value: Value) -> Result<Value, String> {
        let typed: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
        serde_json::to_value(&typed).map_err(|e| e.to_string())
    }
    Some(match (group, kind) {
        ("", "Namespace") => via::<core::v1::Namespace>(value),
        ("", "Node") => via::<core::v1::Node>(value),
        ("", "Pod") => via::<core::v1::Pod>(value),
        ("", "Service") => via::<core::v1::Service>(value),
        ("", "Endpoints") => via::<core::v1::Endpoints>(value),
        ("", "ConfigMap") => via::<core::v1::ConfigMap>(value),
        ("", "Secret") => via::<core::v1::Secret>(value),
        ("", "ServiceAccount") => via::<core::v1::ServiceAccount>(value),
        ("", "Event") => via::<core::v1::Event>(value),
        ("events.k8s.io", "Event") => via::<events::v1::Event>(value),
        ("apps", "Deployment") => via::<apps::v1::Deployment>(value),
        ("apps", "ReplicaSet") => via::<apps::v1::ReplicaSet>(value),
        ("apps", "DaemonSet") => via::<apps::v1::DaemonSet>(value),
        ("apps", "StatefulSet") => via::<apps::v1::StatefulSet>(value),
        ("batch", "Job") => via::<batch::v1::Job>(value),
        ("batch", "CronJob") => via::<batch::v1::CronJob>(value),
        ("coordination.k8s.io", "Lease") => via::<coordination::v1::Lease>(value),
        ("apiextensions.k8s.io", "CustomResourceDefinition") => via::<apiextensions::CustomResourceDefinition>(value),
        ("autoscaling", "Scale") => via::<autoscaling::Scale>(value),
        _ => return None,
    })
}

/// Paths of fields present in `input` but dropped by the typed round trip (`output`): the
/// unknown fields a strict decoder reports, e.g. `spec.x`.
pub fn unknown_fields(input: &Value, output: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk(input, output, String::new(), &mut out);
    out
}

fn walk(input: &Value, output: &Value, path: String, out: &mut Vec<String>) {
    match (input, output) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in a {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                match b.get(k) {
                    Some(w) => walk(v, w, p, out),
                    None if v.is_null() => {}
                    None => out.push(p),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for (i, (v, w)) in a.iter().zip(b).enumerate() {
                walk(v, w, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_round_trip_prunes_and_reports_unknown_fields() {
        let input = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "bogus": 1},
            "data": {"k": "v"}, "extra": {"x": 1}});
        let out = normalize("", "ConfigMap", input.clone()).unwrap().unwrap();
        assert_eq!(
            out,
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}})
        );
        assert_eq!(unknown_fields(&input, &out), ["extra", "metadata.bogus"]);
    }

    #[test]
    fn ill_typed_fields_are_named() {
        let err = normalize("apps", "Deployment", json!({"spec": {"replicas": "three"}})).unwrap().unwrap_err();
        assert!(err.contains("invalid type"), "{err}");
        assert!(normalize("example.com", "Foo", json!({})).is_none());
    }
}
