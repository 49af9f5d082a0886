//! Request options of every verb, encoded to the exact query parameters kube-apiserver reads
//! and decoded back from a query string (the embedded server uses the same types).

use serde::{Deserialize, Serialize};

use crate::query::{QueryError, QueryReader, QueryWriter};

/// How a list or watch interprets `resourceVersion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceVersionMatch {
    /// Data at least as new as the given resourceVersion.
    NotOlderThan,
    /// Data at exactly the given resourceVersion.
    Exact,
}

impl ResourceVersionMatch {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotOlderThan => "NotOlderThan",
            Self::Exact => "Exact",
        }
    }

    fn parse(value: &str) -> Result<Option<Self>, QueryError> {
        match value {
            "" => Ok(None),
            "NotOlderThan" => Ok(Some(Self::NotOlderThan)),
            "Exact" => Ok(Some(Self::Exact)),
            other => Err(QueryError {
                param: "resourceVersionMatch".into(),
                value: other.into(),
                reason: "must be NotOlderThan or Exact".into(),
            }),
        }
    }
}

/// Options of a list request (`metav1.ListOptions` without the watch fields).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListOptions {
    /// Only objects whose labels match.
    pub label_selector: Option<String>,
    /// Only objects whose fields match.
    pub field_selector: Option<String>,
    /// Page size; `None` or 0 lists everything.
    pub limit: Option<i64>,
    /// The continue token of the previous page.
    pub continue_token: Option<String>,
    /// `None`: the latest data; `"0"`: any data the server has; otherwise see `resource_version_match`.
    pub resource_version: Option<String>,
    /// How `resource_version` is interpreted.
    pub resource_version_match: Option<ResourceVersionMatch>,
    /// Server-side timeout of the request.
    pub timeout_seconds: Option<i64>,
}

impl ListOptions {
    /// Only objects matching a label selector (builder style).
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Only objects matching a field selector (builder style).
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// Pages of at most `limit` objects (builder style).
    pub fn limit(mut self, limit: i64) -> Self {
        self.limit = Some(limit);
        self
    }

    /// Continues a paginated list (builder style).
    pub fn continue_from(mut self, token: impl Into<String>) -> Self {
        self.continue_token = Some(token.into());
        self
    }

    /// Reads at a resourceVersion (builder style).
    pub fn at(mut self, resource_version: impl Into<String>, matching: Option<ResourceVersionMatch>) -> Self {
        self.resource_version = Some(resource_version.into());
        self.resource_version_match = matching;
        self
    }

    fn write(&self, q: &mut QueryWriter) {
        q.push_opt("labelSelector", self.label_selector.as_deref());
        q.push_opt("fieldSelector", self.field_selector.as_deref());
        if let Some(limit) = self.limit.filter(|l| *l > 0) {
            q.push("limit", limit.to_string());
        }
        q.push_opt("continue", self.continue_token.as_deref());
        q.push_opt("resourceVersion", self.resource_version.as_deref());
        if let Some(m) = self.resource_version_match {
            q.push("resourceVersionMatch", m.as_str());
        }
        if let Some(t) = self.timeout_seconds {
            q.push("timeoutSeconds", t.to_string());
        }
    }

    /// The query string (without '?').
    pub fn to_query(&self) -> String {
        let mut q = QueryWriter::default();
        self.write(&mut q);
        q.finish()
    }

    /// Reads the options back from parsed query parameters.
    pub fn from_query(q: &QueryReader) -> Result<Self, QueryError> {
        Ok(Self {
            label_selector: q.string("labelSelector"),
            field_selector: q.string("fieldSelector"),
            limit: q.int("limit")?,
            continue_token: q.string("continue"),
            resource_version: q.string("resourceVersion"),
            resource_version_match: ResourceVersionMatch::parse(q.get("resourceVersionMatch").unwrap_or(""))?,
            timeout_seconds: q.int("timeoutSeconds")?,
        })
    }
}

