//! The ClientSet facade: one accessor per group/version that k8s-openapi has, each with one
//! method per resource returning an [`Api`] — `clientset.core_v1().pods("ns")`,
//! `clientset.apps_v1().deployments("ns")`, `clientset.core_v1().nodes()`.
//!
//! Generated, not hand-written: `scripts/gen_clientset.py` lists k8s-openapi's listable
//! resources into `groups.rs`, and the `clientset!` macro below turns that list into types.
//!
//! ```no_run
//! # async fn demo(client: rkube_client::Client) -> Result<(), rkube_client::Error> {
//! use rkube_client::ClientSet;
//! use rkube_core::ListOptions;
//! let cs = ClientSet::new(client);
//! let pods = cs.core_v1().pods("default").list(&ListOptions::default().limit(500)).await?;
//! let nodes = cs.core_v1().nodes().list(&ListOptions::default()).await?;
//! # Ok(()) }
//! ```

use crate::api::Api;
use crate::client::Client;

/// Every group/version's typed clients over one [`Client`] (so one connection pool and one
/// rate limiter, as client-go's `kubernetes.Clientset`). Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientSet {
    client: Client,
}

impl ClientSet {
    /// A clientset over `client`.
    pub fn new(client: Client) -> Self {
        ClientSet { client }
    }

    /// The underlying client (for the request builder, dynamic and metadata clients).
    pub fn client(&self) -> &Client {
        &self.client
    }
}

/// The [`Api`] for a namespaced resource: `""` means all namespaces (client-go's `NamespaceAll`).
fn namespaced<K: rkube_core::Resource>(client: &Client, namespace: &str) -> Api<K> {
    if namespace.is_empty() { Api::all(client.clone()) } else { Api::namespaced(client.clone(), namespace) }
}

macro_rules! clientset {
    (@method namespaced $method:ident $kind:ident $ty:path, $gv:literal) => {
        #[doc = concat!("`", $gv, " ", stringify!($kind), "` objects in a namespace (`\"\"`: all namespaces).")]
        pub fn $method(&self, namespace: &str) -> Api<$ty> {
            namespaced(&self.client, namespace)
        }
    };
    (@method cluster $method:ident $kind:ident $ty:path, $gv:literal) => {
        #[doc = concat!("`", $gv, " ", stringify!($kind), "` objects (cluster-scoped).")]
        pub fn $method(&self) -> Api<$ty> {
            Api::all(self.client.clone())
        }
    };
    ($(
        $accessor:ident => $group:ident $gv:literal {
            $($method:ident : $scope:ident $kind:ident = $ty:path,)*
        }
    )*) => {
        impl ClientSet {
            $(
                #[doc = concat!("The typed clients of `", $gv, "`.")]
                pub fn $accessor(&self) -> $group {
                    $group { client: self.client.clone() }
                }
            )*
        }

        $(
            #[doc = concat!("The typed clients of `", $gv, "` (from [`ClientSet::", stringify!($accessor), "`]).")]
            #[derive(Debug, Clone)]
            pub struct $group {
                client: Client,
            }

            impl $group {
                $(
                    clientset!(@method $scope $method $kind $ty, $gv);
                )*
            }
        )*
    };
}

include!("groups.rs");
