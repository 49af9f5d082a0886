//! Collection verbs: list (selectors, pagination with continue tokens, exact and not-older-than
//! resourceVersions) and deletecollection.

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

/// Go's base64.RawURLEncoding: no padding, lenient about trailing bits.
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);
use bytes::{BufMut, Bytes, BytesMut};
use rkube_core::Status;
use rkube_core::options::{DeleteOptions, ListOptions, ResourceVersionMatch};
use rkube_core::query::QueryReader;
use rkube_core::selector::{FieldSelector, LabelSelector};
use rkube_core::status::{StatusCause, reason};
use serde_json::{Value, json};

use crate::catalog;
use crate::objects;
use crate::registry::ServedResource;
use crate::store::{ObjKey, Store, Stored, TooOld};

/// Label and field selectors of a list or watch, validated for the resource.
#[derive(Debug, Clone, Default)]
pub struct Selectors {
    /// Label selector (empty matches everything).
    pub labels: LabelSelector,
    /// Field selector (empty matches everything).
    pub fields: FieldSelector,
}

impl Selectors {
    /// Parses and validates the selectors as kube-apiserver does (400 on bad input).
    pub fn parse(res: &ServedResource, label: Option<&str>, field: Option<&str>) -> Result<Self, Status> {
        let labels = match label {
            Some(l) => LabelSelector::parse(l).map_err(|e| Status::bad_request(label_selector_error(&e)))?,
            None => LabelSelector::everything(),
        };
        let fields = match field {
            Some(f) => {
                let parsed = FieldSelector::parse(f).map_err(|e| Status::bad_request(e.to_string()))?;
                for path in parsed.fields() {
                    let supported = if res.is_builtin() {
                        catalog::is_supported_field_label(&res.group, &res.plural, path)
                    } else {
                        matches!(path, "metadata.name" | "metadata.namespace")
                    };
                    if !supported {
                        return Err(Status::bad_request(format!("field label not supported: {path}")));
                    }
                }
                parsed
            }
            None => FieldSelector::everything(),
        };
        Ok(Self { labels, fields })
    }

    /// Whether an object version matches.
    pub fn matches(&self, res: &ServedResource, stored: &Stored) -> bool {
        let attrs = &stored.attrs;
        self.labels.matches(&attrs.labels)
            && self.fields.matches(&|path: &str| {
                let path = catalog::normalize_field_label(&res.group, &res.plural, path);
                Some(attrs.fields.get(path).cloned().unwrap_or_default())
            })
    }

    /// Whether any selector is set.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty() && self.fields.is_empty()
    }
}

/// A label selector syntax error in apimachinery's words (`unable to parse requirement: found
/// '', expected: ',' or ')'`); other errors keep their own text.
fn label_selector_error(e: &rkube_core::selector::SelectorError) -> String {
    match e {
        rkube_core::selector::SelectorError::Syntax { found, expected, .. } => {
            let lit = if found == "end of string" { "''".to_string() } else { found.clone() };
            format!("unable to parse requirement: found {lit}, expected: {expected}")
        }
        other => other.to_string(),
    }
}

/// Encodes a continue token: the snapshot's resourceVersion and the last key served.
pub fn encode_continue(rv: u64, last: &ObjKey) -> String {
    let token = json!({"v": "meta.k8s.io/v1", "rv": rv, "start": format!("{}\u{0}{}", last.0, last.1)});
    B64URL.encode(token.to_string())
}