/// Options of a watch request (`metav1.ListOptions` with `watch=true`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchOptions {
    /// Only objects whose labels match.
    pub label_selector: Option<String>,
    /// Only objects whose fields match.
    pub field_selector: Option<String>,
    /// Start after this resourceVersion; `None`/"0" first sends the current objects as ADDED.
    pub resource_version: Option<String>,
    /// Used with `send_initial_events` (must be NotOlderThan then).
    pub resource_version_match: Option<ResourceVersionMatch>,
    /// Server-side timeout; the server ends the watch after it.
    pub timeout_seconds: Option<i64>,
    /// Ask for BOOKMARK events.
    pub allow_watch_bookmarks: bool,
    /// Ask for the current objects first, ended by a bookmark (watch-list streaming).
    pub send_initial_events: Option<bool>,
}

impl WatchOptions {
    /// Only objects matching a label selector (builder style).
    pub fn labels(mut self, selector: impl Into<String>) -> Self {
        self.label_selector = Some(selector.into());
        self
    }

    /// Only objects matching a field selector (builder style).
    pub fn fields(mut self, selector: impl Into<String>) -> Self {
        self.field_selector = Some(selector.into());
        self
    }

    /// Watch from a resourceVersion (builder style).
    pub fn from_version(mut self, resource_version: impl Into<String>) -> Self {
        self.resource_version = Some(resource_version.into());
        self
    }

    /// Ask for bookmarks (builder style).
    pub fn bookmarks(mut self) -> Self {
        self.allow_watch_bookmarks = true;
        self
    }

    /// Server-side timeout (builder style).
    pub fn timeout(mut self, seconds: i64) -> Self {
        self.timeout_seconds = Some(seconds);
        self
    }

    /// Stream the current objects first, then changes (watch-list; builder style).
    pub fn streaming_list(mut self) -> Self {
        self.send_initial_events = Some(true);
        self.resource_version_match = Some(ResourceVersionMatch::NotOlderThan);
        self.allow_watch_bookmarks = true;
        self
    }

    /// The query string (without '?'), including `watch=true`.
    pub fn to_query(&self) -> String {
        let mut q = QueryWriter::default();
        q.push("watch", "true");
        q.push_opt("labelSelector", self.label_selector.as_deref());
        q.push_opt("fieldSelector", self.field_selector.as_deref());
        q.push_opt("resourceVersion", self.resource_version.as_deref());
        if let Some(m) = self.resource_version_match {
            q.push("resourceVersionMatch", m.as_str());
        }
        if let Some(t) = self.timeout_seconds {
            q.push("timeoutSeconds", t.to_string());
        }
        if self.allow_watch_bookmarks {
            q.push("allowWatchBookmarks", "true");
        }
        if let Some(s) = self.send_initial_events {
            q.push("sendInitialEvents", s.to_string());
        }
        q.finish()
    }

    /// Reads the options back from parsed query parameters.
    pub fn from_query(q: &QueryReader) -> Result<Self, QueryError> {
        Ok(Self {
            label_selector: q.string("labelSelector"),
            field_selector: q.string("fieldSelector"),
            resource_version: q.string("resourceVersion"),
            resource_version_match: ResourceVersionMatch::parse(q.get("resourceVersionMatch").unwrap_or(""))?,
            timeout_seconds: q.int("timeoutSeconds")?,
            allow_watch_bookmarks: q.bool("allowWatchBookmarks")?.unwrap_or(false),
            send_initial_events: q.bool("sendInitialEvents")?,
        })
    }
}

/// Options of a get request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GetOptions {
    /// `"0"` allows a cached answer; `None` reads the latest.
    pub resource_version: Option<String>,
}

impl GetOptions {
    /// The query string (without '?').
    pub fn to_query(&self) -> String {
        let mut q = QueryWriter::default();
        q.push_opt("resourceVersion", self.resource_version.as_deref());
        q.finish()
    }

