//! The request handler: authentication, fault injection, routing, content negotiation and
//! dispatch of every verb to the object, collection, watch and discovery modules.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use rkube_core::Status;
use rkube_core::options::{DeleteOptions, GetOptions, WriteOptions};
use rkube_core::query::QueryReader;
use rkube_core::status::reason;
use serde_json::{Value, json};
use tracing::Instrument;

use crate::access_log::AccessEntry;
use crate::collection::{self, ListResult};
use crate::discovery;
use crate::faults::Faults;
use crate::gc::{self, Change};
use crate::objects::{self, PatchBody, WriteRequest, Written};
use crate::openapi;
use crate::protobuf;
use crate::registry::{Registry, ServedResource};
use crate::response::{self, Body, Representation};
use crate::router::{ResourcePath, Route, route};
use crate::store::Store;
use crate::table::{self, IncludeObject};
use crate::watch::{self, WatchRequest};

/// Everything a request handler needs; shared by all connections.
pub struct Api {
    /// The object store.
    pub store: Store,
    /// Served resources.
    pub registry: Registry,
    /// Injected faults.
    pub faults: Arc<Faults>,
    /// The bearer token every request must carry, if any.
    pub token: Option<String>,
    /// Largest accepted request body.
    pub max_body: usize,
    /// How often watches with allowWatchBookmarks get a BOOKMARK.
    pub bookmark_interval: Duration,
    /// Whether watch-list streams (sendInitialEvents) are served.
    pub watch_list: bool,
    /// host:port clients reach this server at.
    pub server_address: String,
    /// Container logs written by tests, for `pods/log`.
    pub pod_logs: crate::pod_logs::PodLogs,
    /// The garbage collector's state.
    pub gc: gc::Collector,
    /// Requests answered, when a test records them.
    pub access_log: crate::access_log::AccessLog,
}

fn not_found() -> Status {
    let mut s = Status::failure(404, reason::NOT_FOUND, "the server could not find the requested resource");
    s.details = Some(Default::default());
    s
}

