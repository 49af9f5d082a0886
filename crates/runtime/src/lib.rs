//! Informers, work queue and controller runtime for Kubernetes.

pub mod workqueue;