    /// Reads the options back from parsed query parameters.
    pub fn from_query(q: &QueryReader) -> Self {
        Self { resource_version: q.string("resourceVersion") }
    }
}

/// How the server treats unknown or duplicate fields in a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldValidation {
    /// Drop them silently.
    Ignore,
    /// Accept the write and report them in Warning headers.
    Warn,
    /// Reject the write with 400.
    Strict,
}

impl FieldValidation {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ignore => "Ignore",
            Self::Warn => "Warn",
            Self::Strict => "Strict",
        }
    }

    fn parse(value: Option<&str>) -> Result<Option<Self>, QueryError> {
        match value {
            None | Some("") => Ok(None),
            Some("Ignore") => Ok(Some(Self::Ignore)),
            Some("Warn") => Ok(Some(Self::Warn)),
            Some("Strict") => Ok(Some(Self::Strict)),
            Some(other) => Err(QueryError {
                param: "fieldValidation".into(),
                value: other.into(),
                reason: "must be Ignore, Warn or Strict".into(),
            }),
        }
    }
}

/// Options shared by create, update and patch (`CreateOptions`, `UpdateOptions`, `PatchOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Validate and answer without persisting (`dryRun=All`).
    pub dry_run: bool,
    /// The name recorded in managedFields.
    pub field_manager: Option<String>,
    /// Unknown/duplicate field handling.
    pub field_validation: Option<FieldValidation>,
    /// Server-side apply only: take ownership of conflicting fields.
    pub force: Option<bool>,
}

/// Options of a create request.
pub type CreateOptions = WriteOptions;
/// Options of an update (replace) request.
pub type UpdateOptions = WriteOptions;
/// Options of a patch request.
pub type PatchOptions = WriteOptions;

impl WriteOptions {
    /// Server-side apply options with a field manager (required by apply) and force.
    pub fn apply(field_manager: impl Into<String>, force: bool) -> Self {
        Self { field_manager: Some(field_manager.into()), force: Some(force), ..Self::default() }
    }

    /// The query string (without '?').
    pub fn to_query(&self) -> String {
        let mut q = QueryWriter::default();
        if self.dry_run {
            q.push("dryRun", "All");
        }
        q.push_opt("fieldManager", self.field_manager.as_deref());
        if let Some(v) = self.field_validation {
            q.push("fieldValidation", v.as_str());
        }
        if let Some(f) = self.force {
            q.push("force", f.to_string());
        }
        q.finish()
    }

    /// Reads the options back; `dryRun` accepts only `All` as kube-apiserver does.
    pub fn from_query(q: &QueryReader) -> Result<Self, QueryError> {
        let mut dry_run = false;
        for v in q.all("dryRun") {
            match v {
                "All" => dry_run = true,
                "" => {}
                other => {
                    return Err(QueryError {
                        param: "dryRun".into(),
                        value: other.into(),
                        reason: "only All is supported".into(),
                    });
                }
            }
        }
        Ok(Self {
            dry_run,
            field_manager: q.string("fieldManager"),
            field_validation: FieldValidation::parse(q.get("fieldValidation"))?,
            force: q.bool("force")?,
        })
    }
}

/// What happens to dependents of a deleted object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum PropagationPolicy {
    /// Dependents are orphaned (their ownerReferences removed).
    Orphan,
    /// The object goes at once; the garbage collector deletes dependents later.
    Background,
    /// The object stays (with the foregroundDeletion finalizer) until its dependents are gone.
    Foreground,
}

/// Conditions that must hold for a delete to proceed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preconditions {
    /// The object's uid must be this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<String>,
    /// The object's resourceVersion must be this.
    #[serde(rename = "resourceVersion", skip_serializing_if = "Option::is_none")]
    pub resource_version: Option<String>,
}

