//! `rkube api-resources` and `rkube api-versions`: kubectl's commands of the same names,
//! printing the same columns in the same order and spacing, through the same disk cache
//! (`$KUBECACHEDIR` or `~/.kube/cache`, `discovery/<host_port>/`), so each reads what the
//! other wrote.

use std::error::Error;
use std::path::PathBuf;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResource;
use rkube_client::config::{Config, ConfigError, KubeconfigOptions};
use rkube_client::discovery::{DiscoveryClient, DiskCache, KUBECTL_TTL, default_cache_dir};
use rkube_core::GroupVersion;

/// The flags both commands share with kubectl.
#[derive(clap::Args, Debug, Clone)]
pub struct ConnectionArgs {
    /// Path to the kubeconfig file to use (not merged with $KUBECONFIG).
    #[arg(long)]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use.
    #[arg(long)]
    pub context: Option<String>,
    /// Cache directory (default: $KUBECACHEDIR, else ~/.kube/cache), shared with kubectl.
    #[arg(long)]
    pub cache_dir: Option<PathBuf>,
}

/// `rkube api-resources`.
#[derive(clap::Args, Debug, Clone)]
pub struct ApiResourcesArgs {
    /// Connection flags.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Use the cached list of resources if available.
    #[arg(long)]
    pub cached: bool,
    /// Output format: wide (adds VERBS and CATEGORIES) or name.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    /// Do not print the header line.
    #[arg(long)]
    pub no_headers: bool,
    /// Limit to resources in this API group ("" for the core group).
    #[arg(long)]
    pub api_group: Option<String>,
    /// Only namespaced resources (--namespaced=false: only cluster-scoped ones).
    #[arg(long, num_args = 0..=1, default_missing_value = "true")]
    pub namespaced: Option<bool>,
    /// Limit to resources that support all these verbs.
    #[arg(long, value_delimiter = ',')]
    pub verbs: Vec<String>,
    /// Limit to resources in all these categories.
    #[arg(long, value_delimiter = ',')]
    pub categories: Vec<String>,
    /// Sort by `name` or `kind` (default: API group, then name).
    #[arg(long)]
    pub sort_by: Option<String>,
}

/// `rkube api-versions`.
#[derive(clap::Args, Debug, Clone)]
pub struct ApiVersionsArgs {
    /// Connection flags.
    #[command(flatten)]
    pub connection: ConnectionArgs,
    /// Use the cached groups if available (kubectl always asks the server).
    #[arg(long)]
    pub cached: bool,
}

/// The discovery client kubectl would use: client-go's discovery burst, the disk cache in
/// kubectl's place with kubectl's 6-hour TTL.
fn discovery(args: &ConnectionArgs) -> Result<DiscoveryClient, Box<dyn Error>> {
    let options =
        KubeconfigOptions { kubeconfig: args.kubeconfig.clone(), context: args.context.clone(), ..Default::default() };
    let config = match Config::from_kubeconfig(&options) {
        Ok(config) => config,
        Err(e @ ConfigError::EmptyConfig { .. }) => {
            return Err(format!(
                "no Kubernetes cluster is configured ({e}).\n\
                 Pass --kubeconfig PATH or set KUBECONFIG; to try rkube without a cluster, run\n  \
                 rkube apiserver --kubeconfig-out rkube.kubeconfig\n\
                 and then use --kubeconfig rkube.kubeconfig"
            )
            .into());
        }
        Err(e) => return Err(e.into()),
    };
    let cache_dir = match &args.cache_dir {
        Some(dir) => dir.clone(),
        None => default_cache_dir().ok_or("no cache directory: set KUBECACHEDIR or HOME")?,
    };
    let cache = DiskCache::in_cache_dir(&cache_dir, &config.cluster_url).ttl(KUBECTL_TTL);
    Ok(DiscoveryClient::for_config(&config)?.cached_on_disk(cache))
}

/// Lays out tab-separated cells like Go's `text/tabwriter` as kubectl configures it
/// (min width 6, padding 3, spaces): every cell but the last of a line is padded to its
/// column's width.
pub fn tabwrite(rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(row.len().saturating_sub(1)) {
            let w = (cell.chars().count() + 3).max(6);
            if widths.len() <= i {
                widths.push(w);
            } else if widths[i] < w {
                widths[i] = w;
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < row.len() {
                out.extend(std::iter::repeat_n(' ', widths[i] - cell.chars().count()));
            }
        }
        out.push('\n');
    }
    out
}

