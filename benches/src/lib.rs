//! Benchmarks for rkube: criterion benches and comparison binaries.