impl Api {
    /// Handles one request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_string();
        let span = tracing::debug_span!("request", %method, %path);
        let started = std::time::Instant::now();
        let entry = self.access_log.is_recording().then(|| {
            let header = |name| req.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            AccessEntry {
                method: method.to_string(),
                path: path.clone(),
                query: req.uri().query().unwrap_or_default().to_string(),
                content_type: header(header::CONTENT_TYPE),
                accept: header(header::ACCEPT),
                status: 0,
                answer: String::new(),
            }
        });
        let resp = self.clone().handle_inner(req).instrument(span).await;
        tracing::debug!(%method, %path, status = resp.status().as_u16(), latency_ms = started.elapsed().as_millis() as u64, "served");
        if let Some(mut entry) = entry {
            entry.status = resp.status().as_u16();
            entry.answer =
                resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default().into();
            self.access_log.push(entry);
        }
        resp
    }

    async fn handle_inner(self: Arc<Self>, req: Request<Incoming>) -> Response<Body> {
        let route = route(req.uri().path());
        if route == Route::Health {
            let mut resp = Response::new(response::full("ok"));
            resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
            return resp;
        }
        let user = match self.authenticate(&req) {
            Some(user) => user,
            None => return response::status(&Status::failure(401, reason::UNAUTHORIZED, "Unauthorized")),
        };
        let latency = self.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if let Some(err) = self.faults.request_error() {
            let message = match err.code {
                429 => "Too many requests, please try again later.".to_string(),
                code => format!("injected fault: HTTP {code}"),
            };
            let mut resp =
                response::status(&Status::failure(err.code, rkube_core::status::reason_for_code(err.code), message));
            if let Some(secs) = err.retry_after {
                resp.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
            }
            return resp;
        }
        if self.faults.refuses_protobuf() {
            let has =
                |name| req.headers().get(name).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("protobuf"));
            let refusal = match () {
                _ if has(header::CONTENT_TYPE) => Some((415, "the body's media type is not supported")),
                _ if has(header::ACCEPT) => {
                    Some((406, "only the following media types are accepted: application/json"))
                }
                _ => None,
            };
            if let Some((code, message)) = refusal {
                return response::status(&Status::failure(code, rkube_core::status::reason_for_code(code), message));
            }
        }
        let gzip_ok = response::accepts_gzip(req.headers().get(header::ACCEPT_ENCODING).and_then(|v| v.to_str().ok()));
        let (parts, body) = req.into_parts();
        let query = QueryReader::parse(parts.uri.query().unwrap_or(""));
        let accept = parts.headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()).map(str::to_string);
        let accept = match accept {
            Some(a) if self.faults.ignores_protobuf() => Some(without_protobuf(&a)),
            other => other,
        };
        let wants_protobuf = matches!(route, Route::Resource(_)).then(|| protobuf::preference(accept.as_deref()));
        let watching = query.bool("watch").ok().flatten() == Some(true);
        let result = match route {
            Route::Version => Ok(response::json_value(StatusCode::OK, &discovery::version())),
            Route::LegacyVersions => Ok(self.discovery_root(true, accept.as_deref())),
            Route::Groups => Ok(self.discovery_root(false, accept.as_deref())),
            Route::Group(g) => discovery::group(&self.registry, &g)
                .map(|d| response::json_value(StatusCode::OK, &d))
                .ok_or_else(not_found),
            Route::GroupVersion(g, v) => discovery::resource_list(&self.registry, &g, &v)
                .map(|d| response::json_value(StatusCode::OK, &d))
                .ok_or_else(not_found),
            Route::OpenApiV2 => Ok(openapi::v2(&self.registry, accept.as_deref())),
            Route::OpenApiV3Index => Ok(response::json_value(StatusCode::OK, &openapi::v3_index(&self.registry))),
            Route::OpenApiV3(g, v) => openapi::v3_response(&self.registry, &g, &v).ok_or_else(not_found),
            Route::Resource(path) if is_self_subject_review(&path) => self_subject_review(&parts.method, &path, &user),
            Route::Resource(path) => {
                self.resource(parts.method, path, query, &parts.headers, accept.as_deref(), body).await
            }
            Route::Health => unreachable!("answered above"),
            Route::NotFound => Err(not_found()),
        };
        let resp = result.unwrap_or_else(|s| response::status(&s));
        let resp = match wants_protobuf {
            Some(pref) => protobuf::encode_response(resp, pref, watching).await,
            None => resp,
        };
        if gzip_ok { response::gzip(resp).await } else { resp }
    }

    /// Who the request comes from, as kube-apiserver's authenticators decide it: a verified
    /// client certificate, else the bearer token; `None` (401) when a token is required and
    /// neither is presented.
    fn authenticate(&self, req: &Request<Incoming>) -> Option<User> {
        if let Some(id) = req.extensions().get::<crate::tls::Identity>() {
            let mut groups = id.groups.clone();
            groups.push("system:authenticated".into());
            return Some(User { name: id.user.clone(), groups });
        }
        let bearer = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        match &self.token {
            Some(token) if bearer == Some(token.as_str()) => Some(User {
                name: TOKEN_USER.into(),
                groups: vec!["system:masters".into(), "system:authenticated".into()],
            }),
            Some(_) => None,
            None => Some(User { name: "system:anonymous".into(), groups: vec!["system:unauthenticated".into()] }),
        }
    }

    fn discovery_root(&self, core: bool, accept: Option<&str>) -> Response<Body> {
        match discovery::wants_aggregated(accept) {
            Some(v) => {
                let doc = discovery::aggregated(&self.registry, core, &format!("apidiscovery.k8s.io/{v}"));
                let mut resp = response::json_value(StatusCode::OK, &doc);
                let ct = format!("application/json;g=apidiscovery.k8s.io;v={v};as=APIGroupDiscoveryList");
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_str(&ct).expect("ascii"));
                resp
            }
            None if core => response::json_value(StatusCode::OK, &discovery::legacy_versions(&self.server_address)),
            None => response::json_value(StatusCode::OK, &discovery::groups(&self.registry)),
        }
    }

    async fn read_body(&self, body: Incoming) -> Result<Bytes, Status> {
        match Limited::new(body, self.max_body).collect().await {
            Ok(c) => Ok(c.to_bytes()),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(Status::failure(
                413,
                reason::REQUEST_ENTITY_TOO_LARGE,
                format!("Request entity too large: limit is {}", self.max_body),
            )),
            Err(e) => Err(Status::bad_request(format!("error reading request body: {e}"))),
        }
    }

    async fn resource(
        self: Arc<Self>,
        method: Method,
        path: ResourcePath,
        query: QueryReader,
        headers: &HeaderMap,
        accept: Option<&str>,
        body: Incoming,
    ) -> Result<Response<Body>, Status> {
        let res = self.registry.lookup(&path.group, &path.version, &path.plural).ok_or_else(not_found)?;
        if path.namespace.is_some() && !res.namespaced {
            return Err(not_found());
        }
        match path.subresource.as_deref() {
            None => {}
            Some("status") if res.has_status => {}
            Some("scale") if res.scale.is_some() => {}
            Some("log" | "eviction") if res.group.is_empty() && res.plural == "pods" => {
                return self.pod_subresource(&res, &method, &path, &query, body).await;
            }
            Some(_) => return Err(not_found()),
        }
        let ns = path.namespace.as_deref();
        let name = path.name.as_deref();
        let sub = path.subresource.as_deref();
        let rep = || {
            response::negotiate(accept)
                .or_else(|| protobuf::preference(accept).protobuf_first.then_some(Representation::Object))
                .ok_or_else(|| {
                    Status::failure(
                        406,
                        reason::NOT_ACCEPTABLE,
                        "only the following media types are accepted: application/json, application/yaml",
                    )
                })
        };
        let is_watch = query.bool("watch").ok().flatten() == Some(true);
        match (&method, name) {
            (&Method::GET, _) if is_watch => {
                if sub.is_some() {
                    return Err(not_found());
                }
                self.watch(&res, ns, name, &query, rep()?)
            }
            (&Method::GET, None) => {
                let result = collection::list(&self.store, &res, ns, &query)?;
                self.respond_list(&res, &result, rep()?, &query)
            }
            (&Method::GET, Some(name)) => {
                let _ = GetOptions::from_query(&query);
                let key = objects::key(&res, ns, name);
                let stored = self
                    .store
                    .get(&res.storage_key(), &key)
                    .ok_or_else(|| Status::not_found(&res.plural, &res.group, name))?;
                if sub == Some("scale") {
                    return Ok(response::json(StatusCode::OK, objects::get_scale(&res, &stored)?));
                }
                self.respond_object(&res, stored.bytes, rep()?, &query)
            }
            (&Method::POST, None) if sub.is_none() => {
                let opts = write_options(&query)?;
                let body = self.read_body(body).await?;
                let body =
                    protobuf::request_json(headers, &body)?.map_or_else(|| require_json(headers).map(|()| body), Ok)?;
                let rep = rep()?;
                let written = objects::create(
                    &self.store,
                    &req(&res, ns, None, None, &opts, &manager_of(&opts, headers)),
                    &body,
                )?;
                self.after_write(&res, &written);
                self.written_response(&res, sub, written, rep, &query)
            }
            (&Method::PUT, Some(name)) => {
                let opts = write_options(&query)?;
                let body = self.read_body(body).await?;
                let body =
                    protobuf::request_json(headers, &body)?.map_or_else(|| require_json(headers).map(|()| body), Ok)?;
                let rep = rep()?;
                let written = objects::update(
                    &self.store,
                    &req(&res, ns, Some(name), sub, &opts, &manager_of(&opts, headers)),
                    &body,
                )?;
                self.after_write(&res, &written);
                self.written_response(&res, sub, written, rep, &query)
            }
            (&Method::PATCH, Some(name)) => {
                let opts = write_options(&query)?;
                let body = self.read_body(body).await?;
                let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
                let ct = ct.split(';').next().unwrap_or("").trim().to_string();
                let rep = rep()?;
                let written = objects::patch(
                    &self.store,
                    &req(&res, ns, Some(name), sub, &opts, &manager_of(&opts, headers)),
                    PatchBody { content_type: &ct, body: &body },
                )?;
                self.after_write(&res, &written);
                self.written_response(&res, sub, written, rep, &query)
            }
            (&Method::DELETE, Some(name)) if sub.is_none() => {
                let body = self.read_body(body).await?;
                let body = protobuf::request_json(headers, &body)?.unwrap_or(body);
                let opts = delete_options(&body, &query)?;
                let rep = rep()?;
                let key = objects::key(&res, ns, name);
                match objects::delete(&self.store, &res, &key, &opts)? {
                    objects::Deleted::Gone(last) => {
                        let changes = self.after_delete(&res, &last.bytes);
                        self.collect(changes);
                        if returns_deleted_object(&res) {
                            self.respond_object(&res, last.bytes, rep, &query)
                        } else {
                            let obj: Value = serde_json::from_slice(&last.bytes).unwrap_or_default();
                            let uid = obj.pointer("/metadata/uid").and_then(Value::as_str).unwrap_or_default();
                            Ok(response::json_value(StatusCode::OK, &objects::delete_status(&res, name, uid)))
                        }
                    }
                    objects::Deleted::Terminating(bytes) => {
                        if res.group.is_empty() && res.plural == "namespaces" {
                            self.clone().finalize_namespace(name.to_string());
                        }
                        if !opts.is_dry_run() {
                            self.collect(vec![Change::Deleting(res.storage_key(), key)]);
                        }
                        self.respond_object(&res, bytes, rep, &query)
                    }
                }
            }
            (&Method::DELETE, None) if sub.is_none() => {
                let body = self.read_body(body).await?;
                let body = protobuf::request_json(headers, &body)?.unwrap_or(body);
                let opts = delete_options(&body, &query)?;
                let out = collection::delete_collection(&self.store, &res, ns, &query, &opts)?;
                if !opts.is_dry_run() {
                    self.after_delete_collection(&res, &out);
                }
                Ok(response::json(StatusCode::OK, out))
            }
            _ => Err(Status::failure(
                405,
                reason::METHOD_NOT_ALLOWED,
                "the server does not allow this method on the requested resource".to_string(),
            )),
        }
    }

    /// `pods/log` (GET) and `pods/eviction` (POST).
    async fn pod_subresource(
        &self,
        res: &Arc<ServedResource>,
        method: &Method,
        path: &ResourcePath,
        query: &QueryReader,
        body: Incoming,
    ) -> Result<Response<Body>, Status> {
        let name = path.name.as_deref().ok_or_else(not_found)?;
        let key = objects::key(res, path.namespace.as_deref(), name);
        let stored = self.store.get(&res.storage_key(), &key).ok_or_else(|| Status::not_found("pods", "", name))?;
        match (path.subresource.as_deref(), method) {
            (Some("log"), &Method::GET) => {
                let pod: Value = serde_json::from_slice(&stored.bytes).unwrap_or_default();
                let read = self.pod_logs.read(&pod, query)?;
                let mut resp = match read.follow {
                    None => Response::new(response::full(read.text)),
                    Some(rx) => {
                        let first = read.text.clone();
                        let seen = rx.borrow().len();
                        let later = futures::stream::unfold((rx, seen), |(mut rx, seen)| async move {
                            rx.changed().await.ok()?;
                            let log = rx.borrow_and_update().clone();
                            let new = Bytes::from(crate::pod_logs::since(&log, seen).to_string());
                            Some((new, (rx, log.len())))
                        });
                        let s = futures::StreamExt::chain(futures::stream::iter([first]), later);
                        Response::new(response::stream(s))
                    }
                };
                resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
                Ok(resp)
            }
            (Some("eviction"), &Method::POST) => {
                let body = self.read_body(body).await?;
                let eviction: Value = serde_json::from_slice(&body)
                    .map_err(|e| Status::bad_request(format!("error decoding Eviction: {e}")))?;
                let opts: DeleteOptions =
                    serde_json::from_value(eviction.get("deleteOptions").cloned().unwrap_or(json!({})))
                        .map_err(|e| Status::bad_request(format!("error decoding deleteOptions: {e}")))?;
                match objects::delete(&self.store, res, &key, &opts)? {
                    objects::Deleted::Gone(last) => {
                        let changes = self.after_delete(res, &last.bytes);
                        self.collect(changes);
                    }
                    objects::Deleted::Terminating(_) if !opts.is_dry_run() => {
                        self.collect(vec![Change::Deleting(res.storage_key(), key.clone())]);
                    }
                    objects::Deleted::Terminating(_) => {}
                }
                let mut ok = Status::success(None);
                ok.code = 201;
                Ok(response::json_value(StatusCode::CREATED, &ok))
            }
            _ => Err(Status::failure(
                405,
                reason::METHOD_NOT_ALLOWED,
                "the server does not allow this method on the requested resource",
            )),
        }
    }

    fn render_table(&self, res: &ServedResource, objs: &[Value], meta: Value, query: &QueryReader) -> Value {
        let include = IncludeObject::parse(query.get("includeObject").unwrap_or("")).unwrap_or_default();
        let now = jiff::Timestamp::now();
        if res.is_builtin() {
            table::builtin_table(&res.group, &res.plural, objs, meta, include, now)
        } else {
            table::custom_resource_table(&res.printer_columns, objs, meta, include, now)
        }
    }

    fn respond_object(
        &self,
        res: &ServedResource,
        bytes: Bytes,
        rep: Representation,
        q: &QueryReader,
    ) -> Result<Response<Body>, Status> {
        Ok(match rep {
            Representation::Object => response::json(StatusCode::OK, objects::served_as(res, bytes)),
            Representation::Table => {
                let obj: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                let rv = obj.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
                response::json_value(StatusCode::OK, &self.render_table(res, &[obj], json!({"resourceVersion": rv}), q))
            }
            Representation::PartialMetadata => {
                let obj: Value = serde_json::from_slice(&bytes).unwrap_or_default();
                response::json_value(StatusCode::OK, &table::partial_object_metadata(&obj))
            }
        })
    }

    fn respond_list(
        &self,
        res: &ServedResource,
        result: &ListResult,
        rep: Representation,
        q: &QueryReader,
    ) -> Result<Response<Body>, Status> {
        if rep == Representation::Object {
            return Ok(response::json(StatusCode::OK, collection::list_body(res, result)));
        }
        let objs: Vec<Value> = result.items.iter().filter_map(|(_, s)| serde_json::from_slice(&s.bytes).ok()).collect();
        let mut meta = json!({"resourceVersion": result.rev.to_string()});
        if let Some(c) = &result.continue_token {
            meta["continue"] = c.clone().into();
        }
        if let Some(r) = result.remaining {
            meta["remainingItemCount"] = r.into();
        }
        let doc = match rep {
            Representation::Table => self.render_table(res, &objs, meta, q),
            _ => table::partial_object_metadata_list(&objs, meta),
        };
        Ok(response::json_value(StatusCode::OK, &doc))
    }

    fn watch(
        self: &Arc<Self>,
        res: &Arc<ServedResource>,
        ns: Option<&str>,
        name: Option<&str>,
        q: &QueryReader,
        rep: Representation,
    ) -> Result<Response<Body>, Status> {
        let wreq = WatchRequest::parse(res.clone(), ns.map(str::to_string), name.map(str::to_string), q)?;
        if wreq.opts.send_initial_events.is_some() && !self.watch_list {
            return Err(Status::invalid(
                "ListOptions",
                "meta.k8s.io",
                "",
                vec![rkube_core::status::StatusCause {
                    reason: "FieldValueForbidden".into(),
                    message: "Forbidden: sendInitialEvents is forbidden for watch unless the WatchList feature gate is enabled"
                        .into(),
                    field: "sendInitialEvents".into(),
                }],
            ));
        }
        let render: Option<watch::Render> = match rep {
            Representation::Object if res.is_builtin() => None,
            Representation::Object => {
                let res = res.clone();
                Some(Arc::new(move |kind: &str, obj: &Bytes| {
                    crate::store::watch_line(kind, &objects::served_as(&res, obj.clone()))
                }))
            }
            Representation::PartialMetadata => Some(Arc::new(|kind: &str, obj: &Bytes| {
                let v: Value = serde_json::from_slice(obj).unwrap_or_default();
                crate::store::watch_line(
                    kind,
                    &serde_json::to_vec(&table::partial_object_metadata(&v)).unwrap_or_default(),
                )
            })),
            Representation::Table => {
                let api = self.clone();
                let res = res.clone();
                let q = q.clone();
                Some(Arc::new(move |kind: &str, obj: &Bytes| {
                    let v: Value = serde_json::from_slice(obj).unwrap_or_default();
                    let rv = v.pointer("/metadata/resourceVersion").cloned().unwrap_or(Value::Null);
                    let t = api.render_table(&res, &[v], json!({"resourceVersion": rv}), &q);
                    crate::store::watch_line(kind, &serde_json::to_vec(&t).unwrap_or_default())
                }))
            }
        };
        let rx = watch::start(&self.store, self.faults.clone(), wreq, self.bookmark_interval, render);
        let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
        let mut resp = Response::new(response::stream(stream));
        resp.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        resp.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, private"));
        Ok(resp)
    }

    fn after_write(&self, res: &ServedResource, written: &Written) {
        if let Some(last) = &written.removed {
            let changes = self.after_delete(res, &last.bytes);
            self.collect(changes);
            return;
        }
        if res.group == "apiextensions.k8s.io" && res.plural == "customresourcedefinitions" {
            if let Ok(crd) = serde_json::from_slice::<Value>(&written.body) {
                if let Err(e) = self.registry.install_crd(&crd) {
                    tracing::warn!(error = %e, "CRD not served");
                }
            }
        }
        // A write may release or remove what a foreground deletion waits for.
        self.collect(Vec::new());
    }

    /// Runs the garbage collector over `changes` and whatever is waiting on earlier ones.
    fn collect(&self, changes: Vec<Change>) {
        self.gc.settle(&self.store, &self.registry, changes);
    }

    /// Garbage collection after a deletecollection, whose answer lists every object it
    /// deleted or marked for deletion.
    fn after_delete_collection(&self, res: &ServedResource, list: &Bytes) {
        let list: Value = serde_json::from_slice(list).unwrap_or_default();
        let mut changes = Vec::new();
        for item in list.get("items").and_then(Value::as_array).into_iter().flatten() {
            let meta = |f: &str| item.pointer(&format!("/metadata/{f}")).and_then(Value::as_str).unwrap_or_default();
            let key = objects::key(res, Some(meta("namespace")), meta("name"));
            if self.store.get(&res.storage_key(), &key).is_some() {
                changes.push(Change::Deleting(res.storage_key(), key));
            } else {
                let bytes = serde_json::to_vec(item).map(Bytes::from).unwrap_or_default();
                changes.extend(self.after_delete(res, &bytes));
            }
        }
        self.collect(changes);
    }

    /// Cleans up after an object left the store; returns what the collector must react to.
    fn after_delete(&self, res: &ServedResource, last: &Bytes) -> Vec<Change> {
        let obj: Value = serde_json::from_slice(last).unwrap_or_default();
        if res.group == "apiextensions.k8s.io" && res.plural == "customresourcedefinitions" {
            let group = obj.pointer("/spec/group").and_then(Value::as_str).unwrap_or_default();
            let plural = obj.pointer("/spec/names/plural").and_then(Value::as_str).unwrap_or_default();
            self.registry.remove_crd(group, plural);
            self.store.drop_resource(&format!("{plural}.{group}"));
        }
        if res.group.is_empty() && res.plural == "pods" {
            let meta = |f: &str| obj.pointer(&format!("/metadata/{f}")).and_then(Value::as_str).unwrap_or_default();
            self.pod_logs.forget(meta("namespace"), meta("name"));
        }
        obj.pointer("/metadata/uid")
            .and_then(Value::as_str)
            .map(|u| Change::Removed(u.to_string()))
            .into_iter()
            .collect()
    }

    /// Deletes everything in a terminating namespace, then the namespace itself.
    fn finalize_namespace(self: Arc<Self>, ns: String) {
        tokio::spawn(async move {
            let mut changes = Vec::new();
            for res in self.registry.all().iter().filter(|r| r.namespaced && r.storage_version) {
                let page = match self.store.list(&res.storage_key(), Some(&ns), None, None, 0, |_| true) {
                    Ok(p) => p,
                    Err(_) => continue,
                };
                for (key, _) in page.items {
                    match objects::delete(&self.store, res, &key, &DeleteOptions::background()) {
                        Ok(objects::Deleted::Gone(last)) => changes.extend(self.after_delete(res, &last.bytes)),
                        Ok(objects::Deleted::Terminating(_)) => {
                            changes.push(Change::Deleting(res.storage_key(), key.clone()))
                        }
                        Err(_) => {}
                    }
                }
            }
            self.collect(changes);
            if let Some(nsres) = self.registry.lookup("", "v1", "namespaces") {
                objects::remove(&self.store, &nsres, &(String::new(), ns));
            }
        });
    }
}

