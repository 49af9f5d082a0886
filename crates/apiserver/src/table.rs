//! Server-side printing: `meta.k8s.io/v1` Table responses (for
//! `Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) and `PartialObjectMetadata`
//! conversion (for `as=PartialObjectMetadata` / `as=PartialObjectMetadataList`).
//!
//! Column definitions (name, type, format, description, priority) and cells follow
//! kube-apiserver's printers (`pkg/printers/internalversion/printers.go`), always generated
//! in wide mode like the server does; kubectl hides priority-1 columns unless `-o wide`.
//! Ages are `duration.HumanDuration` strings relative to the `now` passed in. Resources
//! without a printer use the default table convertor (Name, Created At); custom resources
//! use [`custom_resource_table`] with the CRD's `additionalPrinterColumns` (Age when none).
//!
//! Column descriptions are the k8s.io/api SwaggerDoc texts the printers reference (for some
//! columns those of the extensions/v1beta1 and batch/v1beta1 types, as upstream does).

use jiff::{SignedDuration, Timestamp};
use serde_json::{Map, Value, json};

/// Which object each Table row carries (`includeObject` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IncludeObject {
    /// No object: `"object": null`.
    None,
    /// The object's metadata as a `PartialObjectMetadata` (the default).
    #[default]
    Metadata,
    /// The full object.
    Object,
}

impl IncludeObject {
    /// Parses the `includeObject` query parameter: empty means `Metadata`; an unknown value
    /// gives `Option::None` (kube-apiserver rejects it with 400 BadRequest).
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "" | "Metadata" => Some(Self::Metadata),
            "None" => Some(Self::None),
            "Object" => Some(Self::Object),
            _ => None,
        }
    }
}

/// One `columnDefinitions` entry of a Table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDefinition {
    /// Column header, e.g. `Name`, `Ready`.
    pub name: String,
    /// OpenAPI type of the cells: `string`, `integer`, `number`, `boolean`, `date`.
    pub type_: String,
    /// OpenAPI format hint, e.g. `name` for the name column, else empty.
    pub format: String,
    /// Human-readable description of the column.
    pub description: String,
    /// 0 for default columns, 1+ for wide-only columns.
    pub priority: i32,
}

impl ColumnDefinition {
    fn new(name: &str, type_: &str, format: &str, description: &str, priority: i32) -> Self {
        Self {
            name: name.to_string(),
            type_: type_.to_string(),
            format: format.to_string(),
            description: description.to_string(),
            priority,
        }
    }

    /// The JSON form of this column definition.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "type": self.type_,
            "format": self.format,
            "description": self.description,
            "priority": self.priority,
        })
    }
}

/// One `additionalPrinterColumns` entry of a CustomResourceDefinition version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// OpenAPI type: `integer`, `number`, `string`, `boolean` or `date`.
    pub type_: String,
    /// OpenAPI format, may be empty.
    pub format: String,
    /// Description; empty means kube-apiserver's generated "Custom resource definition
    /// column (in JSONPath format): ..." text.
    pub description: String,
    /// Priority (0 default, 1+ wide only).
    pub priority: i32,
    /// Simple JSONPath into the object, e.g. `.spec.replicas` or `.status.conditions[0].type`.
    pub json_path: String,
}

impl PrinterColumn {
    /// Reads one `additionalPrinterColumns` entry as it appears in a CRD's JSON.
    pub fn from_json(v: &Value) -> Self {
        let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        Self {
            name: s("name"),
            type_: s("type"),
            format: s("format"),
            description: s("description"),
            priority: v.get("priority").and_then(Value::as_i64).unwrap_or(0) as i32,
            json_path: s("jsonPath"),
        }
    }
}

/// `PartialObjectMetadata` of an object: its metadata under meta.k8s.io/v1.
pub fn partial_object_metadata(obj: &Value) -> Value {
    json!({
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata").cloned().unwrap_or_else(|| json!({})),
    })
}

/// `PartialObjectMetadataList` of objects, with the list's `metadata` (resourceVersion,
/// continue, remainingItemCount) as given.
pub fn partial_object_metadata_list(objs: &[Value], list_metadata: Value) -> Value {
    json!({
        "kind": "PartialObjectMetadataList",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_metadata,
        "items": objs.iter().map(partial_object_metadata).collect::<Vec<_>>(),
    })
}

/// kube's `duration.HumanDuration`: "5s", "3m2s", "15m", "5h3m", "2d3h", "400d", "3y20d".
pub fn human_duration(d: SignedDuration) -> String {
    let seconds = d.as_secs();
    if seconds < -1 {
        return "<invalid>".into();
    } else if seconds < 0 {
        return "0s".into();
    } else if seconds < 60 * 2 {
        return format!("{seconds}s");
    }
    let minutes = seconds / 60;
    if minutes < 10 {
        let s = seconds % 60;
        return if s == 0 { format!("{minutes}m") } else { format!("{minutes}m{s}s") };
    } else if minutes < 60 * 3 {
        return format!("{minutes}m");
    }
    let hours = seconds / 3600;
    if hours < 8 {
        let m = minutes % 60;
        if m == 0 { format!("{hours}h") } else { format!("{hours}h{m}m") }
    } else if hours < 48 {
        format!("{hours}h")
    } else if hours < 24 * 8 {
        let h = hours % 24;
        if h == 0 { format!("{}d", hours / 24) } else { format!("{}d{h}h", hours / 24) }
    } else if hours < 24 * 365 * 2 {
        format!("{}d", hours / 24)
    } else if hours < 24 * 365 * 8 {
        let dy = (hours / 24) % 365;
        if dy == 0 { format!("{}y", hours / 24 / 365) } else { format!("{}y{dy}d", hours / 24 / 365) }
    } else {
        format!("{}y", hours / 24 / 365)
    }
}

/// The column definitions kube-apiserver uses for a built-in resource (`group`, `plural`);
/// resources without a printer get the default Name / Created At columns.
pub fn builtin_columns(group: &str, plural: &str) -> Vec<ColumnDefinition> {
    let printer = printer_for(group, plural);
    printer
        .columns
        .iter()
        .map(|(name, ty, format, desc, prio)| ColumnDefinition::new(name, ty, format, desc, *prio))
        .collect()
}

/// Renders the Table of built-in objects of `group`/`plural` (one for a get, many for a list).
///
/// `metadata` is the Table's ListMeta (resourceVersion, continue, remainingItemCount).
pub fn builtin_table(
    group: &str,
    plural: &str,
    objects: &[Value],
    metadata: Value,
    include: IncludeObject,
    now: Timestamp,
) -> Value {
    let printer = printer_for(group, plural);
    let rows = objects
        .iter()
        .map(|obj| {
            let printed = (printer.cells)(obj, now);
            row_json(printed.cells, printed.conditions, obj, include)
        })
        .collect();
    table_json(builtin_columns(group, plural), rows, metadata)
}

/// Renders the Table of custom resources with a CRD version's `additionalPrinterColumns`
/// (an empty list means the default Age column), like apiextensions-apiserver does.
pub fn custom_resource_table(
    columns: &[PrinterColumn],
    objects: &[Value],
    metadata: Value,
    include: IncludeObject,
    now: Timestamp,
) -> Value {
    let default_age = [PrinterColumn {
        name: "Age".into(),
        type_: "date".into(),
        format: String::new(),
        description: CREATION_TIMESTAMP.into(),
        priority: 0,
        json_path: ".metadata.creationTimestamp".into(),
    }];
    let columns = if columns.is_empty() { &default_age[..] } else { columns };
    let mut defs = vec![ColumnDefinition::new("Name", "string", "name", NAME, 0)];
    defs.extend(columns.iter().map(|c| {
        let description = if c.description.is_empty() {
            format!("Custom resource definition column (in JSONPath format): {}", c.json_path)
        } else {
            c.description.clone()
        };
        ColumnDefinition::new(&c.name, &c.type_, &c.format, &description, c.priority)
    }));
    let rows = objects
        .iter()
        .map(|obj| {
            let mut cells = vec![json!(str_at(obj, &["metadata", "name"]))];
            for c in columns {
                let value = json_path(obj, &c.json_path);
                cells.push(value.map_or(Value::Null, |v| crd_cell(&c.type_, v, now)));
            }
            row_json(cells, Vec::new(), obj, include)
        })
        .collect();
    table_json(defs, rows, metadata)
}

/// Renders the default Table (Name, Created At) kube-apiserver uses for resources without
/// a printer, e.g. CustomResourceDefinitions.
pub fn default_table(objects: &[Value], metadata: Value, include: IncludeObject) -> Value {
    let rows = objects.iter().map(|obj| row_json(default_cells(obj), Vec::new(), obj, include)).collect();
    table_json(default_columns(), rows, metadata)
}

