//! Lists and watches of built-in kinds in Kubernetes' protobuf encoding, as client-go's typed
//! informers use by default. Lists are decoded in batches while they stream in, as JSON
//! lists are. Falls back to JSON per response when the server answers JSON
//! (custom resources, or servers that do not speak protobuf). The kind's codec is looked up
//! by type at run time, so generic code over any `K: Object` can pick this source.

use futures::StreamExt;
use futures::future::BoxFuture;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
use prost::Message;
use rkube_client::{Api, Error};
use rkube_core::watch::{Bookmark, BookmarkMeta};
use rkube_core::{ListOptions, Object, Status, WatchEvent, WatchOptions};
use rkube_protobuf::list_split::{Head, ListSplitter};
use rkube_protobuf::registry::Codec;
use rkube_protobuf::{Convert, DecodeOptions, wire};

use crate::source::{
    ItemSplitter, ListWatch, Page, WatchStream, decode_ahead, event_batches, item_batches, json_watch,
};

const ACCEPT_LIST: &str = "application/vnd.kubernetes.protobuf, application/json";
const ACCEPT_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch, application/json";

/// A typed source of a built-in kind that asks for protobuf.
pub struct ProtobufSource<K> {
    api: Api<K>,
    codec: &'static Codec,
    skip_managed_fields: bool,
}

impl<K: Object> ProtobufSource<K> {
    /// A source over `api`; `skip_managed_fields` drops them before objects are stored.
    /// `None` when `K` has no protobuf message (custom resources, dynamic objects).
    pub fn new(api: Api<K>, skip_managed_fields: bool) -> Option<Self> {
        let codec = rkube_protobuf::registry::codec::<K>()?;
        Some(Self { api, codec, skip_managed_fields })
    }
}

/// The first field of every list message, without decoding the items.
#[derive(Clone, PartialEq, prost::Message)]
struct ListHead {
    #[prost(message, optional, tag = "1")]
    metadata: Option<pb_meta::ListMeta>,
}

fn decode_err(url: &str, what: impl std::fmt::Display) -> Error {
    Error::InvalidRequest(format!("GET {url}: undecodable protobuf answer: {what}"))
}

fn options(skip_managed_fields: bool) -> DecodeOptions {
    DecodeOptions { skip_managed_fields }
}

impl<K: Object> ListWatch<K> for ProtobufSource<K> {
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<Page<K>, Error>> {
        let req = self.api.request(http::Method::GET).query(opts.to_query());
        let (codec, skip) = (self.codec, self.skip_managed_fields);
        Box::pin(async move {
            let url = req.path_and_query().unwrap_or_default();
            let mut body = match req.clone().header("accept", ACCEPT_LIST).stream().await {
                // The server refuses protobuf: ask again for JSON (as `Api::list` does).
                Err(e) if e.status_code() == Some(406) => return crate::json_list::list_page(req, skip).await,
                other => other?.boxed(),
            };
            let mut split = ListSplitter::new();
            let meta = loop {
                let Some(chunk) = body.next().await.transpose()? else { break None };
                split.push(&chunk);
                match split.head() {
                    Ok(Head::Ready(meta)) => {
                        break Some(rkube_protobuf::decode_list_meta(meta).map_err(|e| decode_err(&url, e))?);
                    }
                    Ok(Head::Pending) => {}
                    Ok(Head::NotFirst) => break None,
                    Err(wire::Error::NoMagic) => {
                        // The server answered JSON.
                        let head = bytes::Bytes::from(split.into_bytes());
                        let body = futures::stream::iter([Ok(head)]).chain(body).boxed();
                        return crate::json_list::page_from_body(body, skip, url).await;
                    }
                    Err(e) => return Err(decode_err(&url, e)),
                }
            };
            let Some(meta) = meta else {
                // The body ended before its items, or its items come before its metadata.
                let bytes = crate::source::rest_of_body(split.into_bytes(), body).await?;
                return whole_page(bytes, codec, skip, url);
            };
            let batches = item_batches(body, split, url.clone());
            let items = decode_ahead(
                batches,
                move |batch| {
                    codec
                        .decode_list_message_as::<K>(&batch, options(skip))
                        .map(|(_, items)| items)
                        .map_err(|e| decode_err(&url, e))
                },
                Err,
            );
            Ok(Page::new(meta, items))
        })
    }

    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<K>, Error>> {
        let req = self.api.request(http::Method::GET).query(opts.to_query());
        let (codec, skip) = (self.codec, self.skip_managed_fields);
        Box::pin(async move {
            let url = req.path_and_query().unwrap_or_default();
            let mut bytes = match req.clone().header("accept", ACCEPT_WATCH).stream().await {
                Err(e) if e.status_code() == Some(406) => {
                    return Ok(json_watch(req.stream().await?.boxed(), skip, url));
                }
                other => other?,
            };
            let first = bytes.next().await.transpose()?.unwrap_or_default();
            if !first.is_empty() && first[0] == b'{' {
                // JSON after all: decode lines.
                return Ok(json_watch(futures::stream::iter([Ok(first)]).chain(bytes).boxed(), skip, url));
            }
            let body = futures::stream::iter([Ok(first)]).chain(bytes).boxed();
            let batches = event_batches(body, wire::complete_frames_len, truncated_frame);
            Ok(decode_batches(batches, codec, skip, url))
        })
    }
}

