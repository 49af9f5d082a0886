//! Example programs for rkube live as binaries in this package.
