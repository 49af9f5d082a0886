//! Structural-schema handling of custom resources, as kube-apiserver's apiextensions code does
//! it for a CRD version's `openAPIV3Schema`: pruning of unknown fields (reported for
//! `fieldValidation`), defaulting, and validation with the field errors and messages of
//! kube-openapi's validator (`spec.size in body should be less than or equal to 10` ...).
//!
//! Supported keywords: `type`, `nullable`, `properties`, `additionalProperties`, `items`,
//! `required`, `enum`, `minimum` / `maximum` (and the exclusive forms), `minItems` /
//! `maxItems`, `minLength` / `maxLength`, `minProperties` / `maxProperties`, `default`,
//! `x-kubernetes-preserve-unknown-fields`, `x-kubernetes-int-or-string` and
//! `x-kubernetes-embedded-resource`. Other keywords are accepted and ignored.

use rkube_core::status::StatusCause;
use serde_json::{Map, Value};

/// Removes fields the schema does not declare; returns their paths (`spec.extra`).
/// `apiVersion`, `kind` and `metadata` at the root are always kept.
pub fn prune(schema: &Value, obj: &mut Value) -> Vec<String> {
    let mut pruned = Vec::new();
    if let Some(map) = obj.as_object_mut() {
        for (k, v) in map.iter_mut() {
            if matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                continue;
            }
            if let Some(s) = property(schema, k) {
                prune_at(s, v, k, &mut pruned);
            }
        }
        if !preserves(schema) {
            let unknown: Vec<String> = map
                .keys()
                .filter(|k| !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") && property(schema, k).is_none())
                .cloned()
                .collect();
            for k in unknown {
                map.remove(&k);
                pruned.push(k);
            }
        }
    }
    pruned
}

fn preserves(schema: &Value) -> bool {
    schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true))
}

/// The schema of property `name` of an object schema: declared, or `additionalProperties`.
fn property<'a>(schema: &'a Value, name: &str) -> Option<&'a Value> {
    if let Some(p) = schema.get("properties").and_then(|p| p.get(name)) {
        return Some(p);
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(true)) => Some(&Value::Null),
        Some(s @ Value::Object(_)) => Some(s),
        _ if preserves(schema) => Some(&Value::Null),
        _ => None,
    }
}

fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() { key.to_string() } else { format!("{path}.{key}") }
}

fn prune_at(schema: &Value, value: &mut Value, path: &str, pruned: &mut Vec<String>) {
    if schema.is_null() {
        return;
    }
    match value {
        Value::Object(map) => {
            let embedded = schema.get("x-kubernetes-embedded-resource") == Some(&Value::Bool(true));
            let has_structure = schema.get("properties").is_some() || schema.get("additionalProperties").is_some();
            let mut unknown = Vec::new();
            for (k, v) in map.iter_mut() {
                if embedded && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                match property(schema, k) {
                    Some(s) => prune_at(s, v, &child_path(path, k), pruned),
                    None if has_structure || !preserves(schema) => unknown.push(k.clone()),
                    None => {}
                }
            }
            if !preserves(schema) {
                for k in unknown {
                    map.remove(&k);
                    pruned.push(child_path(path, &k));
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, v) in items.iter_mut().enumerate() {
                    prune_at(item_schema, v, &format!("{path}[{i}]"), pruned);
                }
            }
        }
        _ => {}
    }
}

/// Fills in `default` values of absent properties, recursively, below existing objects.
pub fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Object(props)) = schema.get("properties") {
                for (k, s) in props {
                    if !map.contains_key(k) {
                        if let Some(d) = s.get("default") {
                            map.insert(k.clone(), d.clone());
                        }
                    }
                }
                for (k, s) in props {
                    if let Some(v) = map.get_mut(k) {
                        apply_defaults(s, v);
                    }
                }
            } else if let Some(s @ Value::Object(_)) = schema.get("additionalProperties") {
                for v in map.values_mut() {
                    apply_defaults(s, v);
                }
            }
        }
        Value::Array(items) => {
            if let Some(s) = schema.get("items") {
                for v in items {
                    apply_defaults(s, v);
                }
            }
        }
        _ => {}
    }
}

