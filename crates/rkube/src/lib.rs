//! rkube: the Kubernetes client and controller runtime for Rust.
//!
//! This facade re-exports the layers: [`core`] (API machinery), [`client`], [`runtime`]
//! and [`apiserver`] (the embedded API server).

pub use k8s_openapi;
pub use rkube_apiserver as apiserver;
pub use rkube_client as client;
pub use rkube_core as core;
pub use rkube_runtime as runtime;