/// Options of a delete or deletecollection request, sent as the JSON body as client-go does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeleteOptions {
    /// Seconds before the object is deleted; 0 deletes immediately.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period_seconds: Option<i64>,
    /// What happens to dependents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub propagation_policy: Option<PropagationPolicy>,
    /// Conditions for the delete.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preconditions: Option<Preconditions>,
    /// `["All"]` for a dry run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dry_run: Vec<String>,
}

impl DeleteOptions {
    /// Delete dependents in the background (builder style).
    pub fn background() -> Self {
        Self { propagation_policy: Some(PropagationPolicy::Background), ..Self::default() }
    }

    /// Delete dependents first (builder style).
    pub fn foreground() -> Self {
        Self { propagation_policy: Some(PropagationPolicy::Foreground), ..Self::default() }
    }

    /// Orphan dependents (builder style).
    pub fn orphan() -> Self {
        Self { propagation_policy: Some(PropagationPolicy::Orphan), ..Self::default() }
    }

    /// Only delete this exact version of the object (builder style).
    pub fn precondition(mut self, uid: Option<String>, resource_version: Option<String>) -> Self {
        self.preconditions = Some(Preconditions { uid, resource_version });
        self
    }

    /// The JSON body, with the type meta kube-apiserver expects.
    pub fn to_body(&self) -> serde_json::Value {
        let mut v = serde_json::to_value(self).unwrap_or_default();
        if let Some(map) = v.as_object_mut() {
            map.insert("kind".into(), "DeleteOptions".into());
            map.insert("apiVersion".into(), "v1".into());
        }
        v
    }

    /// Merges the query-parameter form (`gracePeriodSeconds`, `propagationPolicy`, `dryRun`)
    /// that kube-apiserver also accepts on deletes.
    pub fn merge_query(mut self, q: &QueryReader) -> Result<Self, QueryError> {
        if let Some(g) = q.int("gracePeriodSeconds")? {
            self.grace_period_seconds = Some(g);
        }
        if let Some(p) = q.get("propagationPolicy").filter(|p| !p.is_empty()) {
            self.propagation_policy = Some(match p {
                "Orphan" => PropagationPolicy::Orphan,
                "Background" => PropagationPolicy::Background,
                "Foreground" => PropagationPolicy::Foreground,
                other => {
                    return Err(QueryError {
                        param: "propagationPolicy".into(),
                        value: other.into(),
                        reason: "must be Orphan, Background or Foreground".into(),
                    });
                }
            });
        }
        if q.all("dryRun").any(|v| v == "All") {
            self.dry_run = vec!["All".into()];
        }
        Ok(self)
    }

