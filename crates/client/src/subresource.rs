//! Subresources with their own types on [`Api`]: `scale` (any scalable kind), `pods/log` and
//! `pods/eviction`.

use bytes::Bytes;
use k8s_openapi::api::autoscaling::v1::Scale;
use k8s_openapi::api::core::v1::Pod;
use k8s_openapi::api::policy::v1::Eviction;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use rkube_core::query::QueryWriter;
use rkube_core::{DeleteOptions, Object, Patch, Status, WriteOptions};

use crate::api::Api;
use crate::error::Error;
use crate::transport::ByteStream;

impl<K: Object> Api<K> {
    /// The `scale` subresource (autoscaling/v1 Scale) of a deployment, replica set, stateful
    /// set or custom resource with a scale subresource.
    pub async fn get_scale(&self, name: &str) -> Result<Scale, Error> {
        self.request(http::Method::GET).name(name).subresource("scale").into().await
    }

    /// Replaces the scale (PUT `scale`).
    pub async fn replace_scale(&self, name: &str, options: &WriteOptions, scale: &Scale) -> Result<Scale, Error> {
        self.request(http::Method::PUT)
            .name(name)
            .subresource("scale")
            .query(options.to_query())
            .json(scale)
            .into()
            .await
    }

    /// Patches the scale, e.g. `Patch::Merge(json!({"spec": {"replicas": 3}}))`.
    pub async fn patch_scale(&self, name: &str, options: &WriteOptions, patch: &Patch) -> Result<Scale, Error> {
        self.request(http::Method::PATCH)
            .name(name)
            .subresource("scale")
            .query(options.to_query())
            .patch(patch)
            .into()
            .await
    }
}

/// Options of `pods/log` (client-go's `PodLogOptions`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// The container; needed when the pod has more than one.
    pub container: Option<String>,
    /// Keep the stream open and send new lines as they are written.
    pub follow: bool,
    /// The previous (terminated) instance of the container.
    pub previous: bool,
    /// Only lines newer than this many seconds.
    pub since_seconds: Option<i64>,
    /// Only the last N lines.
    pub tail_lines: Option<i64>,
    /// Prefix each line with its RFC3339 timestamp.
    pub timestamps: bool,
    /// Stop after this many bytes.
    pub limit_bytes: Option<i64>,
}

impl LogOptions {
    /// The query string.
    pub fn to_query(&self) -> String {
        let mut q = QueryWriter::default();
        q.push_opt("container", self.container.as_deref());
        if self.follow {
            q.push("follow", "true");
        }
        if self.previous {
            q.push("previous", "true");
        }
        if let Some(s) = self.since_seconds {
            q.push("sinceSeconds", s.to_string());
        }
        if let Some(t) = self.tail_lines {
            q.push("tailLines", t.to_string());
        }
        if self.timestamps {
            q.push("timestamps", "true");
        }
        if let Some(l) = self.limit_bytes {
            q.push("limitBytes", l.to_string());
        }
        q.finish()
    }
}

impl Api<Pod> {
    /// A container's log as text (without `follow`).
    pub async fn logs(&self, name: &str, options: &LogOptions) -> Result<String, Error> {
        let bytes: Bytes =
            self.request(http::Method::GET).name(name).subresource("log").query(options.to_query()).bytes().await?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// A container's log as a byte stream; with `follow` it stays open for new lines.
    pub async fn log_stream(&self, name: &str, options: &LogOptions) -> Result<ByteStream, Error> {
        self.request(http::Method::GET).name(name).subresource("log").query(options.to_query()).stream().await
    }

    /// Evicts a pod through `pods/eviction` (honours PodDisruptionBudgets: 429 when one forbids it).
    pub async fn evict(&self, name: &str, options: &DeleteOptions) -> Result<Status, Error> {
        let eviction = Eviction {
            metadata: ObjectMeta {
                name: Some(name.to_owned()),
                namespace: self.namespace().map(str::to_owned),
                ..ObjectMeta::default()
            },
            delete_options: serde_json::from_value(options.to_body()).ok(),
        };
        let mut body = serde_json::to_value(&eviction).map_err(|e| Error::InvalidRequest(e.to_string()))?;
        body["apiVersion"] = "policy/v1".into();
        body["kind"] = "Eviction".into();
        self.request(http::Method::POST).name(name).subresource("eviction").json(&body).into().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_options_query() {
        let o = LogOptions { container: Some("app".into()), follow: true, tail_lines: Some(10), ..Default::default() };
        assert_eq!(o.to_query(), "container=app&follow=true&tailLines=10");
    }
}
