//! Example programs for rkube (binaries of this package) and what they share.

pub mod clients;
pub mod cluster;
