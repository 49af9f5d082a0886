//! The logic of the four client programs (`restclient`, `clientset`, `dynamic`,
//! `discovery`), each taking a [`Client`] and returning the text it prints, so the binaries
//! stay one line and the tests can check the output.

use std::fmt::Write as _;

use k8s_openapi::api::core::v1::{Node, Pod};
use rkube::client::discovery::{DiscoveryClient, DiscoveryError, RestMapper};
use rkube::client::dynamic::to_typed_list;
use rkube::client::{Client, ClientSet, DynamicClient};
use rkube::core::{GroupVersionResource, ListOptions, ObjectList, Resource};

use crate::cluster::BoxError;

/// The demo custom resource the `dynamic` program lists (the CRD of [`crate::cluster::demo_seed`]).
pub fn demo_crd_gvr() -> GroupVersionResource {
    GroupVersionResource::new("example.com", "v1", "widgets")
}

fn name_of(meta: &k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("<unnamed>")
}

/// `restclient`: the request builder by hand — `GET /api/v1/nodes?limit=100` — decoded into
/// a typed list; prints every node's name.
pub async fn restclient(client: &Client) -> Result<String, BoxError> {
    let nodes: ObjectList<Node> =
        client.get().resource(&Node::api_resource()).query(ListOptions::default().limit(100).to_query()).into().await?;
    let mut out = format!("There are {} nodes in the cluster\n", nodes.items.len());
    for node in &nodes.items {
        writeln!(out, "{}", name_of(&node.metadata))?;
    }
    Ok(out)
}

/// `clientset`: the typed facade — pods, deployments and daemonsets in `default`, 500 per page.
pub async fn clientset(client: &Client) -> Result<String, BoxError> {
    let cs = ClientSet::new(client.clone());
    let page = ListOptions::default().limit(500);
    let pods = cs.core_v1().pods("default").list(&page).await?;
    let deployments = cs.apps_v1().deployments("default").list(&page).await?;
    let daemonsets = cs.apps_v1().daemon_sets("default").list(&page).await?;
    let mut out = format!("There are {} pods in the default namespace\n", pods.items.len());
    for pod in &pods.items {
        let node = pod.spec.as_ref().and_then(|s| s.node_name.as_deref()).unwrap_or("<unscheduled>");
        writeln!(out, "  pod {} on {node}", name_of(&pod.metadata))?;
    }
    writeln!(out, "There are {} deployments in the default namespace", deployments.items.len())?;
    for d in &deployments.items {
        let replicas = d.spec.replicas.unwrap_or(1);
        writeln!(out, "  deployment {} ({replicas} replicas)", name_of(&d.metadata))?;
    }
    writeln!(out, "There are {} daemonsets in the default namespace", daemonsets.items.len())?;
    for ds in &daemonsets.items {
        writeln!(out, "  daemonset {}", name_of(&ds.metadata))?;
    }
    Ok(out)
}

/// `dynamic`: pods through their group/version/resource as unstructured objects, converted
/// to a typed `PodList`; then the objects of a custom resource (by default the demo CRD's
/// `example.com/v1 widgets`), whose scope comes from discovery.
pub async fn dynamic(client: &Client, custom: &GroupVersionResource) -> Result<String, BoxError> {
    let mapper = RestMapper::new(DiscoveryClient::new(client.clone()).cached_in_memory());
    let dynamic = DynamicClient::new(client.clone());

    let pods_gvr = GroupVersionResource::new("", "v1", "pods");
    let pods = mapper.resource_for_gvr(&pods_gvr).await?;
    let list = dynamic.resource(&pods).namespace("default").list(&ListOptions::default()).await?;
    let typed: ObjectList<Pod> = to_typed_list(list)?;
    let mut out = format!("{} pods in default through {pods_gvr}, as a typed PodList:\n", typed.items.len());
    for pod in &typed.items {
        let image = pod.spec.as_ref().and_then(|s| s.containers.first()).and_then(|c| c.image.as_deref()).unwrap_or("");
        writeln!(out, "  {} {image}", name_of(&pod.metadata))?;
    }

    let resource = match mapper.resource_for_gvr(custom).await {
        Ok(r) => r,
        Err(e) => {
            writeln!(out, "{custom} is not served here ({e}); skipping custom objects")?;
            return Ok(out);
        }
    };
    let mut api = dynamic.resource(&resource);
    if resource.namespaced {
        api = api.namespace("default");
    }
    let objects = api.list(&ListOptions::default()).await?;
    writeln!(out, "{} {} ({}) objects through {custom}:", objects.items.len(), resource.kind, resource.plural)?;
    for obj in &objects.items {
        let spec = obj.data.get("spec").map(|s| s.to_string()).unwrap_or_default();
        writeln!(out, "  {} {spec}", name_of(&obj.metadata))?;
    }
    Ok(out)
}

/// `discovery`: the server version, then name, group and version of every resource of every
/// group/version the server serves (subresources left out). A group that fails to answer is
/// reported; the others are still printed.
pub async fn discovery(client: &Client) -> Result<String, BoxError> {
    let discovery = DiscoveryClient::new(client.clone()).cached_in_memory();
    let version = discovery.server_version().await?;
    let mut out = format!("Server version {}\n", version.git_version);
    let (lists, problem) = match discovery.server_groups_and_resources().await {
        Ok((_, lists)) => (lists, None),
        Err(DiscoveryError::GroupDiscoveryFailed(partial)) => {
            let message = partial.to_string();
            (partial.resources, Some(message))
        }
        Err(e) => return Err(e.into()),
    };
    let mut rows = vec![("NAME".to_string(), "GROUP".to_string(), "VERSION".to_string())];
    for list in &lists {
        let gv = rkube::core::GroupVersion::parse(&list.group_version)?;
        for r in list.resources.iter().filter(|r| !r.name.contains('/')) {
            rows.push((r.name.clone(), gv.group.clone(), gv.version.clone()));
        }
    }
    let (w0, w1) = rows.iter().fold((0, "(core)".len()), |(a, b), r| (a.max(r.0.len()), b.max(r.1.len())));
    for (name, group, version) in &rows {
        let group = if group.is_empty() && name != "NAME" { "(core)" } else { group };
        writeln!(out, "{name:<w0$}   {group:<w1$}   {version}")?;
    }
    if let Some(problem) = problem {
        writeln!(out, "warning: {problem}")?;
    }
    Ok(out)
}
