//! Discovery errors: a whole discovery failing, one group/version failing while the others
//! answered (the partial result is kept), and lookups the cache cannot answer.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{APIGroup, APIResourceList};
use rkube_core::GroupVersion;

/// Why one group/version could not be discovered.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GroupVersionFailure {
    /// Aggregated discovery marked the group/version `Stale` (its aggregated API server is
    /// not answering), as client-go's `StaleGroupVersionError`.
    #[error("stale GroupVersion discovery: {0}")]
    Stale(GroupVersion),
    /// Fetching `/api/v1` or `/apis/{group}/{version}` failed.
    #[error("{0}")]
    Request(Arc<crate::Error>),
    /// The document did not decode.
    #[error("{url}: cannot decode the discovery document: {message}")]
    Decode {
        /// The URL.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// What discovery found when some group/versions failed: everything that did answer, plus
/// the failures (client-go's `ErrGroupDiscoveryFailed`, which also keeps the partial result).
#[derive(Debug, Clone, Default)]
pub struct PartialDiscovery {
    /// The groups, in discovery order (core first).
    pub groups: Vec<APIGroup>,
    /// The resource lists that were found, in group/version discovery order.
    pub resources: Vec<APIResourceList>,
    /// The group/versions that failed, and why.
    pub failed: BTreeMap<GroupVersion, GroupVersionFailure>,
}

impl fmt::Display for PartialDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("unable to retrieve the complete list of server APIs: ")?;
        // client-go sorts "gv: err" strings; a BTreeMap keyed by group/version is close, but
        // the core group sorts by its printed form "v1" there, so sort the printed lines.
        let mut lines: Vec<String> = self.failed.iter().map(|(gv, e)| format!("{gv}: {e}")).collect();
        lines.sort();
        f.write_str(&lines.join(", "))
    }
}

/// Everything that can go wrong in discovery.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoveryError {
    /// A request that discovery cannot do without (`/version`, `/apis`, a named
    /// group/version) failed.
    #[error("{0}")]
    Request(#[from] crate::Error),
    /// A discovery document did not decode.
    #[error("{url}: cannot decode the discovery document: {message}")]
    Decode {
        /// The URL.
        url: String,
        /// What was wrong.
        message: String,
    },
    /// Some group/versions failed; the others are in the partial result.
    #[error("{0}")]
    GroupDiscoveryFailed(Box<PartialDiscovery>),
    /// One group/version failed (from [`crate::discovery::DiscoveryClient::server_resources_for_group_version`]).
    #[error("{gv}: {failure}")]
    GroupVersionFailed {
        /// The group/version.
        gv: GroupVersion,
        /// Why.
        failure: GroupVersionFailure,
    },
    /// The group/version is not served (not in the cached discovery data).
    #[error("the server does not serve group/version {0}")]
    NotServed(String),
    /// A group/version string that does not parse.
    #[error(transparent)]
    InvalidGroupVersion(#[from] rkube_core::gvk::ApiVersionError),
}

impl DiscoveryError {
    /// The partial result, when only some group/versions failed.
    pub fn partial(&self) -> Option<&PartialDiscovery> {
        match self {
            DiscoveryError::GroupDiscoveryFailed(p) => Some(p),
            _ => None,
        }
    }

    /// The group/versions that failed, when only some did.
    pub fn failed_group_versions(&self) -> Vec<GroupVersion> {
        self.partial().map(|p| p.failed.keys().cloned().collect()).unwrap_or_default()
    }
}
