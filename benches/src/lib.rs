//! Benchmarks for rkube: criterion benches and comparison binaries.

pub mod informer;
