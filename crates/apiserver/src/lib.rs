//! Embedded in-memory Kubernetes API server for demos and tests.