    /// Whether this is a dry run.
    pub fn is_dry_run(&self) -> bool {
        self.dry_run.iter().any(|v| v == "All")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn list_options_encode_like_client_go() {
        assert_eq!(ListOptions::default().to_query(), "");
        let opts =
            ListOptions::default().labels("app=web,tier!=db").fields("spec.nodeName=n1").limit(500).at("0", None);
        assert_eq!(
            opts.to_query(),
            "fieldSelector=spec.nodeName%3Dn1&labelSelector=app%3Dweb%2Ctier%21%3Ddb&limit=500&resourceVersion=0"
        );
        assert_eq!(ListOptions::default().limit(0).to_query(), "", "limit 0 is omitted");
        let exact = ListOptions::default().at("42", Some(ResourceVersionMatch::Exact)).continue_from("tok en");
        assert_eq!(exact.to_query(), "continue=tok+en&resourceVersion=42&resourceVersionMatch=Exact");
    }

    #[test]
    fn watch_options_encode_like_client_go() {
        let w = WatchOptions::default().from_version("10").bookmarks().timeout(300);
        assert_eq!(w.to_query(), "allowWatchBookmarks=true&resourceVersion=10&timeoutSeconds=300&watch=true");
        let s = WatchOptions::default().streaming_list();
        assert_eq!(
            s.to_query(),
            "allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan&sendInitialEvents=true&watch=true"
        );
    }

    #[test]
    fn options_round_trip_through_the_query() {
        let opts = ListOptions {
            label_selector: Some("a in (x,y)".into()),
            field_selector: Some("metadata.name=z".into()),
            limit: Some(7),
            continue_token: Some("eyJ2IjoibWV0YS5rOHMuaW8vdjEifQ==".into()),
            resource_version: Some("99".into()),
            resource_version_match: Some(ResourceVersionMatch::NotOlderThan),
            timeout_seconds: Some(30),
        };
        assert_eq!(ListOptions::from_query(&QueryReader::parse(&opts.to_query())).unwrap(), opts);
        let w = WatchOptions::default().labels("a").streaming_list().timeout(5);
        assert_eq!(WatchOptions::from_query(&QueryReader::parse(&w.to_query())).unwrap(), w);
        let wr = WriteOptions {
            dry_run: true,
            field_manager: Some("me".into()),
            field_validation: Some(FieldValidation::Strict),
            force: Some(true),
        };
        assert_eq!(wr.to_query(), "dryRun=All&fieldManager=me&fieldValidation=Strict&force=true");
        assert_eq!(WriteOptions::from_query(&QueryReader::parse(&wr.to_query())).unwrap(), wr);
    }

    #[test]
    fn bad_values_name_the_parameter() {
        let e = ListOptions::from_query(&QueryReader::parse("limit=ten")).unwrap_err();
        assert_eq!(e.param, "limit");
        let e = ListOptions::from_query(&QueryReader::parse("resourceVersionMatch=Newest")).unwrap_err();
        assert!(e.to_string().contains("resourceVersionMatch"), "{e}");
        let e = WriteOptions::from_query(&QueryReader::parse("dryRun=Some")).unwrap_err();
        assert_eq!(e.param, "dryRun");
        let e = WriteOptions::from_query(&QueryReader::parse("fieldValidation=Loose")).unwrap_err();
        assert_eq!(e.param, "fieldValidation");
    }

    #[test]
    fn delete_options_body_and_query() {
        let d = DeleteOptions::foreground().precondition(Some("u1".into()), None);
        assert_eq!(
            d.to_body(),
            serde_json::json!({"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground", "preconditions": {"uid": "u1"}})
        );
        let from_q = DeleteOptions::default()
            .merge_query(&QueryReader::parse("gracePeriodSeconds=0&propagationPolicy=Orphan&dryRun=All"))
            .unwrap();
        assert_eq!(from_q.grace_period_seconds, Some(0));
        assert_eq!(from_q.propagation_policy, Some(PropagationPolicy::Orphan));
        assert!(from_q.is_dry_run());
        assert!(DeleteOptions::default().merge_query(&QueryReader::parse("propagationPolicy=Later")).is_err());
    }

    proptest! {
        #[test]
        fn decoding_arbitrary_queries_never_panics(s in ".*") {
            let q = QueryReader::parse(&s);
            let _ = ListOptions::from_query(&q);
            let _ = WatchOptions::from_query(&q);
            let _ = WriteOptions::from_query(&q);
            let _ = DeleteOptions::default().merge_query(&q);
        }

        #[test]
        fn list_options_round_trip(label in ".{0,20}", field in ".{0,20}", limit in 0i64..10000, rv in "[0-9]{0,6}") {
            let opts = ListOptions {
                label_selector: Some(label).filter(|s| !s.is_empty()),
                field_selector: Some(field).filter(|s| !s.is_empty()),
                limit: Some(limit).filter(|l| *l > 0),
                resource_version: Some(rv).filter(|s| !s.is_empty()),
                ..ListOptions::default()
            };
            prop_assert_eq!(ListOptions::from_query(&QueryReader::parse(&opts.to_query())).unwrap(), opts);
        }
    }
}
