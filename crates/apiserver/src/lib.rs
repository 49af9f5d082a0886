//! Embedded in-memory Kubernetes API server for demos and tests.
//!
//! Real clients (kubectl, client-go, rkube) cannot tell it from kube-apiserver for what it
//! serves: one global resourceVersion, list/watch semantics with a bounded event window,
//! discovery, Tables, CRDs, and deterministic fault injection for tests.
//!
//! ```no_run
//! # async fn demo() -> Result<(), rkube_apiserver::StartError> {
//! let server = rkube_apiserver::ApiServer::start_default().await?;
//! println!("listening on {}", server.url());
//! let kubeconfig = server.kubeconfig();
//! # let _ = kubeconfig; Ok(()) }
//! ```

// Handlers return the API's Status as their error: it is the response body on the cold error
// path, and boxing it everywhere would only add noise.
#![allow(clippy::result_large_err)]

pub mod access_log;
mod api;
pub mod builtin;
pub mod catalog;
mod collection;
pub mod discovery;
pub mod faults;
mod gc;
mod managed_fields;
pub mod meta;
mod names;
mod objects;
mod openapi;
pub mod pod_logs;
mod protobuf;
pub mod registry;
mod response;
pub mod router;
pub mod schema;
mod server;
pub mod store;
pub mod strategic_merge;
pub mod table;
mod tls;
mod watch;

pub use faults::{Faults, InjectedError};
pub use server::{ApiServer, ServerOptions, StartError, kubeconfig_yaml};
pub use tls::{CertificateError, ClientCertificate};