fn default_columns() -> Vec<ColumnDefinition> {
    vec![
        ColumnDefinition::new("Name", "string", "name", NAME, 0),
        ColumnDefinition::new("Created At", "date", "", CREATION_TIMESTAMP, 0),
    ]
}

fn default_cells(obj: &Value) -> Vec<Value> {
    let created = timestamp_at(obj, &["metadata", "creationTimestamp"])
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "0001-01-01T00:00:00Z".to_string());
    vec![json!(str_at(obj, &["metadata", "name"])), json!(created)]
}

fn table_json(columns: Vec<ColumnDefinition>, rows: Vec<Value>, metadata: Value) -> Value {
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": metadata,
        "columnDefinitions": columns.iter().map(ColumnDefinition::to_json).collect::<Vec<_>>(),
        "rows": rows,
    })
}

fn row_json(cells: Vec<Value>, conditions: Vec<Value>, obj: &Value, include: IncludeObject) -> Value {
    let mut row = Map::new();
    row.insert("cells".into(), Value::Array(cells));
    if !conditions.is_empty() {
        row.insert("conditions".into(), Value::Array(conditions));
    }
    let object = match include {
        IncludeObject::None => Value::Null,
        IncludeObject::Metadata => partial_object_metadata(obj),
        IncludeObject::Object => obj.clone(),
    };
    row.insert("object".into(), object);
    Value::Object(row)
}

// ---------------------------------------------------------------------------------------
// CRD printer columns.
// ---------------------------------------------------------------------------------------

/// Evaluates a CRD column's JSONPath (`.a.b`, `.a[0].b`, `.a[-1]`, `.a['x.y']`, `.a[*].b`,
/// `.a[?(@.type=="Ready")].status`, optionally wrapped in `{}`) and returns the first result,
/// as the CRD table convertor shows; `None` when nothing matches.
fn json_path<'a>(obj: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim();
    let path = path.strip_prefix('{').and_then(|p| p.strip_suffix('}')).unwrap_or(path);
    eval_path(obj, path.strip_prefix('$').unwrap_or(path))
}

fn eval_path<'a>(cur: &'a Value, rest: &str) -> Option<&'a Value> {
    if rest.is_empty() {
        return Some(cur);
    }
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(['.', '[']).unwrap_or(r.len());
        let (key, after) = (&r[..end], &r[end..]);
        return match key {
            "" => eval_path(cur, after),
            "*" => each_child(cur, after),
            _ => eval_path(cur.get(key)?, after),
        };
    }
    let r = rest.strip_prefix('[')?;
    let end = r.find(']')?;
    let (inner, after) = (r[..end].trim(), &r[end + 1..]);
    if inner == "*" {
        return each_child(cur, after);
    }
    if let Some(filter) = inner.strip_prefix("?(").and_then(|f| f.strip_suffix(')')) {
        return cur.as_array()?.iter().filter(|v| filter_matches(v, filter)).find_map(|v| eval_path(v, after));
    }
    let next = match unquote(inner) {
        Some(key) => cur.get(key)?,
        None => {
            let idx: i64 = inner.parse().ok()?;
            let list = cur.as_array()?;
            let idx = if idx < 0 { list.len() as i64 + idx } else { idx };
            list.get(usize::try_from(idx).ok()?)?
        }
    };
    eval_path(next, after)
}

fn each_child<'a>(cur: &'a Value, after: &str) -> Option<&'a Value> {
    match cur {
        Value::Array(l) => l.iter().find_map(|v| eval_path(v, after)),
        Value::Object(m) => m.values().find_map(|v| eval_path(v, after)),
        _ => None,
    }
}

fn unquote(s: &str) -> Option<&str> {
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
}

/// A JSONPath filter: `@.path == value`, `@.path != value` or `@.path` (exists).
fn filter_matches(v: &Value, filter: &str) -> bool {
    let (lhs, rhs, equal) = match filter.split_once("==") {
        Some((l, r)) => (l, Some(r), true),
        None => match filter.split_once("!=") {
            Some((l, r)) => (l, Some(r), false),
            None => (filter, None, true),
        },
    };
    let Some(path) = lhs.trim().strip_prefix('@') else {
        return false;
    };
    let found = eval_path(v, path);
    match rhs.map(str::trim) {
        None => found.is_some(),
        Some(r) => {
            let want = match unquote(r) {
                Some(s) => Value::String(s.to_string()),
                None => serde_json::from_str(r).unwrap_or(Value::Null),
            };
            (found == Some(&want)) == equal
        }
    }
}

fn crd_cell(type_: &str, value: &Value, now: Timestamp) -> Value {
    match (type_, value) {
        (_, Value::Null) => Value::Null,
        ("integer", Value::Number(n)) => {
            n.as_i64().map(Value::from).or_else(|| n.as_f64().map(|f| Value::from(f as i64))).unwrap_or(Value::Null)
        }
        ("number", Value::Number(n)) => n.as_f64().map_or(Value::Null, Value::from),
        ("boolean", Value::Bool(b)) => Value::Bool(*b),
        ("string", Value::String(s)) => Value::String(s.clone()),
        ("string", other) => Value::String(other.to_string()),
        ("date", Value::String(s)) => match s.parse::<Timestamp>() {
            Ok(t) => Value::String(human_duration(now.duration_since(t))),
            Err(_) => Value::String("<invalid>".into()),
        },
        _ => Value::Null,
    }
}

// ---------------------------------------------------------------------------------------
// Built-in printers.
// ---------------------------------------------------------------------------------------

type ColumnSpec = (&'static str, &'static str, &'static str, &'static str, i32);

/// Cells and row conditions of one printed object.
struct Printed {
    cells: Vec<Value>,
    conditions: Vec<Value>,
}

impl From<Vec<Value>> for Printed {
    fn from(cells: Vec<Value>) -> Self {
        Self { cells, conditions: Vec::new() }
    }
}

struct Printer {
    columns: &'static [ColumnSpec],
    cells: fn(&Value, Timestamp) -> Printed,
}

const NAME: &str = "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names";
const CREATION_TIMESTAMP: &str = "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata";
const CONTAINERS: &str = "Names of each container in the template.";
const IMAGES: &str = "Images referenced by each container in the template.";

const NAME_COL: ColumnSpec = ("Name", "string", "name", NAME, 0);
const AGE_COL: ColumnSpec = ("Age", "string", "", CREATION_TIMESTAMP, 0);
const CONTAINERS_COL: ColumnSpec = ("Containers", "string", "", CONTAINERS, 1);
const IMAGES_COL: ColumnSpec = ("Images", "string", "", IMAGES, 1);

// Column descriptions: the SwaggerDoc texts (k8s.io/api) the printers reference, including
// those of the extensions/v1beta1 and batch/v1beta1 types they still name.
const POD_IP: &str =
    "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.";