/// Decodes a continue token, with kube-apiserver's 400 on garbage.
pub fn decode_continue(token: &str) -> Result<(u64, ObjKey), Status> {
    let bad = |why: &str| Status::bad_request(format!("invalid continue token: {why}"));
    let raw = B64URL
        .decode(token.trim_end_matches('='))
        .map_err(|_| bad("continue key is not valid: illegal base64 data at input byte 0"))?;
    let v: Value = serde_json::from_slice(&raw)
        .map_err(|e| bad(&format!("continue key is not valid: {}", crate::objects::go_json_error(&e, &raw))))?;
    if v["v"] != "meta.k8s.io/v1" {
        return Err(bad("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"));
    }
    let rv = v["rv"]
        .as_u64()
        .filter(|rv| *rv > 0)
        .ok_or_else(|| bad("continue key is not valid: incorrect encoded start resourceVersion"))?;
    let start = v["start"].as_str().ok_or_else(|| bad("continue key is not valid: missing start key"))?;
    let (ns, name) = start.split_once('\u{0}').ok_or_else(|| bad("continue key is not valid: malformed start key"))?;
    Ok((rv, (ns.to_string(), name.to_string())))
}

const CONTINUE_EXPIRED: &str = "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.";

fn parse_rv(value: &str, field: &str) -> Result<u64, Status> {
    value.parse::<u64>().map_err(|_| {
        Status::failure(
            400,
            reason::BAD_REQUEST,
            format!("Invalid value: \"{value}\": {field} must be a resource version (an unsigned integer)"),
        )
    })
}

/// A list read: the page and the metadata to send with it.
pub struct ListResult {
    /// The objects of the page.
    pub items: Vec<(ObjKey, Stored)>,
    /// The list's resourceVersion.
    pub rev: u64,
    /// The continue token for the next page.
    pub continue_token: Option<String>,
    /// Matching objects after this page (when no selector is set, as kube-apiserver reports it).
    pub remaining: Option<usize>,
}

/// Reads a list per the request's options.
pub fn list(
    store: &Store,
    res: &ServedResource,
    namespace: Option<&str>,
    q: &QueryReader,
) -> Result<ListResult, Status> {
    let opts = ListOptions::from_query(q).map_err(|e| Status::bad_request(e.to_string()))?;
    let forbidden = |field: &str, message: &str| {
        Status::invalid(
            "ListOptions",
            "meta.k8s.io",
            "",
            vec![StatusCause {
                reason: "FieldValueForbidden".into(),
                message: format!("Forbidden: {message}"),
                field: field.into(),
            }],
        )
    };
    if q.get("sendInitialEvents").is_some() {
        return Err(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"));
    }
    if opts.resource_version_match.is_some() && opts.continue_token.is_some() {
        return Err(forbidden("resourceVersionMatch", "resourceVersionMatch is forbidden when continue is provided"));
    }
    let sel = Selectors::parse(res, opts.label_selector.as_deref(), opts.field_selector.as_deref())?;
    let limit = opts.limit.filter(|l| *l > 0).map(|l| l as usize).unwrap_or(0);
    let current = store.revision();
    let (at, after) = match (&opts.continue_token, opts.resource_version.as_deref(), opts.resource_version_match) {
        (Some(token), rv, _) => {
            if rv.is_some_and(|rv| !rv.is_empty() && rv != "0") {
                return Err(Status::bad_request("specifying resource version is not allowed when using continue"));
            }
            let (rv, last) = decode_continue(token)?;
            (Some(rv), Some(last))
        }
        (None, Some(rv), Some(ResourceVersionMatch::Exact)) => {
            let rv = parse_rv(rv, "resourceVersion")?;
            if rv > current {
                return Err(too_large(rv, current));
            }
            (Some(rv), None)
        }
        (None, Some(rv), Some(ResourceVersionMatch::NotOlderThan)) => {
            let rv = parse_rv(rv, "resourceVersion")?;
            if rv > current {
                return Err(too_large(rv, current));
            }
            (None, None)
        }
        (None, Some(rv), None) if rv != "0" => {
            // Legacy semantics: "not older than", served from the latest state.
            let rv = parse_rv(rv, "resourceVersion")?;
            if rv > current {
                return Err(too_large(rv, current));
            }
            (None, None)
        }
        (None, None, Some(_)) => {
            return Err(Status::invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                vec![StatusCause {
                    reason: "FieldValueForbidden".into(),
                    message: "Forbidden: resourceVersionMatch is forbidden unless resourceVersion is provided".into(),
                    field: "resourceVersionMatch".into(),
                }],
            ));
        }
        _ => (None, None),
    };
    let page = store.list(&res.storage_key(), namespace, at, after.as_ref(), limit, |s| sel.matches(res, s)).map_err(
        |TooOld { oldest }| match &opts.continue_token {
            Some(_) => Status::expired(CONTINUE_EXPIRED),
            None => Status::expired(format!("too old resource version: {} ({oldest})", at.unwrap_or(0))),
        },
    )?;
    let continue_token = page.more.then(|| page.items.last().map(|(k, _)| encode_continue(page.rev, k))).flatten();
    let remaining = (page.remaining > 0 && sel.is_empty()).then_some(page.remaining);
    Ok(ListResult { items: page.items, rev: page.rev, continue_token, remaining })
}

