//! Embedded in-memory Kubernetes API server for demos and tests.

pub mod catalog;
pub mod strategic_merge;
pub mod table;