const NOMINATED_NODE: &str = "nominatedNodeName is set only when this pod preempts other pods on the node, but it cannot be scheduled right away as preemption victims receive their graceful termination periods. This field does not guarantee that the pod will be scheduled on this node. Scheduler may decide to place the pod elsewhere if other nodes become available sooner. Scheduler may also decide to give the resources on this node to a higher priority pod that is created after preemption. As a result, this field may be different than PodSpec.nodeName when the pod is scheduled.";
const NODE_NAME: &str = "NodeName indicates in which node this pod is scheduled. If empty, this pod is a candidate for scheduling by the scheduler defined in schedulerName. Once this field is set, the kubelet for this node becomes responsible for the lifecycle of this pod. This field should not be used to express a desire for the pod to be scheduled on a specific node. https://kubernetes.io/docs/concepts/scheduling-eviction/assign-pod-node/#nodename";
const READINESS_GATES: &str = "If specified, all readiness gates will be evaluated for pod readiness. A pod is ready when all its containers are ready AND all conditions specified in the readiness gates have status equal to \"True\" More info: https://git.k8s.io/enhancements/keps/sig-network/580-pod-readiness-gates";
const NODE_SELECTOR: &str = "NodeSelector is a selector which must be true for the pod to fit on a node. Selector which must match a node's labels for the pod to be scheduled on that node. More info: https://kubernetes.io/docs/concepts/configuration/assign-pod-node/";
const RS_REPLICAS: &str = "Replicas is the number of desired pods. This is a pointer to distinguish between explicit zero and unspecified. Defaults to 1. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
const RS_STATUS_REPLICAS: &str = "Replicas is the most recently observed number of non-terminating pods. More info: https://kubernetes.io/docs/concepts/workloads/controllers/replicaset";
const RS_READY: &str = "The number of non-terminating pods targeted by this ReplicaSet with a Ready Condition.";
const RS_SELECTOR: &str = "Selector is a label query over pods that should match the replica count. If the selector is empty, it is defaulted to the labels present on the pod template. Label keys and values that must match in order to be controlled by this replica set. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const DS_DESIRED: &str = "The total number of nodes that should be running the daemon pod (including nodes correctly running the daemon pod). More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
const DS_CURRENT: &str = "The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod. More info: https://kubernetes.io/docs/concepts/workloads/controllers/daemonset/";
const DS_READY: &str = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.";
const DS_UPDATED: &str = "The total number of nodes that are running updated daemon pod";
const DS_AVAILABLE: &str = "The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)";
const DS_SELECTOR: &str = "A label query over pods that are managed by the daemon set. Must match in order to be controlled. If empty, defaulted to labels on Pod template. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const JOB_SUCCEEDED: &str = "The number of pods which reached phase Succeeded. The value increases monotonically for a given spec. However, it may decrease in reaction to scale down of elastic indexed jobs.";
const JOB_SELECTOR: &str = "A label query over pods that should match the pod count. Normally, the system sets this field for you. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/#label-selectors";
const CJ_SCHEDULE: &str = "The schedule in Cron format, see https://en.wikipedia.org/wiki/Cron.";
const CJ_TIMEZONE: &str = "The time zone name for the given schedule, see https://en.wikipedia.org/wiki/List_of_tz_database_time_zones. If not specified, this will default to the time zone of the kube-controller-manager process. The set of valid time zone names and the time zone offset is loaded from the system-wide time zone database by the API server during CronJob validation and the controller manager during execution. If no system-wide time zone database can be found a bundled version of the database is used instead. If the time zone name becomes invalid during the lifetime of a CronJob or due to a change in host configuration, the controller will stop creating new new Jobs and will create a system event with the reason UnknownTimeZone. More information can be found in https://kubernetes.io/docs/concepts/workloads/controllers/cron-jobs/#time-zones";
const CJ_SUSPEND: &str = "This flag tells the controller to suspend subsequent executions, it does not apply to already started executions.  Defaults to false.";
const CJ_ACTIVE: &str = "A list of pointers to currently running jobs.";
const CJ_LAST_SCHEDULE: &str = "Information when was the last time the job was successfully scheduled.";
const SVC_TYPE: &str = "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer. \"ClusterIP\" allocates a cluster-internal IP address for load-balancing to endpoints. Endpoints are determined by the selector or if that is not specified, by manual construction of an Endpoints object or EndpointSlice objects. If clusterIP is \"None\", no virtual IP is allocated and the endpoints are published as a set of endpoints rather than a virtual IP. \"NodePort\" builds on ClusterIP and allocates a port on every node which routes to the same endpoints as the clusterIP. \"LoadBalancer\" builds on NodePort and creates an external load-balancer (if supported in the current cloud) which routes to the same endpoints as the clusterIP. \"ExternalName\" aliases this service to the specified externalName. Several other fields do not apply to ExternalName services. More info: https://kubernetes.io/docs/concepts/services-networking/service/#publishing-services-service-types";
const SVC_CLUSTER_IP: &str = "clusterIP is the IP address of the service and is usually assigned randomly. If an address is specified manually, is in-range (as per system configuration), and is not in use, it will be allocated to the service; otherwise creation of the service will fail. This field may not be changed through updates unless the type field is also being changed to ExternalName (which requires this field to be blank) or the type field is being changed from ExternalName (in which case this field may optionally be specified, as describe above).  Valid values are \"None\", empty string (\"\"), or a valid IP address. Setting this to \"None\" makes a \"headless service\" (no virtual IP), which is useful when direct endpoint connections are preferred and proxying is not required.  Only applies to types ClusterIP, NodePort, and LoadBalancer. If this field is specified when creating a Service of type ExternalName, creation will fail. This field will be wiped when updating a Service to type ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const SVC_EXTERNAL_IPS: &str = "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.  These IPs are not managed by Kubernetes.  The user is responsible for ensuring that traffic arrives at a node with this IP.  A common example is external load-balancers that are not part of the Kubernetes system.";
const SVC_PORTS: &str = "The list of ports that are exposed by this service. More info: https://kubernetes.io/docs/concepts/services-networking/service/#virtual-ips-and-service-proxies";
const SVC_SELECTOR: &str = "Route service traffic to pods with label keys and values matching this selector. If empty or not present, the service is assumed to have an external process managing its endpoints, which Kubernetes will not modify. Only applies to types ClusterIP, NodePort, and LoadBalancer. Ignored if type is ExternalName. More info: https://kubernetes.io/docs/concepts/services-networking/service/";
const EP_SUBSETS: &str = "The set of all endpoints is the union of all subsets. Addresses are placed into subsets according to the IPs they share. A single address with multiple ports, some of which are ready and some of which are not (because they come from different containers) will result in the address being displayed in different subsets for the different ports. No address will appear in both Addresses and NotReadyAddresses in the same subset. Sets of addresses and ports that comprise a service.";
const KUBELET_VERSION: &str = "Kubelet Version reported by the node.";
const NODE_ADDRESSES: &str = "List of addresses reachable to the node. Queried from cloud provider, if available. More info: https://kubernetes.io/docs/reference/node/node-status/#addresses Note: This field is declared as mergeable, but the merge key is not sufficiently unique, which can cause data corruption when it is merged. Callers should instead use a full-replacement patch. See https://pr.k8s.io/79391 for an example. Consumers should assume that addresses can change during the lifetime of a Node. However, there are some exceptions where this may not be possible, such as Pods that inherit a Node's address in its own status or consumers of the downward API (status.hostIP).";
const OS_IMAGE: &str = "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).";
const KERNEL_VERSION: &str = "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).";
const CONTAINER_RUNTIME: &str =
    "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).";
const EV_LAST: &str = "The time at which the most recent occurrence of this event was recorded.";
const EV_TYPE: &str = "Type of this event (Normal, Warning), new types could be added in the future";
const EV_REASON: &str = "This should be a short, machine understandable string that gives the reason for the transition into the object's current status.";
const EV_OBJECT: &str = "The object that this event is about.";
const EV_FIELD_PATH: &str = "If referring to a piece of an object instead of an entire object, this string should contain a valid JSON/Go field access statement, such as desiredState.manifest.containers[2]. For example, if the object reference is to a container within a pod, this would take on a value like: \"spec.containers{name}\" (where \"name\" refers to the name of the container that triggered the event) or if no container name is specified \"spec.containers[2]\" (container with index 2 in this pod). This syntax is chosen only to have some well-defined way of referencing a part of an object.";
const EV_SOURCE: &str = "The component reporting this event. Should be a short machine understandable string.";
const EV_MESSAGE: &str = "A human-readable description of the status of this operation.";
const EV_FIRST: &str = "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)";
const EV_COUNT: &str = "The number of times this event has occurred.";
const SECRET_TYPE: &str = "Used to facilitate programmatic handling of secret data. More info: https://kubernetes.io/docs/concepts/configuration/secret/#secret-types";
const SECRET_DATA: &str = "Data contains the secret data. Each key must consist of alphanumeric characters, '-', '_' or '.'. The serialized form of the secret data is a base64 encoded string, representing the arbitrary (possibly non-string) data value here. Described in https://tools.ietf.org/html/rfc4648#section-4";
const CM_DATA: &str = "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the keys in the BinaryData field, this is enforced during validation process.";
const SA_SECRETS: &str = "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use. Pods are only limited to this list if this service account has a \"kubernetes.io/enforce-mountable-secrets\" annotation set to \"true\". The \"kubernetes.io/enforce-mountable-secrets\" annotation is deprecated since v1.32. Prefer separate namespaces to isolate access to mounted secrets. This field should not be used to find auto-generated service account token secrets for use outside of pods. Instead, tokens can be requested directly using the TokenRequest API, or service account token secrets can be manually created. More info: https://kubernetes.io/docs/concepts/configuration/secret";
const DEPLOY_UPDATED: &str =
    "Total number of non-terminating pods targeted by this deployment that have the desired template spec.";
const DEPLOY_AVAILABLE: &str =
    "Total number of available non-terminating pods (ready for at least minReadySeconds) targeted by this deployment.";
const DEPLOY_SELECTOR: &str = "Label selector for pods. Existing ReplicaSets whose pods are selected by this will be the ones affected by this deployment.";
const LEASE_HOLDER: &str = "holderIdentity contains the identity of the holder of a current lease. If Coordinated Leader Election is used, the holder identity must be equal to the elected LeaseCandidate.metadata.name field.";