fn too_large(rv: u64, current: u64) -> Status {
    let mut s = Status::failure(504, reason::TIMEOUT, format!("Too large resource version: {rv}, current: {current}"));
    s.details = Some(rkube_core::status::StatusDetails {
        causes: vec![StatusCause {
            reason: "ResourceVersionTooLarge".into(),
            message: "Too large resource version".into(),
            field: String::new(),
        }],
        retry_after_seconds: Some(1),
        ..Default::default()
    });
    s
}

/// Writes a list body from stored bytes without re-encoding the items.
pub fn list_body(res: &ServedResource, result: &ListResult) -> Bytes {
    let size: usize = result.items.iter().map(|(_, s)| s.bytes.len() + 1).sum();
    let mut out = BytesMut::with_capacity(size + 256);
    let mut meta = json!({"resourceVersion": result.rev.to_string()});
    match &result.continue_token {
        Some(c) => meta["continue"] = c.clone().into(),
        // Custom resources are listed as unstructured objects, which keep an empty continue.
        None if !res.is_builtin() => meta["continue"] = "".into(),
        None => {}
    }
    if let Some(r) = result.remaining {
        meta["remainingItemCount"] = r.into();
    }
    out.put_slice(
        format!(r#"{{"kind":"{}","apiVersion":"{}","metadata":{},"items":["#, res.list_kind, res.api_version(), meta)
            .as_bytes(),
    );
    for (i, (_, s)) in result.items.iter().enumerate() {
        if i > 0 {
            out.put_u8(b',');
        }
        out.put_slice(&objects::served_as(res, s.bytes.clone()));
    }
    out.put_slice(b"]}");
    out.freeze()
}

/// DELETE on a collection: deletes every matching object; answers with the list of them.
pub fn delete_collection(
    store: &Store,
    res: &ServedResource,
    namespace: Option<&str>,
    q: &QueryReader,
    opts: &DeleteOptions,
) -> Result<Bytes, Status> {
    let found = list(store, res, namespace, q)?;
    let mut deleted = Vec::new();
    for (key, _) in &found.items {
        match objects::delete(store, res, key, opts) {
            Ok(objects::Deleted::Gone(s)) => deleted.push((key.clone(), s)),
            Ok(objects::Deleted::Terminating(bytes)) => {
                deleted.push((key.clone(), Stored { bytes, rv: 0, attrs: Default::default() }))
            }
            Err(e) if e.code == 404 => {}
            Err(e) => return Err(e),
        }
    }
    let result = ListResult { items: deleted, rev: store.revision(), continue_token: None, remaining: None };
    Ok(list_body(res, &result))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continue_tokens_round_trip_and_reject_garbage() {
        let t = encode_continue(42, &("ns".into(), "name".into()));
        assert_eq!(decode_continue(&t).unwrap(), (42, ("ns".into(), "name".into())));
        let e = decode_continue("gibberish!").unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.starts_with("invalid continue token"), "{}", e.message);
        assert!(decode_continue(&B64URL.encode("{}")).is_err());
    }
}
