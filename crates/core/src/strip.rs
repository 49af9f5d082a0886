//! Removing `managedFields` from JSON bytes before decoding, so caches that never read them
//! do not pay for decoding them (they are generic JSON to serde and cost more than the rest
//! of a typical pod, in time and memory).

use std::borrow::Cow;

use crate::json_scan::{skip_ws, value_end};

const KEY: &[u8] = b"\"managedFields\"";

/// `json` without any `"managedFields": ...` object member, at any depth. Bytes without the
/// key are returned as they are. Malformed input is returned unchanged from the point where
/// it stops making sense, so the decoder that follows reports the error.
pub fn strip_managed_fields(json: &[u8]) -> Cow<'_, [u8]> {
    let finder = memchr::memmem::Finder::new(KEY);
    let mut hits = finder.find_iter(json).filter(|&at| is_key_at(json, at)).peekable();
    if hits.peek().is_none() {
        return Cow::Borrowed(json);
    }
    let mut out = Vec::with_capacity(json.len());
    let mut copied = 0;
    for at in hits {
        if at < copied {
            // Inside a member already removed (a managedFields value nested in another).
            continue;
        }
        let colon = skip_ws(json, at + KEY.len());
        let end = value_end(json, skip_ws(json, colon + 1)).unwrap_or(json.len());
        let after = skip_ws(json, end);
        out.extend_from_slice(&json[copied..at]);
        if after < json.len() && json[after] == b',' {
            // Drop the member and the comma after it.
            copied = after + 1;
        } else {
            // Last member: drop the comma before it, if any.
            while out.last().is_some_and(|c| c.is_ascii_whitespace()) {
                out.pop();
            }
            if out.last() == Some(&b',') {
                out.pop();
            }
            copied = end;
        }
    }
    out.extend_from_slice(&json[copied..]);
    Cow::Owned(out)
}

/// Whether the `"managedFields"` at `at` is an object key: its quote is not escaped, it
/// follows `{` or `,`, and a `:` follows it. In valid JSON that rules out string contents.
fn is_key_at(json: &[u8], at: usize) -> bool {
    let backslashes = json[..at].iter().rev().take_while(|b| **b == b'\\').count();
    if backslashes % 2 == 1 {
        return false;
    }
    let before = json[..at].iter().rev().find(|b| !b.is_ascii_whitespace());
    if !matches!(before, Some(b'{') | Some(b',')) {
        return false;
    }
    let colon = skip_ws(json, at + KEY.len());
    colon < json.len() && json[colon] == b':'
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    fn strip(v: &Value) -> Value {
        serde_json::from_slice(&strip_managed_fields(v.to_string().as_bytes())).unwrap()
    }

    fn without(mut v: Value) -> Value {
        fn walk(v: &mut Value) {
            match v {
                Value::Object(m) => {
                    m.remove("managedFields");
                    m.values_mut().for_each(walk);
                }
                Value::Array(a) => a.iter_mut().for_each(walk),
                _ => {}
            }
        }
        walk(&mut v);
        v
    }

    #[test]
    fn removes_the_member_wherever_it_sits() {
        let first = json!({"metadata": {"managedFields": [{"manager": "x", "fieldsV1": {"f:a": {}}}], "name": "a"}});
        let last = json!({"metadata": {"name": "a", "managedFields": [{"manager": "kubectl"}]}, "spec": {}});
        let only = json!({"metadata": {"managedFields": []}});
        for v in [first, last, only] {
            assert_eq!(strip(&v), without(v.clone()));
        }
        let pretty = "{ \"metadata\" : { \"name\" : \"a\" ,\n \"managedFields\" : [ {\"a\":\"}]\\\"\"} ] } }";
        let v: Value = serde_json::from_slice(&strip_managed_fields(pretty.as_bytes())).unwrap();
        assert_eq!(v, json!({"metadata": {"name": "a"}}));
    }

    #[test]
    fn leaves_strings_that_mention_the_key_alone() {
        let v = json!({"metadata": {"annotations": {"note": "\"managedFields\": [1]"}, "name": "a"}});
        assert_eq!(strip(&v), v);
        let b = br#"{"a":"x"}"#;
        assert!(matches!(strip_managed_fields(b), Cow::Borrowed(_)));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            "[a-z\"\\\\ ]{0,8}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(
                    prop_oneof![Just("managedFields".to_string()), "[a-z]{1,5}".prop_map(String::from)],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn equals_removing_after_parsing(v in arb_json()) {
            prop_assert_eq!(strip(&v), without(v.clone()));
        }

        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let mut with_key = bytes.clone();
            with_key.extend_from_slice(b"\"managedFields\":");
            with_key.extend_from_slice(&bytes);
            let _ = strip_managed_fields(&bytes);
            let _ = strip_managed_fields(&with_key);
        }
    }
}