fn printer_for(group: &str, plural: &str) -> Printer {
    match (group, plural) {
        ("", "pods") => Printer {
            columns: &[
                NAME_COL,
                ("Ready", "string", "", "The aggregate readiness state of this pod for accepting traffic.", 0),
                ("Status", "string", "", "The aggregate status of the containers in this pod.", 0),
                (
                    "Restarts",
                    "string",
                    "",
                    "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
                    0,
                ),
                AGE_COL,
                ("IP", "string", "", POD_IP, 1),
                ("Node", "string", "", NODE_NAME, 1),
                ("Nominated Node", "string", "", NOMINATED_NODE, 1),
                ("Readiness Gates", "string", "", READINESS_GATES, 1),
            ],
            cells: print_pod,
        },
        ("apps", "deployments") => Printer {
            columns: &[
                NAME_COL,
                ("Ready", "string", "", "Number of the pod with ready state", 0),
                ("Up-to-date", "string", "", DEPLOY_UPDATED, 0),
                ("Available", "string", "", DEPLOY_AVAILABLE, 0),
                AGE_COL,
                CONTAINERS_COL,
                IMAGES_COL,
                ("Selector", "string", "", DEPLOY_SELECTOR, 1),
            ],
            cells: print_deployment,
        },
        ("apps", "replicasets") => Printer {
            columns: &[
                NAME_COL,
                ("Desired", "integer", "", RS_REPLICAS, 0),
                ("Current", "integer", "", RS_STATUS_REPLICAS, 0),
                ("Ready", "integer", "", RS_READY, 0),
                AGE_COL,
                CONTAINERS_COL,
                IMAGES_COL,
                ("Selector", "string", "", RS_SELECTOR, 1),
            ],
            cells: print_replica_set,
        },
        ("apps", "statefulsets") => Printer {
            columns: &[
                NAME_COL,
                ("Ready", "string", "", "Number of the pod with ready state", 0),
                AGE_COL,
                CONTAINERS_COL,
                IMAGES_COL,
            ],
            cells: print_stateful_set,
        },
        ("apps", "daemonsets") => Printer {
            columns: &[
                NAME_COL,
                ("Desired", "integer", "", DS_DESIRED, 0),
                ("Current", "integer", "", DS_CURRENT, 0),
                ("Ready", "integer", "", DS_READY, 0),
                ("Up-to-date", "integer", "", DS_UPDATED, 0),
                ("Available", "integer", "", DS_AVAILABLE, 0),
                ("Node Selector", "string", "", NODE_SELECTOR, 0),
                AGE_COL,
                CONTAINERS_COL,
                IMAGES_COL,
                ("Selector", "string", "", DS_SELECTOR, 1),
            ],
            cells: print_daemon_set,
        },
        ("batch", "jobs") => Printer {
            columns: &[
                NAME_COL,
                ("Status", "string", "", "Status of the job.", 0),
                ("Completions", "string", "", JOB_SUCCEEDED, 0),
                ("Duration", "string", "", "Time required to complete the job.", 0),
                AGE_COL,
                CONTAINERS_COL,
                IMAGES_COL,
                ("Selector", "string", "", JOB_SELECTOR, 1),
            ],
            cells: print_job,
        },
        ("batch", "cronjobs") => Printer {
            columns: &[
                NAME_COL,
                ("Schedule", "string", "", CJ_SCHEDULE, 0),
                ("Timezone", "string", "", CJ_TIMEZONE, 0),
                ("Suspend", "boolean", "", CJ_SUSPEND, 0),
                ("Active", "integer", "", CJ_ACTIVE, 0),
                ("Last Schedule", "string", "", CJ_LAST_SCHEDULE, 0),
                AGE_COL,
                CONTAINERS_COL,
                IMAGES_COL,
                ("Selector", "string", "", JOB_SELECTOR, 1),
            ],
            cells: print_cron_job,
        },
        ("", "services") => Printer {
            columns: &[
                NAME_COL,
                ("Type", "string", "", SVC_TYPE, 0),
                ("Cluster-IP", "string", "", SVC_CLUSTER_IP, 0),
                ("External-IP", "string", "", SVC_EXTERNAL_IPS, 0),
                ("Port(s)", "string", "", SVC_PORTS, 0),
                AGE_COL,
                ("Selector", "string", "", SVC_SELECTOR, 1),
            ],
            cells: print_service,
        },
        ("", "endpoints") => Printer {
            columns: &[NAME_COL, ("Endpoints", "string", "", EP_SUBSETS, 0), AGE_COL],
            cells: print_endpoints,
        },
        ("", "nodes") => Printer {
            columns: &[
                NAME_COL,
                ("Status", "string", "", "The status of the node", 0),
                ("Roles", "string", "", "The roles of the node", 0),
                AGE_COL,
                ("Version", "string", "", KUBELET_VERSION, 0),
                ("Internal-IP", "string", "", NODE_ADDRESSES, 1),
                ("External-IP", "string", "", NODE_ADDRESSES, 1),
                ("OS-Image", "string", "", OS_IMAGE, 1),
                ("Kernel-Version", "string", "", KERNEL_VERSION, 1),
                ("Container-Runtime", "string", "", CONTAINER_RUNTIME, 1),
            ],
            cells: print_node,
        },
        ("", "events") | ("events.k8s.io", "events") => Printer {
            columns: &[
                ("Last Seen", "string", "", EV_LAST, 0),
                ("Type", "string", "", EV_TYPE, 0),
                ("Reason", "string", "", EV_REASON, 0),
                ("Object", "string", "", EV_OBJECT, 0),
                ("Subobject", "string", "", EV_FIELD_PATH, 1),
                ("Source", "string", "", EV_SOURCE, 1),
                ("Message", "string", "", EV_MESSAGE, 0),
                ("First Seen", "string", "", EV_FIRST, 1),
                ("Count", "string", "", EV_COUNT, 1),
                ("Name", "string", "name", NAME, 1),
            ],
            cells: if group.is_empty() { print_event } else { print_events_v1_event },
        },
        ("", "namespaces") => Printer {
            columns: &[NAME_COL, ("Status", "string", "", "The status of the namespace", 0), AGE_COL],
            cells: |o, now| vec![name(o), json!(str_at(o, &["status", "phase"])), age(o, now)].into(),
        },
        ("", "secrets") => Printer {
            columns: &[
                NAME_COL,
                ("Type", "string", "", SECRET_TYPE, 0),
                ("Data", "string", "", SECRET_DATA, 0),
                AGE_COL,
            ],
            cells: |o, now| {
                let ty = non_empty(str_at(o, &["type"]), "Opaque");
                vec![name(o), json!(ty), json!(len_at(o, &["data"])), age(o, now)].into()
            },
        },
        ("", "configmaps") => Printer {
            columns: &[NAME_COL, ("Data", "string", "", CM_DATA, 0), AGE_COL],
            cells: |o, now| {
                let n = len_at(o, &["data"]) + len_at(o, &["binaryData"]);
                vec![name(o), json!(n), age(o, now)].into()
            },
        },
        ("", "serviceaccounts") => Printer {
            columns: &[NAME_COL, ("Secrets", "string", "", SA_SECRETS, 0), AGE_COL],
            cells: |o, now| vec![name(o), json!(len_at(o, &["secrets"])), age(o, now)].into(),
        },
        ("coordination.k8s.io", "leases") => Printer {
            columns: &[NAME_COL, ("Holder", "string", "", LEASE_HOLDER, 0), AGE_COL],
            cells: |o, now| vec![name(o), json!(str_at(o, &["spec", "holderIdentity"])), age(o, now)].into(),
        },
        _ => Printer {
            columns: &[NAME_COL, ("Created At", "date", "", CREATION_TIMESTAMP, 0)],
            cells: |o, _| default_cells(o).into(),
        },
    }
}

// ---------------------------------------------------------------------------------------
// Value helpers.
// ---------------------------------------------------------------------------------------

fn value_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

fn str_at(obj: &Value, path: &[&str]) -> String {
    value_at(obj, path).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn int_at(obj: &Value, path: &[&str]) -> i64 {
    value_at(obj, path).and_then(Value::as_i64).unwrap_or(0)
}

fn opt_int_at(obj: &Value, path: &[&str]) -> Option<i64> {
    value_at(obj, path).and_then(Value::as_i64)
}

fn bool_at(obj: &Value, path: &[&str]) -> bool {
    value_at(obj, path).and_then(Value::as_bool).unwrap_or(false)
}

fn list_at<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    value_at(obj, path).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[])
}

/// Number of entries of a map or list field (0 when missing).
fn len_at(obj: &Value, path: &[&str]) -> usize {
    match value_at(obj, path) {
        Some(Value::Object(m)) => m.len(),
        Some(Value::Array(l)) => l.len(),
        _ => 0,
    }
}

fn timestamp_at(obj: &Value, path: &[&str]) -> Option<Timestamp> {
    value_at(obj, path).and_then(Value::as_str).and_then(|s| s.parse::<Timestamp>().ok())
}