/// Validates a custom object (everything but `apiVersion`, `kind` and `metadata`).
pub fn validate(schema: &Value, obj: &Value) -> Vec<StatusCause> {
    let mut out = Vec::new();
    let Some(map) = obj.as_object() else { return out };
    let mut root = Map::new();
    for (k, v) in map {
        if !matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
            root.insert(k.clone(), v.clone());
        }
    }
    let mut schema = schema.clone();
    if let Some(s) = schema.as_object_mut() {
        // The root's own metadata requirements are ObjectMeta's, not the schema's.
        if let Some(Value::Array(req)) = s.get_mut("required") {
            req.retain(|r| !matches!(r.as_str(), Some("apiVersion" | "kind" | "metadata")));
        }
    }
    check(&schema, &Value::Object(root), "", &mut out);
    out
}

fn cause(reason: &str, field: &str, message: String) -> StatusCause {
    StatusCause { reason: reason.into(), message, field: field.into() }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn type_matches(want: &str, v: &Value) -> bool {
    match want {
        "object" => v.is_object(),
        "array" => v.is_array(),
        "string" => v.is_string(),
        "boolean" => v.is_boolean(),
        "integer" => v.as_f64().is_some_and(|f| f.fract() == 0.0),
        "number" => v.is_number(),
        _ => true,
    }
}

fn shown(v: &Value) -> String {
    // Go's %v of the value as the validator prints it: strings quoted, numbers bare.
    v.to_string()
}

fn number(v: &Value) -> String {
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
        Some(f) => f.to_string(),
        None => v.to_string(),
    }
}