/// The rows `kubectl api-resources` prints for these preferred resources: filtered,
/// sorted (stable: by group, or name, or kind; then by name), header first.
pub fn api_resources_table(
    lists: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::APIResourceList],
    args: &ApiResourcesArgs,
) -> Result<String, Box<dyn Error>> {
    let wide = match args.output.as_deref() {
        None | Some("") => false,
        Some("wide") => true,
        Some("name") => false,
        Some(other) => return Err(format!("output format {other:?} not supported (wide, name)").into()),
    };
    let mut resources: Vec<(GroupVersion, APIResource)> = Vec::new();
    for list in lists {
        let Ok(gv) = GroupVersion::parse(&list.group_version) else { continue };
        for r in &list.resources {
            let keep = !r.verbs.is_empty()
                && args.api_group.as_ref().is_none_or(|g| *g == gv.group)
                && args.namespaced.is_none_or(|n| n == r.namespaced)
                && args.verbs.iter().all(|v| r.verbs.contains(v))
                && args.categories.iter().all(|c| r.categories.as_ref().is_some_and(|cs| cs.contains(c)));
            if keep {
                resources.push((gv.clone(), r.clone()));
            }
        }
    }
    let key = |(gv, r): &(GroupVersion, APIResource)| -> String {
        match args.sort_by.as_deref() {
            Some("name") => r.name.clone(),
            Some("kind") => r.kind.clone(),
            _ => gv.group.clone(),
        }
    };
    resources.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.1.name.cmp(&b.1.name)));

    if args.output.as_deref() == Some("name") {
        return Ok(resources
            .iter()
            .map(
                |(gv, r)| {
                    if gv.group.is_empty() { format!("{}\n", r.name) } else { format!("{}.{}\n", r.name, gv.group) }
                },
            )
            .collect());
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    if !args.no_headers {
        let mut header: Vec<String> =
            ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"].iter().map(|s| s.to_string()).collect();
        if wide {
            header.extend(["VERBS".to_string(), "CATEGORIES".to_string()]);
        }
        rows.push(header);
    }
    for (gv, r) in &resources {
        let mut row = vec![
            r.name.clone(),
            r.short_names.clone().unwrap_or_default().join(","),
            gv.api_version(),
            r.namespaced.to_string(),
            r.kind.clone(),
        ];
        if wide {
            row.push(r.verbs.join(","));
            row.push(r.categories.clone().unwrap_or_default().join(","));
        }
        rows.push(row);
    }
    Ok(tabwrite(&rows))
}

/// Runs `rkube api-resources`. Like kubectl, a partial discovery failure prints what was
/// found and then fails with the list of group/versions that could not be read.
pub async fn api_resources(args: ApiResourcesArgs) -> Result<(), Box<dyn Error>> {
    let discovery = discovery(&args.connection)?;
    if !args.cached {
        discovery.invalidate();
    }
    let (lists, err) = match discovery.server_preferred_resources().await {
        Ok(lists) => (lists, None),
        Err(e) => match e.partial() {
            Some(p) => (p.resources.clone(), Some(e.to_string())),
            None => return Err(e.into()),
        },
    };
    print!("{}", api_resources_table(&lists, &args)?);
    match err {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// Runs `rkube api-versions`: every group/version, sorted, one per line.
pub async fn api_versions(args: ApiVersionsArgs) -> Result<(), Box<dyn Error>> {
    let discovery = discovery(&args.connection)?;
    if !args.cached {
        discovery.invalidate();
    }
    let groups =
        discovery.server_groups().await.map_err(|e| format!("couldn't get available api versions from server: {e}"))?;
    let mut versions: Vec<String> =
        groups.groups.iter().flat_map(|g| g.versions.iter().map(|v| v.group_version.clone())).collect();
    versions.sort();
    for v in versions {
        println!("{v}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabwriter_matches_go() {
        let rows = vec![
            vec!["NAME".to_string(), "SHORTNAMES".into(), "KIND".into()],
            vec!["pods".to_string(), "po".into(), "Pod".into()],
            vec!["x".to_string(), "".into(), "".into()],
        ];
        assert_eq!(tabwrite(&rows), "NAME   SHORTNAMES   KIND\npods   po           Pod\nx                   \n");
    }
}