fn non_empty(s: String, default: &str) -> String {
    if s.is_empty() { default.to_string() } else { s }
}

fn name(obj: &Value) -> Value {
    json!(str_at(obj, &["metadata", "name"]))
}

/// `translateTimestampSince`: the age of a timestamp, `<unknown>` when unset.
fn since(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.duration_since(t)),
        None => "<unknown>".into(),
    }
}

fn age(obj: &Value, now: Timestamp) -> Value {
    json!(since(timestamp_at(obj, &["metadata", "creationTimestamp"]), now))
}

/// `labels.FormatLabels`: sorted `k=v` pairs, `<none>` when empty.
fn format_labels(map: Option<&Value>) -> String {
    let pairs: Vec<String> = map
        .and_then(Value::as_object)
        .map(|m| m.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect())
        .unwrap_or_default();
    if pairs.is_empty() { "<none>".into() } else { pairs.join(",") }
}

/// `LabelSelectorAsSelector(sel).String()`: requirements sorted by key, `""` for a nil or
/// empty selector, `<error>` for an invalid operator.
fn selector_string(sel: Option<&Value>) -> String {
    let Some(sel) = sel.filter(|s| !s.is_null()) else {
        return String::new();
    };
    let mut reqs: Vec<(String, String)> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        for (k, v) in m {
            reqs.push((k.clone(), format!("{k}={}", v.as_str().unwrap_or_default())));
        }
    }
    for e in sel.get("matchExpressions").and_then(Value::as_array).into_iter().flatten() {
        let key = e.get("key").and_then(Value::as_str).unwrap_or_default();
        let mut values: Vec<&str> = e
            .get("values")
            .and_then(Value::as_array)
            .map(|l| l.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        values.sort_unstable();
        let text = match e.get("operator").and_then(Value::as_str) {
            Some("In") => format!("{key} in ({})", values.join(",")),
            Some("NotIn") => format!("{key} notin ({})", values.join(",")),
            Some("Exists") => key.to_string(),
            Some("DoesNotExist") => format!("!{key}"),
            _ => return "<error>".into(),
        };
        reqs.push((key.to_string(), text));
    }
    reqs.sort_by(|a, b| a.0.cmp(&b.0));
    reqs.into_iter().map(|(_, t)| t).collect::<Vec<_>>().join(",")
}

/// `metav1.FormatLabelSelector`: like [`selector_string`] but `<none>` when empty.
fn format_label_selector(sel: Option<&Value>) -> String {
    non_empty(selector_string(sel), "<none>")
}

/// `layoutContainerCells`: comma-joined container names and images.
fn container_cells(pod_spec: Option<&Value>) -> (Value, Value) {
    let containers =
        pod_spec.and_then(|s| s.get("containers")).and_then(Value::as_array).map(Vec::as_slice).unwrap_or(&[]);
    let names: Vec<String> = containers.iter().map(|c| str_at(c, &["name"])).collect();
    let images: Vec<String> = containers.iter().map(|c| str_at(c, &["image"])).collect();
    (json!(names.join(",")), json!(images.join(",")))
}

fn is_true_condition(conditions: &[Value], ty: &str) -> bool {
    conditions.iter().any(|c| str_at(c, &["type"]) == ty && str_at(c, &["status"]) == "True")
}

/// First condition of this type decides (`hasJobCondition`).
fn first_condition_true(conditions: &[Value], ty: &str) -> bool {
    conditions.iter().find(|c| str_at(c, &["type"]) == ty).is_some_and(|c| str_at(c, &["status"]) == "True")
}

