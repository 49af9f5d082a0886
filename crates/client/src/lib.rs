//! Kubernetes clients: config, transport, REST, typed, dynamic, metadata and discovery.

pub mod config;