/// The user the bearer token authenticates.
const TOKEN_USER: &str = "admin";

/// An authenticated (or anonymous) caller.
#[derive(Debug, Clone)]
struct User {
    name: String,
    groups: Vec<String>,
}

fn is_self_subject_review(path: &ResourcePath) -> bool {
    path.group == "authentication.k8s.io"
        && matches!(path.version.as_str(), "v1" | "v1beta1" | "v1alpha1")
        && path.plural == "selfsubjectreviews"
}

/// `kubectl auth whoami`: a SelfSubjectReview answered with the caller's identity.
fn self_subject_review(method: &Method, path: &ResourcePath, user: &User) -> Result<Response<Body>, Status> {
    if path.namespace.is_some() || path.name.is_some() || path.subresource.is_some() {
        return Err(not_found());
    }
    if method != Method::POST {
        return Err(Status::failure(
            405,
            reason::METHOD_NOT_ALLOWED,
            "the server does not allow this method on the requested resource",
        ));
    }
    let review = json!({
        "kind": "SelfSubjectReview",
        "apiVersion": format!("authentication.k8s.io/{}", path.version),
        "metadata": {"creationTimestamp": null},
        "status": {"userInfo": {"username": user.name, "groups": user.groups}},
    });
    Ok(response::json_value(StatusCode::CREATED, &review))
}