fn print_pod(pod: &Value, now: Timestamp) -> Printed {
    let spec = pod.get("spec");
    let status = pod.get("status").cloned().unwrap_or(Value::Null);
    let conditions = list_at(&status, &["conditions"]);
    let containers = spec.map_or(&[][..], |s| list_at(s, &["containers"]));
    let init_containers = spec.map_or(&[][..], |s| list_at(s, &["initContainers"]));
    let is_restartable_init = |name: &str| {
        init_containers.iter().any(|c| str_at(c, &["name"]) == name && str_at(c, &["restartPolicy"]) == "Always")
    };
    let finished_at = |c: &Value| timestamp_at(c, &["lastState", "terminated", "finishedAt"]);

    let mut restarts = 0i64;
    let mut restartable_init_restarts = 0i64;
    let total = containers.len() + init_containers.iter().filter(|c| str_at(c, &["restartPolicy"]) == "Always").count();
    let mut ready = 0usize;
    let mut last_restart: Option<Timestamp> = None;
    let mut last_restartable_init_restart: Option<Timestamp> = None;

    let phase = str_at(&status, &["phase"]);
    let mut reason = non_empty(str_at(&status, &["reason"]), &phase);
    if conditions.iter().any(|c| str_at(c, &["type"]) == "PodScheduled" && str_at(c, &["reason"]) == "SchedulingGated")
    {
        reason = "SchedulingGated".into();
    }
    let row_conditions = match phase.as_str() {
        "Succeeded" => vec![json!({"type": "Completed", "status": "True", "reason": "Succeeded",
                                   "message": "The pod has completed successfully."})],
        "Failed" => vec![json!({"type": "Completed", "status": "True", "reason": "Failed",
                                "message": "The pod failed."})],
        _ => Vec::new(),
    };

    let init_statuses = list_at(&status, &["initContainerStatuses"]);
    let mut initializing = false;
    for (i, c) in init_statuses.iter().enumerate() {
        restarts += int_at(c, &["restartCount"]);
        if let Some(t) = finished_at(c) {
            last_restart = last_restart.max(Some(t));
        }
        let restartable = is_restartable_init(&str_at(c, &["name"]));
        if restartable {
            restartable_init_restarts += int_at(c, &["restartCount"]);
            if let Some(t) = finished_at(c) {
                last_restartable_init_restart = last_restartable_init_restart.max(Some(t));
            }
        }
        let terminated = value_at(c, &["state", "terminated"]).filter(|v| !v.is_null());
        let waiting_reason = str_at(c, &["state", "waiting", "reason"]);
        if terminated.is_some_and(|t| int_at(t, &["exitCode"]) == 0) {
            continue;
        } else if restartable && bool_at(c, &["started"]) {
            if bool_at(c, &["ready"]) {
                ready += 1;
            }
            continue;
        } else if let Some(t) = terminated {
            let r = str_at(t, &["reason"]);
            reason = if !r.is_empty() {
                format!("Init:{r}")
            } else if int_at(t, &["signal"]) != 0 {
                format!("Init:Signal:{}", int_at(t, &["signal"]))
            } else {
                format!("Init:ExitCode:{}", int_at(t, &["exitCode"]))
            };
        } else if !waiting_reason.is_empty() && waiting_reason != "PodInitializing" {
            reason = format!("Init:{waiting_reason}");
        } else {
            reason = format!("Init:{i}/{}", init_containers.len());
        }
        initializing = true;
        break;
    }

    if !initializing || is_true_condition(conditions, "Initialized") {
        restarts = restartable_init_restarts;
        last_restart = last_restartable_init_restart;
        let mut has_running = false;
        for c in list_at(&status, &["containerStatuses"]).iter().rev() {
            restarts += int_at(c, &["restartCount"]);
            if let Some(t) = finished_at(c) {
                last_restart = last_restart.max(Some(t));
            }
            let waiting = str_at(c, &["state", "waiting", "reason"]);
            let terminated = value_at(c, &["state", "terminated"]).filter(|v| !v.is_null());
            let running = value_at(c, &["state", "running"]).is_some_and(|v| !v.is_null());
            if !waiting.is_empty() {
                reason = waiting;
            } else if let Some(t) = terminated {
                let r = str_at(t, &["reason"]);
                reason = if !r.is_empty() {
                    r
                } else if int_at(t, &["signal"]) != 0 {
                    format!("Signal:{}", int_at(t, &["signal"]))
                } else {
                    format!("ExitCode:{}", int_at(t, &["exitCode"]))
                };
            } else if bool_at(c, &["ready"]) && running {
                has_running = true;
                ready += 1;
            }
        }
        if reason == "Completed" && has_running {
            reason = if is_true_condition(conditions, "Ready") { "Running".into() } else { "NotReady".into() };
        }
    }

    let deleting = value_at(pod, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    if deleting && str_at(&status, &["reason"]) == "NodeLost" {
        reason = "Unknown".into();
    } else if deleting && phase != "Succeeded" && phase != "Failed" {
        reason = "Terminating".into();
    }

    let restarts_str = match last_restart {
        Some(t) if restarts != 0 => format!("{restarts} ({} ago)", since(Some(t), now)),
        _ => restarts.to_string(),
    };

    // status.podIP is authoritative over podIPs[0], as in the v1 -> internal conversion.
    let pod_ip = match str_at(&status, &["podIP"]) {
        ip if !ip.is_empty() => ip,
        _ => list_at(&status, &["podIPs"]).first().map(|first| str_at(first, &["ip"])).unwrap_or_default(),
    };
    let pod_ip = non_empty(pod_ip, "<none>");
    let readiness_gates = spec.map_or(&[][..], |s| list_at(s, &["readinessGates"]));
    let gates = if readiness_gates.is_empty() {
        "<none>".to_string()
    } else {
        let true_count =
            readiness_gates.iter().filter(|g| first_condition_true(conditions, &str_at(g, &["conditionType"]))).count();
        format!("{true_count}/{}", readiness_gates.len())
    };
    Printed {
        cells: vec![
            name(pod),
            json!(format!("{ready}/{total}")),
            json!(reason),
            json!(restarts_str),
            age(pod, now),
            json!(pod_ip),
            json!(non_empty(str_at(pod, &["spec", "nodeName"]), "<none>")),
            json!(non_empty(str_at(&status, &["nominatedNodeName"]), "<none>")),
            json!(gates),
        ],
        conditions: row_conditions,
    }
}

fn print_deployment(o: &Value, now: Timestamp) -> Printed {
    let desired = opt_int_at(o, &["spec", "replicas"]).unwrap_or(1);
    let ready = int_at(o, &["status", "readyReplicas"]);
    let (names, images) = container_cells(value_at(o, &["spec", "template", "spec"]));
    vec![
        name(o),
        json!(format!("{ready}/{desired}")),
        json!(int_at(o, &["status", "updatedReplicas"])),
        json!(int_at(o, &["status", "availableReplicas"])),
        age(o, now),
        names,
        images,
        json!(selector_string(value_at(o, &["spec", "selector"]))),
    ]
    .into()
}

fn print_replica_set(o: &Value, now: Timestamp) -> Printed {
    let (names, images) = container_cells(value_at(o, &["spec", "template", "spec"]));
    vec![
        name(o),
        json!(opt_int_at(o, &["spec", "replicas"]).unwrap_or(1)),
        json!(int_at(o, &["status", "replicas"])),
        json!(int_at(o, &["status", "readyReplicas"])),
        age(o, now),
        names,
        images,
        json!(format_label_selector(value_at(o, &["spec", "selector"]))),
    ]
    .into()
}

fn print_stateful_set(o: &Value, now: Timestamp) -> Printed {
    let desired = opt_int_at(o, &["spec", "replicas"]).unwrap_or(1);
    let ready = int_at(o, &["status", "readyReplicas"]);
    let (names, images) = container_cells(value_at(o, &["spec", "template", "spec"]));
    vec![name(o), json!(format!("{ready}/{desired}")), age(o, now), names, images].into()
}

fn print_daemon_set(o: &Value, now: Timestamp) -> Printed {
    let (names, images) = container_cells(value_at(o, &["spec", "template", "spec"]));
    let st = |f: &str| json!(int_at(o, &["status", f]));
    vec![
        name(o),
        st("desiredNumberScheduled"),
        st("currentNumberScheduled"),
        st("numberReady"),
        st("updatedNumberScheduled"),
        st("numberAvailable"),
        json!(format_labels(value_at(o, &["spec", "template", "spec", "nodeSelector"]))),
        age(o, now),
        names,
        images,
        json!(format_label_selector(value_at(o, &["spec", "selector"]))),
    ]
    .into()
}

fn print_job(o: &Value, now: Timestamp) -> Printed {
    let succeeded = int_at(o, &["status", "succeeded"]);
    let parallelism = opt_int_at(o, &["spec", "parallelism"]);
    // Defaulting sets completions (and parallelism) to 1 when both are unset.
    let completions = opt_int_at(o, &["spec", "completions"]).or(if parallelism.is_none() { Some(1) } else { None });
    let completions = match (completions, parallelism.unwrap_or(0)) {
        (Some(c), _) => format!("{succeeded}/{c}"),
        (None, p) if p > 1 => format!("{succeeded}/1 of {p}"),
        (None, _) => format!("{succeeded}/1"),
    };
    let start = timestamp_at(o, &["status", "startTime"]);
    let completion = timestamp_at(o, &["status", "completionTime"]);
    let duration = match (start, completion) {
        (None, _) => String::new(),
        (Some(s), None) => human_duration(now.duration_since(s)),
        (Some(s), Some(c)) => human_duration(c.duration_since(s)),
    };
    let conditions = list_at(o, &["status", "conditions"]);
    let deleting = value_at(o, &["metadata", "deletionTimestamp"]).is_some_and(|v| !v.is_null());
    let status = if first_condition_true(conditions, "Complete") {
        "Complete"
    } else if first_condition_true(conditions, "Failed") {
        "Failed"
    } else if deleting {
        "Terminating"
    } else if first_condition_true(conditions, "Suspended") {
        "Suspended"
    } else if first_condition_true(conditions, "FailureTarget") {
        "FailureTarget"
    } else {
        "Running"
    };
    let (names, images) = container_cells(value_at(o, &["spec", "template", "spec"]));
    vec![
        name(o),
        json!(status),
        json!(completions),
        json!(duration),
        age(o, now),
        names,
        images,
        json!(format_label_selector(value_at(o, &["spec", "selector"]))),
    ]
    .into()
}

fn print_cron_job(o: &Value, now: Timestamp) -> Printed {
    let last =
        timestamp_at(o, &["status", "lastScheduleTime"]).map_or_else(|| "<none>".to_string(), |t| since(Some(t), now));
    let suspend = match value_at(o, &["spec", "suspend"]).and_then(Value::as_bool) {
        Some(true) => "True",
        _ => "False",
    };
    let job_spec = value_at(o, &["spec", "jobTemplate", "spec"]);
    let (names, images) = container_cells(job_spec.and_then(|s| value_at(s, &["template", "spec"])));
    vec![
        name(o),
        json!(str_at(o, &["spec", "schedule"])),
        json!(non_empty(str_at(o, &["spec", "timeZone"]), "<none>")),
        json!(suspend),
        json!(len_at(o, &["status", "active"])),
        json!(last),
        age(o, now),
        names,
        images,
        json!(format_label_selector(job_spec.and_then(|s| s.get("selector")))),
    ]
    .into()
}

fn print_service(o: &Value, now: Timestamp) -> Printed {
    let svc_type = non_empty(str_at(o, &["spec", "type"]), "ClusterIP");
    let cluster_ip = match list_at(o, &["spec", "clusterIPs"]).first() {
        Some(ip) => ip.as_str().unwrap_or_default().to_string(),
        None => non_empty(str_at(o, &["spec", "clusterIP"]), "<none>"),
    };
    let external_ips: Vec<String> =
        list_at(o, &["spec", "externalIPs"]).iter().filter_map(|v| v.as_str().map(str::to_string)).collect();
    let external = match svc_type.as_str() {
        "ClusterIP" | "NodePort" if !external_ips.is_empty() => external_ips.join(","),
        "ClusterIP" | "NodePort" => "<none>".into(),
        "LoadBalancer" => {
            let mut lb: Vec<String> = list_at(o, &["status", "loadBalancer", "ingress"])
                .iter()
                .map(|i| non_empty(str_at(i, &["ip"]), &str_at(i, &["hostname"])))
                .filter(|s| !s.is_empty())
                .collect();
            lb.sort();
            lb.dedup();
            lb.extend(external_ips);
            non_empty(lb.join(","), "<pending>")
        }
        "ExternalName" => str_at(o, &["spec", "externalName"]),
        _ => "<unknown>".into(),
    };
    let ports: Vec<String> = list_at(o, &["spec", "ports"])
        .iter()
        .map(|p| {
            let proto = non_empty(str_at(p, &["protocol"]), "TCP");
            let port = int_at(p, &["port"]);
            match int_at(p, &["nodePort"]) {
                np if np > 0 => format!("{port}:{np}/{proto}"),
                _ => format!("{port}/{proto}"),
            }
        })
        .collect();
    vec![
        name(o),
        json!(svc_type),
        json!(cluster_ip),
        json!(external),
        json!(non_empty(ports.join(","), "<none>")),
        age(o, now),
        json!(format_labels(value_at(o, &["spec", "selector"]))),
    ]
    .into()
}

fn print_endpoints(o: &Value, now: Timestamp) -> Printed {
    const MAX: usize = 3;
    let subsets = list_at(o, &["subsets"]);
    let text = if subsets.is_empty() {
        "<none>".to_string()
    } else {
        let mut list: Vec<String> = Vec::new();
        let (mut more, mut count) = (false, 0usize);
        for ss in subsets {
            let addresses = list_at(ss, &["addresses"]);
            let ports = list_at(ss, &["ports"]);
            let entries: Vec<Option<i64>> =
                if ports.is_empty() { vec![None] } else { ports.iter().map(|p| Some(int_at(p, &["port"]))).collect() };
            for port in entries {
                count += addresses.len();
                for a in addresses {
                    if list.len() == MAX {
                        more = true;
                        break;
                    }
                    let ip = str_at(a, &["ip"]);
                    list.push(match port {
                        None => ip,
                        Some(p) if ip.contains(':') => format!("[{ip}]:{p}"),
                        Some(p) => format!("{ip}:{p}"),
                    });
                }
            }
        }
        let joined = list.join(",");
        if more { format!("{joined} + {} more...", count - MAX) } else { joined }
    };
    vec![name(o), json!(text), age(o, now)].into()
}

fn print_node(o: &Value, now: Timestamp) -> Printed {
    let mut status: Vec<String> = Vec::new();
    let conditions = list_at(o, &["status", "conditions"]);
    // The last condition of a type wins, like the map the printer builds.
    if let Some(c) = conditions.iter().rev().find(|c| str_at(c, &["type"]) == "Ready") {
        status.push(if str_at(c, &["status"]) == "True" { "Ready".into() } else { "NotReady".into() });
    }
    if status.is_empty() {
        status.push("Unknown".into());
    }
    if bool_at(o, &["spec", "unschedulable"]) {
        status.push("SchedulingDisabled".into());
    }
    let mut roles: Vec<String> = value_at(o, &["metadata", "labels"])
        .and_then(Value::as_object)
        .map(|labels| {
            labels
                .iter()
                .filter_map(|(k, v)| match k.strip_prefix("node-role.kubernetes.io/") {
                    Some(role) if !role.is_empty() => Some(role.to_string()),
                    Some(_) => None,
                    None if k == "kubernetes.io/role" => v.as_str().filter(|s| !s.is_empty()).map(str::to_string),
                    None => None,
                })
                .collect()
        })
        .unwrap_or_default();
    roles.sort();
    roles.dedup();
    let address = |ty: &str| {
        list_at(o, &["status", "addresses"])
            .iter()
            .find(|a| str_at(a, &["type"]) == ty)
            .map_or_else(|| "<none>".to_string(), |a| str_at(a, &["address"]))
    };
    let info = |f: &str| json!(non_empty(str_at(o, &["status", "nodeInfo", f]), "<unknown>"));
    vec![
        name(o),
        json!(status.join(",")),
        json!(non_empty(roles.join(","), "<none>")),
        age(o, now),
        json!(str_at(o, &["status", "nodeInfo", "kubeletVersion"])),
        json!(address("InternalIP")),
        json!(address("ExternalIP")),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
    ]
    .into()
}

fn print_event(o: &Value, now: Timestamp) -> Printed {
    let first = match timestamp_at(o, &["firstTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => since(timestamp_at(o, &["eventTime"]), now),
    };
    let mut last = match timestamp_at(o, &["lastTimestamp"]) {
        Some(t) => since(Some(t), now),
        None => first.clone(),
    };
    let mut count = int_at(o, &["count"]);
    match o.get("series").filter(|s| !s.is_null()) {
        Some(series) => {
            last = since(timestamp_at(series, &["lastObservedTime"]), now);
            count = int_at(series, &["count"]);
        }
        None if count == 0 => count = 1,
        None => {}
    }
    let kind = str_at(o, &["involvedObject", "kind"]).to_lowercase();
    let obj_name = str_at(o, &["involvedObject", "name"]);
    let target = if obj_name.is_empty() { kind } else { format!("{kind}/{obj_name}") };
    let component = non_empty(str_at(o, &["source", "component"]), &str_at(o, &["reportingComponent"]));
    let instance = non_empty(str_at(o, &["source", "host"]), &str_at(o, &["reportingInstance"]));
    let source = if instance.is_empty() { component } else { format!("{component}, {instance}") };
    vec![
        json!(last),
        json!(str_at(o, &["type"])),
        json!(str_at(o, &["reason"])),
        json!(target),
        json!(str_at(o, &["involvedObject", "fieldPath"])),
        json!(source),
        json!(str_at(o, &["message"]).trim()),
        json!(first),
        json!(count),
        name(o),
    ]
    .into()
}

/// events.k8s.io/v1 Events print through the core printer after the field renames the
/// server's conversion applies.
fn print_events_v1_event(o: &Value, now: Timestamp) -> Printed {
    let get = |k: &str| o.get(k).cloned().unwrap_or(Value::Null);
    let core = json!({
        "metadata": get("metadata"),
        "involvedObject": get("regarding"),
        "message": get("note"),
        "source": get("deprecatedSource"),
        "firstTimestamp": get("deprecatedFirstTimestamp"),
        "lastTimestamp": get("deprecatedLastTimestamp"),
        "count": get("deprecatedCount"),
        "reportingComponent": get("reportingController"),
        "reportingInstance": get("reportingInstance"),
        "series": get("series"),
        "eventTime": get("eventTime"),
        "type": get("type"),
        "reason": get("reason"),
    });
    print_event(&core, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-01-10T12:00:00Z".parse().expect("timestamp")
    }

    fn col_names(table: &Value) -> Vec<&str> {
        table["columnDefinitions"]
            .as_array()
            .expect("columns")
            .iter()
            .map(|c| c["name"].as_str().expect("name"))
            .collect()
    }

    #[test]
    fn human_durations() {
        let d = |s: i64| human_duration(SignedDuration::from_secs(s));
        assert_eq!(d(-5), "<invalid>");
        assert_eq!(d(-1), "0s");
        assert_eq!(d(5), "5s");
        assert_eq!(d(119), "119s");
        assert_eq!(d(182), "3m2s");
        assert_eq!(d(600), "10m");
        assert_eq!(d(3 * 3600 + 5 * 60), "3h5m");
        assert_eq!(d(10 * 3600), "10h");
        assert_eq!(d(2 * 86400 + 3 * 3600), "2d3h");
        assert_eq!(d(400 * 86400), "400d");
        assert_eq!(d((365 * 3 + 20) * 86400), "3y20d");
        assert_eq!(d(365 * 10 * 86400), "10y");
    }

    #[test]
    fn pod_table() {
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "creationTimestamp": "2026-01-10T11:55:00Z",
                         "resourceVersion": "7", "uid": "u1"},
            "spec": {"nodeName": "node-1", "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]},
            "status": {"phase": "Running", "podIPs": [{"ip": "10.1.0.4"}],
                       "conditions": [{"type": "Ready", "status": "True"}],
                       "containerStatuses": [
                           {"name": "a", "ready": true, "restartCount": 2, "state": {"running": {}},
                            "lastState": {"terminated": {"finishedAt": "2026-01-10T11:58:00Z", "exitCode": 1}}},
                           {"name": "b", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}
                       ]}
        });
        let t = builtin_table("", "pods", &[pod], json!({"resourceVersion": "9"}), IncludeObject::Metadata, now());
        assert_eq!(t["kind"], "Table");
        assert_eq!(t["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(t["metadata"]["resourceVersion"], "9");
        assert_eq!(
            col_names(&t),
            ["Name", "Ready", "Status", "Restarts", "Age", "IP", "Node", "Nominated Node", "Readiness Gates"]
        );
        assert_eq!(t["columnDefinitions"][0]["format"], "name");
        assert_eq!(t["columnDefinitions"][0]["description"], NAME);
        assert_eq!(t["columnDefinitions"][5]["priority"], 1);
        assert_eq!(t["columnDefinitions"][3]["type"], "string");
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["web", "1/2", "CrashLoopBackOff", "2 (2m ago)", "5m", "10.1.0.4", "node-1", "<none>", "<none>"])
        );
        let obj = &t["rows"][0]["object"];
        assert_eq!(obj["kind"], "PartialObjectMetadata");
        assert_eq!(obj["apiVersion"], "meta.k8s.io/v1");
        assert_eq!(obj["metadata"]["uid"], "u1");
        assert!(obj.get("spec").is_none());
    }

    #[test]
    fn pod_succeeded_row_condition_and_include_modes() {
        let pod = json!({"metadata": {"name": "done"}, "spec": {"containers": [{"name": "a"}]},
                         "status": {"phase": "Succeeded", "containerStatuses": [
                             {"name": "a", "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]}});
        let t = builtin_table("", "pods", std::slice::from_ref(&pod), json!({}), IncludeObject::None, now());
        assert_eq!(t["rows"][0]["cells"][2], "Completed");
        assert_eq!(t["rows"][0]["cells"][4], "<unknown>");
        assert_eq!(t["rows"][0]["conditions"][0]["reason"], "Succeeded");
        assert!(t["rows"][0]["object"].is_null());
        let t = builtin_table("", "pods", std::slice::from_ref(&pod), json!({}), IncludeObject::Object, now());
        assert_eq!(t["rows"][0]["object"], pod);
        assert_eq!(IncludeObject::parse(""), Some(IncludeObject::Metadata));
        assert_eq!(IncludeObject::parse("bogus"), None);
    }

    #[test]
    fn deployment_table() {
        let d = json!({
            "metadata": {"name": "web", "creationTimestamp": "2026-01-08T09:00:00Z"},
            "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"},
                     "matchExpressions": [{"key": "tier", "operator": "In", "values": ["b", "a"]}]},
                     "template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}},
            "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}
        });
        let t = builtin_table("apps", "deployments", &[d], json!({}), IncludeObject::Metadata, now());
        assert_eq!(
            col_names(&t),
            ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
        );
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["web", "2/3", 3, 2, "2d3h", "nginx", "nginx:1.27", "app=web,tier in (a,b)"])
        );
    }

    #[test]
    fn configmap_secret_lease_namespace_tables() {
        let cm = json!({"metadata": {"name": "c", "creationTimestamp": "2026-01-10T11:59:55Z"},
                        "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
        let t = builtin_table("", "configmaps", &[cm], json!({}), IncludeObject::Metadata, now());
        assert_eq!(col_names(&t), ["Name", "Data", "Age"]);
        assert_eq!(t["rows"][0]["cells"], json!(["c", 3, "5s"]));

        let s = json!({"metadata": {"name": "s"}, "data": {"k": "dg=="}});
        let t = builtin_table("", "secrets", &[s], json!({}), IncludeObject::Metadata, now());
        assert_eq!(col_names(&t), ["Name", "Type", "Data", "Age"]);
        assert_eq!(t["rows"][0]["cells"], json!(["s", "Opaque", 1, "<unknown>"]));

        let l = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "me"}});
        let t = builtin_table("coordination.k8s.io", "leases", &[l], json!({}), IncludeObject::None, now());
        assert_eq!(col_names(&t), ["Name", "Holder", "Age"]);
        assert_eq!(t["rows"][0]["cells"][1], "me");

        let ns = json!({"metadata": {"name": "default"}, "status": {"phase": "Active"}});
        let t = builtin_table("", "namespaces", &[ns], json!({}), IncludeObject::None, now());
        assert_eq!(t["rows"][0]["cells"], json!(["default", "Active", "<unknown>"]));
    }

    #[test]
    fn service_node_event_job_tables() {
        let svc = json!({"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIPs": ["10.0.0.1"],
                         "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}, {"port": 53, "protocol": "UDP"}],
                         "selector": {"app": "x"}}});
        let t = builtin_table("", "services", &[svc], json!({}), IncludeObject::None, now());
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["s", "NodePort", "10.0.0.1", "<none>", "80:30080/TCP,53/UDP", "<unknown>", "app=x"])
        );

        let node = json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": ""}},
                          "spec": {"unschedulable": true},
                          "status": {"conditions": [{"type": "Ready", "status": "True"}],
                                     "addresses": [{"type": "InternalIP", "address": "192.168.1.2"}],
                                     "nodeInfo": {"kubeletVersion": "v1.33.1"}}});
        let t = builtin_table("", "nodes", &[node], json!({}), IncludeObject::None, now());
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "n",
                "Ready,SchedulingDisabled",
                "control-plane",
                "<unknown>",
                "v1.33.1",
                "192.168.1.2",
                "<none>",
                "<unknown>",
                "<unknown>",
                "<unknown>"
            ])
        );

        let ev = json!({"metadata": {"name": "e1"}, "involvedObject": {"kind": "Pod", "name": "web"},
                        "reason": "Pulled", "type": "Normal", "message": " ok \n",
                        "source": {"component": "kubelet", "host": "n"},
                        "firstTimestamp": "2026-01-10T11:00:00Z", "lastTimestamp": "2026-01-10T11:59:00Z", "count": 4});
        let t = builtin_table("", "events", &[ev], json!({}), IncludeObject::None, now());
        assert_eq!(col_names(&t)[0], "Last Seen");
        assert_eq!(
            t["rows"][0]["cells"],
            json!(["60s", "Normal", "Pulled", "pod/web", "", "kubelet, n", "ok", "60m", 4, "e1"])
        );

        let job = json!({"metadata": {"name": "j"}, "spec": {"template": {"spec": {"containers": []}}},
                         "status": {"succeeded": 1, "startTime": "2026-01-10T11:00:00Z",
                                    "completionTime": "2026-01-10T11:00:30Z",
                                    "conditions": [{"type": "Complete", "status": "True"}]}});
        let t = builtin_table("batch", "jobs", &[job], json!({}), IncludeObject::None, now());
        assert_eq!(
            t["rows"][0]["cells"].as_array().expect("cells")[1..4],
            [json!("Complete"), json!("1/1"), json!("30s")]
        );
    }

    #[test]
    fn custom_resource_tables() {
        let cr = json!({"metadata": {"name": "p0", "creationTimestamp": "2026-01-10T11:59:00Z"},
                        "spec": {"size": 1, "color": "red"}});
        let t = custom_resource_table(&[], std::slice::from_ref(&cr), json!({}), IncludeObject::Metadata, now());
        assert_eq!(col_names(&t), ["Name", "Age"]);
        assert_eq!(t["columnDefinitions"][1]["type"], "date");
        assert_eq!(t["columnDefinitions"][1]["description"], CREATION_TIMESTAMP);
        assert_eq!(t["rows"][0]["cells"], json!(["p0", "60s"]));

        let cols: Vec<PrinterColumn> = [
            json!({"jsonPath": ".spec.size", "name": "Size", "type": "integer"}),
            json!({"jsonPath": ".spec.color", "name": "Color", "type": "string"}),
            json!({"jsonPath": ".spec.missing", "name": "Missing", "type": "string"}),
            json!({"jsonPath": ".metadata.creationTimestamp", "name": "Age", "type": "date"}),
        ]
        .iter()
        .map(PrinterColumn::from_json)
        .collect();
        let t = custom_resource_table(&cols, &[cr], json!({"resourceVersion": "5"}), IncludeObject::Metadata, now());
        assert_eq!(
            t["columnDefinitions"][1],
            json!({"name": "Size", "type": "integer", "format": "", "priority": 0,
                   "description": "Custom resource definition column (in JSONPath format): .spec.size"})
        );
        assert_eq!(t["rows"][0]["cells"], json!(["p0", 1, "red", null, "60s"]));
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn default_table_for_crds() {
        let crd = json!({"metadata": {"name": "widgets.example.com", "creationTimestamp": "2026-01-10T11:00:00Z"}});
        let t = builtin_table(
            "apiextensions.k8s.io",
            "customresourcedefinitions",
            std::slice::from_ref(&crd),
            json!({}),
            IncludeObject::None,
            now(),
        );
        assert_eq!(col_names(&t), ["Name", "Created At"]);
        assert_eq!(t["rows"][0]["cells"], json!(["widgets.example.com", "2026-01-10T11:00:00Z"]));
        assert_eq!(default_table(&[crd], json!({}), IncludeObject::None), t);
    }

    #[test]
    fn partial_metadata() {
        let obj = json!({"kind": "Widget", "metadata": {"name": "w", "labels": {"a": "b"}}, "spec": {}});
        let p = partial_object_metadata(&obj);
        assert_eq!(
            p,
            json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                   "metadata": {"name": "w", "labels": {"a": "b"}}})
        );
        let l = partial_object_metadata_list(&[obj], json!({"resourceVersion": "3"}));
        assert_eq!(l["kind"], "PartialObjectMetadataList");
        assert_eq!(l["metadata"]["resourceVersion"], "3");
        assert_eq!(l["items"][0], p);
    }

    #[test]
    fn json_paths() {
        let v = json!({"a": {"b": [{"c": 1}, {"c": 2}], "x.y": "dot"}});
        assert_eq!(json_path(&v, ".a.b[1].c"), Some(&json!(2)));
        assert_eq!(json_path(&v, "{.a.b[-1].c}"), Some(&json!(2)));
        assert_eq!(json_path(&v, ".a['x.y']"), Some(&json!("dot")));
        assert_eq!(json_path(&v, ".a.z"), None);
        let st = json!({"status": {"conditions": [
            {"type": "Synced", "status": "True"}, {"type": "Ready", "status": "False"}]}});
        assert_eq!(json_path(&st, r#".status.conditions[?(@.type=="Ready")].status"#), Some(&json!("False")));
        assert_eq!(json_path(&st, ".status.conditions[?(@.type=='Gone')].status"), None);
        assert_eq!(json_path(&st, ".status.conditions[*].type"), Some(&json!("Synced")));
    }
}
