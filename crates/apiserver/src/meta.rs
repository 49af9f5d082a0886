//! Object metadata as the server manages it: names, uids, timestamps, generations and the
//! attributes selectors match on.

use std::collections::BTreeMap;

use rand::Rng;
use serde_json::{Map, Value};

use crate::catalog;
use crate::registry::ServedResource;
use crate::store::Attrs;

/// The current time as the API writes timestamps (RFC 3339, whole seconds, UTC).
pub fn now() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// A name from a generateName prefix: five random characters from kube's alphabet.
pub fn generate_name(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    let suffix: String = (0..5).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("{prefix}{suffix}")
}

/// The `metadata` object of a JSON object, created if missing.
pub fn meta_mut(obj: &mut Map<String, Value>) -> &mut Map<String, Value> {
    let entry = obj.entry("metadata").or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    entry.as_object_mut().expect("just made an object")
}

/// A string field of `metadata`.
pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    obj.get("metadata")?.get(field)?.as_str()
}

/// Labels and field-selector values of an object.
pub fn attrs(res: &ServedResource, obj: &Value) -> Attrs {
    let labels: BTreeMap<String, String> = obj
        .get("metadata")
        .and_then(|m| m.get("labels"))
        .and_then(Value::as_object)
        .map(|l| l.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect())
        .unwrap_or_default();
    let mut fields: BTreeMap<String, String> =
        catalog::field_values(&res.group, &res.plural, obj).into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    if res.builtin.is_none() {
        // Custom resources always carry both, whatever their scope.
        fields.insert("metadata.name".into(), meta_str(obj, "name").unwrap_or_default().into());
        fields.insert("metadata.namespace".into(), meta_str(obj, "namespace").unwrap_or_default().into());
    }
    let owners = obj
        .pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .map(|refs| refs.iter().filter_map(|r| r.get("uid")?.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    Attrs { labels, fields, owners }
}

/// Whether kube-apiserver tracks `metadata.generation` for this resource.
pub fn tracks_generation(res: &ServedResource) -> bool {
    match res.builtin {
        None => true,
        Some(b) => matches!(
            (b.group, b.plural),
            ("", "pods")
                | ("apps", _)
                | ("batch", _)
                | ("apiextensions.k8s.io", _)
                | ("", "services")
                | ("policy", _)
                | ("networking.k8s.io", _)
        ),
    }
}

/// Whether two objects differ outside metadata and status: what bumps the generation.
pub fn spec_changed(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Map<String, Value> {
        let mut m = v.as_object().cloned().unwrap_or_default();
        for k in ["metadata", "status", "apiVersion", "kind"] {
            m.remove(k);
        }
        m
    };
    strip(old) != strip(new)
}

/// Whether two objects are equal apart from their resourceVersion and managedFields.
pub fn same_object(old: &Value, new: &Value) -> bool {
    let strip = |v: &Value| -> Value {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            let meta = meta_mut(m);
            meta.remove("resourceVersion");
            meta.remove("managedFields");
        }
        v
    };
    strip(old) == strip(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn generated_names_use_kube_alphabet() {
        let n = generate_name("web-");
        assert_eq!(n.len(), 9);
        assert!(n[4..].bytes().all(|b| b"bcdfghjklmnpqrstvwxz2456789".contains(&b)));
    }

    #[test]
    fn spec_changes_exclude_metadata_and_status() {
        let a = json!({"metadata": {"labels": {"a": "1"}}, "spec": {"x": 1}, "status": {"s": 1}});
        let b = json!({"metadata": {"labels": {"a": "2"}}, "spec": {"x": 1}, "status": {"s": 2}});
        assert!(!spec_changed(&a, &b));
        let c = json!({"spec": {"x": 2}});
        assert!(spec_changed(&a, &c));
        assert!(same_object(
            &json!({"metadata": {"resourceVersion": "1"}}),
            &json!({"metadata": {"resourceVersion": "2"}})
        ));
    }
}