fn req<'a>(
    res: &'a Arc<ServedResource>,
    namespace: Option<&'a str>,
    name: Option<&'a str>,
    subresource: Option<&'a str>,
    opts: &'a WriteOptions,
    manager: &'a str,
) -> WriteRequest<'a> {
    WriteRequest { res, namespace, name, subresource, opts, manager }
}

/// The field manager of a write: fieldManager, else the User-Agent's product name.
fn manager_of(opts: &WriteOptions, headers: &HeaderMap) -> String {
    match &opts.field_manager {
        Some(m) => m.clone(),
        None => {
            let ua = headers.get(header::USER_AGENT).and_then(|v| v.to_str().ok()).unwrap_or_default();
            crate::managed_fields::manager_from_user_agent(ua)
        }
    }
}

fn write_options(q: &QueryReader) -> Result<WriteOptions, Status> {
    WriteOptions::from_query(q).map_err(|e| Status::bad_request(e.to_string()))
}

fn delete_options(body: &[u8], q: &QueryReader) -> Result<DeleteOptions, Status> {
    let from_body = if body.iter().all(u8::is_ascii_whitespace) {
        DeleteOptions::default()
    } else {
        serde_json::from_slice(body).map_err(|e| Status::bad_request(format!("error decoding DeleteOptions: {e}")))?
    };
    from_body.merge_query(q).map_err(|e| Status::bad_request(e.to_string()))
}

