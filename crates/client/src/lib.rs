//! Kubernetes clients: config, transport, REST, typed, dynamic, metadata and discovery.
//!
//! Start from a [`Client`] (one connection pool, one rate limiter, one set of credentials),
//! then use the [`Request`] builder, the typed [`Api`] and [`ClientSet`], the
//! [`DynamicClient`] or the [`MetadataClient`]. Every call returns [`Error`], whose
//! predicates (`is_not_found`, `is_conflict` ...) read the server's `Status`.

pub mod api;
pub mod client;
pub mod clientset;
pub mod config;
pub mod discovery;
pub mod dynamic;
pub mod error;
pub mod limiter;
pub mod metadata;
mod protobuf;
pub mod request;
pub mod response;
pub mod subresource;
pub mod transport;
pub mod watch;

pub use api::{Api, Deleted};
pub use client::Client;
pub use clientset::ClientSet;
pub use config::Config;
pub use dynamic::{DynamicClient, DynamicResource};
pub use error::{Error, Result};
pub use limiter::RateLimiter;
pub use metadata::{MetadataClient, MetadataResource};
pub use request::Request;
pub use response::Response;
pub use subresource::LogOptions;
pub use transport::ByteStream;
pub use watch::WatchStream;