/// A whole protobuf list body decoded at once on a decoding thread.
fn whole_page<K: Object>(bytes: Vec<u8>, codec: &'static Codec, skip: bool, url: String) -> Result<Page<K>, Error> {
    let env = wire::decode_envelope_ref(&bytes).map_err(|e| decode_err(&url, e))?;
    let head = ListHead::decode(env.raw).map_err(|e| decode_err(&url, e))?;
    let meta: ListMeta = head.metadata.map(Convert::from_pb).unwrap_or_default();
    Ok(Page::decoded_by(meta, move || {
        codec.decode_list_as::<K>(&bytes, options(skip)).map(|(_, items)| items).map_err(|e| decode_err(&url, e))
    }))
}

impl ItemSplitter for ListSplitter {
    fn push(&mut self, chunk: &[u8]) {
        ListSplitter::push(self, chunk);
    }

    fn take_items(&mut self, url: &str) -> Result<Option<Vec<u8>>, Error> {
        ListSplitter::take_items(self).map_err(|e| decode_err(url, e))
    }

    fn finish(self, url: &str) -> Result<Option<Vec<u8>>, Error> {
        ListSplitter::finish(self).map_err(|e| decode_err(url, e))
    }
}

/// A body that ended inside a frame.
fn truncated_frame(_: bytes::Bytes) -> Result<bytes::Bytes, Error> {
    Err(Error::InvalidRequest("protobuf watch stream ended inside a frame".into()))
}

/// Decodes batches of frames on the decoding threads ahead of the consumer, as the JSON
/// watch does.
fn decode_batches<K: Object>(
    batches: impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send + 'static,
    codec: &'static Codec,
    skip: bool,
    url: String,
) -> WatchStream<K> {
    decode_ahead(
        batches,
        move |batch| {
            let mut out = Vec::new();
            let mut rest = &batch[..];
            while !rest.is_empty() {
                match wire::read_watch_frame_ref(rest) {
                    Ok(Some((kind, object, used))) => {
                        rest = &rest[used..];
                        out.push(event::<K>(codec, kind, object, skip).map_err(|e| decode_err(&url, e)));
                    }
                    Ok(None) => break,
                    Err(e) => {
                        out.push(Err(decode_err(&url, e)));
                        break;
                    }
                }
            }
            out
        },
        |e| vec![Err(e)],
    )
    .flat_map(futures::stream::iter)
    .boxed()
}

fn event<K: Object>(codec: &Codec, kind: &[u8], object: &[u8], skip: bool) -> Result<WatchEvent<K>, wire::Error> {
    // With `skip`, managedFields are skipped on the wire (never decoded).
    let decode = |skip| codec.decode_as::<K>(object, options(skip));
    Ok(match kind {
        b"ADDED" => WatchEvent::Added(decode(skip)?),
        b"MODIFIED" => WatchEvent::Modified(decode(skip)?),
        b"DELETED" => WatchEvent::Deleted(decode(skip)?),
        b"BOOKMARK" => {
            let obj: K = decode(false)?;
            let meta = obj.meta();
            WatchEvent::Bookmark(Bookmark {
                metadata: BookmarkMeta {
                    resource_version: meta.resource_version.clone().unwrap_or_default(),
                    annotations: meta.annotations.clone().unwrap_or_default(),
                },
            })
        }
        _ => {
            let s = pb_meta::Status::decode(wire::decode_envelope_ref(object)?.raw)?;
            let mut status = Status::failure(
                s.code.unwrap_or(500) as u16,
                s.reason.as_deref().unwrap_or(""),
                s.message.unwrap_or_default(),
            );
            status.status = s.status.unwrap_or_else(|| "Failure".into());
            WatchEvent::Error(status)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use k8s_openapi::api::core::v1::ConfigMap;

    fn frame(name: &str) -> Vec<u8> {
        let mut cm = ConfigMap::default();
        cm.metadata.name = Some(name.into());
        cm.metadata.namespace = Some("n".into());
        let pb: k8s_pb::api::core::v1::ConfigMap = cm.into_pb();
        wire::watch_frame("MODIFIED", wire::encode_envelope("v1", "ConfigMap", pb.encode_to_vec()))
    }

    fn watch(chunks: Vec<Result<Bytes, Error>>) -> WatchStream<ConfigMap> {
        let codec = rkube_protobuf::registry::codec::<ConfigMap>().expect("ConfigMap has a codec");
        let batches = event_batches(futures::stream::iter(chunks).boxed(), wire::complete_frames_len, truncated_frame);
        decode_batches(batches, codec, true, "/w".into())
    }

    fn names(events: Vec<Result<WatchEvent<ConfigMap>, Error>>) -> Vec<Result<String, String>> {
        events
            .into_iter()
            .map(|ev| match ev {
                Ok(WatchEvent::Modified(cm)) => Ok(cm.metadata.name.unwrap_or_default()),
                Ok(other) => Err(format!("unexpected {other:?}")),
                Err(e) => Err(e.to_string()),
            })
            .collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn frames_split_across_chunks_decode_in_order() {
        let body: Vec<u8> = (0..500).flat_map(|i| frame(&format!("c{i}"))).collect();
        // Chunks of 7 bytes: every frame straddles several, many chunks hold parts of two.
        let chunks = body.chunks(7).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        let got = names(watch(chunks).collect().await);
        assert_eq!(got, (0..500).map(|i| Ok(format!("c{i}"))).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_body_ending_inside_a_frame_is_an_error_after_the_complete_frames() {
        let mut body = frame("a");
        let second = frame("b");
        body.extend_from_slice(&second[..second.len() / 2]);
        let got = names(watch(vec![Ok(Bytes::from(body))]).collect().await);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], Ok("a".to_string()));
        assert!(got[1].as_ref().is_err_and(|e| e.contains("ended inside a frame")), "{got:?}");
    }
}