fn require_json(headers: &HeaderMap) -> Result<(), Status> {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("application/json");
    let media = ct.split(';').next().unwrap_or("").trim();
    if media.is_empty() || media == "application/json" || media == "*/*" {
        return Ok(());
    }
    Err(Status::failure(
        415,
        reason::UNSUPPORTED_MEDIA_TYPE,
        "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml".to_string(),
    ))
}

fn returns_deleted_object(res: &ServedResource) -> bool {
    // kube-apiserver answers deletes of these with the deleted object, others with a Status.
    res.is_builtin()
        && matches!(
            (res.group.as_str(), res.plural.as_str()),
            ("", "pods" | "services" | "namespaces" | "nodes") | ("apiextensions.k8s.io", _)
        )
}

impl Api {
    /// The answer to a create, update or patch: the object in the representation the client
    /// asked for (as kube-apiserver transforms write responses too), with warnings.
    fn written_response(
        &self,
        res: &ServedResource,
        sub: Option<&str>,
        w: Written,
        rep: Representation,
        q: &QueryReader,
    ) -> Result<Response<Body>, Status> {
        let code = if w.created { StatusCode::CREATED } else { StatusCode::OK };
        // Scale bodies are autoscaling/v1 objects, not the resource's; they stay as they are.
        let mut resp = if rep == Representation::Object || sub == Some("scale") {
            response::json(code, w.body)
        } else {
            let mut resp = self.respond_object(res, w.body, rep, q)?;
            *resp.status_mut() = code;
            resp
        };
        for warning in &w.warnings {
            if let Ok(v) = HeaderValue::from_str(&format!("299 - \"{}\"", warning.replace('"', "\\\""))) {
                resp.headers_mut().append(header::WARNING, v);
            }
        }
        Ok(resp)
    }
}

/// `accept` without its protobuf media types (JSON when nothing else is left).
fn without_protobuf(accept: &str) -> String {
    let kept: Vec<&str> = accept.split(',').map(str::trim).filter(|t| !t.contains("protobuf")).collect();
    if kept.is_empty() { "application/json".to_string() } else { kept.join(", ") }
}
