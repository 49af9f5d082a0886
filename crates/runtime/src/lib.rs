//! Informers, work queue and controller runtime for Kubernetes.

pub mod lister;
pub mod store;
pub mod workqueue;

pub use lister::{Lister, NamespaceLister};
pub use store::Store;