fn check(schema: &Value, v: &Value, path: &str, out: &mut Vec<StatusCause>) {
    if schema.is_null() || !schema.is_object() {
        return;
    }
    if v.is_null() && (schema.get("nullable") == Some(&Value::Bool(true)) || schema.get("type").is_none()) {
        return;
    }
    let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
    if int_or_string {
        if !(v.is_string() || type_matches("integer", v)) {
            let t = type_name(v);
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!("Invalid value: \"{t}\": {path} in body must be of type integer,string: \"{t}\""),
            ));
            return;
        }
    } else if let Some(want) = schema.get("type").and_then(Value::as_str) {
        if !type_matches(want, v) {
            let t = type_name(v);
            out.push(cause(
                "FieldValueTypeInvalid",
                path,
                format!("Invalid value: \"{t}\": {path} in body must be of type {want}: \"{t}\""),
            ));
            return;
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum") {
        if !allowed.contains(v) {
            let list: Vec<String> = allowed.iter().map(shown).collect();
            out.push(cause(
                "FieldValueNotSupported",
                path,
                format!("Unsupported value: {}: supported values: {}", shown(v), list.join(", ")),
            ));
        }
    }
    if let Some(x) = v.as_f64() {
        let exclusive = |k: &str| schema.get(k) == Some(&Value::Bool(true));
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64) {
            let bad = if exclusive("exclusiveMaximum") { x >= max } else { x > max };
            if bad {
                let rel = if exclusive("exclusiveMaximum") { "less than" } else { "less than or equal to" };
                out.push(cause(
                    "FieldValueInvalid",
                    path,
                    format!(
                        "Invalid value: {}: {path} in body should be {rel} {}",
                        number(v),
                        number(&schema["maximum"])
                    ),
                ));
            }
        }
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64) {
            let bad = if exclusive("exclusiveMinimum") { x <= min } else { x < min };
            if bad {
                let rel = if exclusive("exclusiveMinimum") { "greater than" } else { "greater than or equal to" };
                out.push(cause(
                    "FieldValueInvalid",
                    path,
                    format!(
                        "Invalid value: {}: {path} in body should be {rel} {}",
                        number(v),
                        number(&schema["minimum"])
                    ),
                ));
            }
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            if len > max {
                out.push(cause("FieldValueTooLong", path, format!("Too long: may not be more than {max} bytes")));
            }
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
            if len < min {
                out.push(cause(
                    "FieldValueInvalid",
                    path,
                    format!("Invalid value: {}: {path} in body should be at least {min} chars long", shown(v)),
                ));
            }
        }
    }
    match v {
        Value::Array(items) => {
            let n = items.len() as u64;
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64) {
                if n > max {
                    out.push(cause("FieldValueTooMany", path, format!("Too many: {n}: must have at most {max} items")));
                }
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
                if n < min {
                    out.push(cause(
                        "FieldValueInvalid",
                        path,
                        format!("Invalid value: {n}: {path} in body should have at least {min} items"),
                    ));
                }
            }
            if let Some(s) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(s, item, &format!("{path}[{i}]"), out);
                }
            }
        }
        Value::Object(map) => {
            for r in schema.get("required").and_then(Value::as_array).into_iter().flatten() {
                if let Some(name) = r.as_str() {
                    if !map.contains_key(name) {
                        out.push(cause("FieldValueRequired", &child_path(path, name), "Required value".into()));
                    }
                }
            }
            let n = map.len() as u64;
            if let Some(max) = schema.get("maxProperties").and_then(Value::as_u64) {
                if n > max {
                    out.push(cause("FieldValueTooMany", path, format!("Too many: {n}: must have at most {max} items")));
                }
            }
            if let Some(min) = schema.get("minProperties").and_then(Value::as_u64) {
                if n < min {
                    out.push(cause(
                        "FieldValueInvalid",
                        path,
                        format!("Invalid value: {n}: {path} in body should have at least {min} properties"),
                    ));
                }
            }
            for (k, item) in map {
                if let Some(s) = schema.get("properties").and_then(|p| p.get(k)) {
                    check(s, item, &child_path(path, k), out);
                } else if let Some(s @ Value::Object(_)) = schema.get("additionalProperties") {
                    check(s, item, &child_path(path, k), out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1, "maximum": 10},
                "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}},
            "status": {"type": "object", "properties": {"ready": {"type": "boolean"}}}}})
    }

    #[test]
    fn prunes_unknown_fields_and_keeps_preserved_ones() {
        let mut obj = json!({"apiVersion": "a/v1", "kind": "W", "metadata": {"name": "x"}, "top": 1,
                             "spec": {"size": 1, "extra": 2, "free": {"any": {"x": 1}}}});
        let pruned = prune(&schema(), &mut obj);
        assert_eq!(pruned, ["spec.extra", "top"]);
        assert_eq!(obj["spec"], json!({"size": 1, "free": {"any": {"x": 1}}}));
        assert_eq!(obj["metadata"]["name"], "x");
    }

    #[test]
    fn defaults_absent_properties() {
        let mut obj = json!({"spec": {"size": 1}});
        apply_defaults(&schema(), &mut obj);
        assert_eq!(obj["spec"]["color"], "red");
        let mut none = json!({});
        apply_defaults(&schema(), &mut none);
        assert_eq!(none, json!({}), "defaults apply below existing objects only");
    }

    #[test]
    fn validation_messages_match_kube_openapi() {
        let obj = json!({"spec": {"size": 30, "color": "green", "tags": ["a", "b", "c", "d"]}});
        let msgs: Vec<String> =
            validate(&schema(), &obj).iter().map(|c| format!("{}: {}", c.field, c.message)).collect();
        assert_eq!(
            msgs,
            [
                "spec.color: Unsupported value: \"green\": supported values: \"red\", \"blue\"",
                "spec.size: Invalid value: 30: spec.size in body should be less than or equal to 10",
                "spec.tags: Too many: 4: must have at most 3 items",
            ]
        );
        let missing = validate(&schema(), &json!({"spec": {"color": "blue"}}));
        assert_eq!((missing[0].field.as_str(), missing[0].message.as_str()), ("spec.size", "Required value"));
        let typed = validate(&schema(), &json!({"spec": {"size": "three"}}));
        assert_eq!(
            typed[0].message,
            "Invalid value: \"string\": spec.size in body must be of type integer: \"string\""
        );
        assert!(validate(&schema(), &json!({"apiVersion": "x", "spec": {"size": 3}})).is_empty());
    }
}
