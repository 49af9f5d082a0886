//! Lists and watches of built-in kinds in Kubernetes' protobuf encoding, as client-go's typed
//! informers use by default. Falls back to JSON per response when the server answers JSON
//! (custom resources, or servers that do not speak protobuf).

use futures::StreamExt;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
use prost::Message;
use rkube_client::{Api, Error};
use rkube_core::watch::{Bookmark, BookmarkMeta};
use rkube_core::{ListOptions, Object, Status, WatchEvent, WatchOptions};
use rkube_protobuf::{Convert, DecodeOptions, HasProtobuf, wire};

use crate::source::{ListWatch, Page, WatchStream, decode_ahead, json_watch};

const ACCEPT_LIST: &str = "application/vnd.kubernetes.protobuf, application/json";
const ACCEPT_WATCH: &str = "application/vnd.kubernetes.protobuf;stream=watch, application/json";

/// A typed source of a built-in kind that asks for protobuf.
pub struct ProtobufSource<K> {
    api: Api<K>,
    skip_managed_fields: bool,
}

impl<K: Object + HasProtobuf> ProtobufSource<K> {
    /// A source over `api`; `skip_managed_fields` drops them before objects are stored.
    pub fn new(api: Api<K>, skip_managed_fields: bool) -> Self {
        Self { api, skip_managed_fields }
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

/// One object; with `skip`, managedFields are skipped on the wire (never decoded).
fn decode_object<K: Object + HasProtobuf>(enveloped: &[u8], skip: bool) -> Result<K, wire::Error> {
    rkube_protobuf::decode_with(enveloped, options(skip))
}

impl<K: Object + HasProtobuf> ListWatch<K> for ProtobufSource<K>
where
    K::Message: Send + 'static,
{
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<Page<K>, Error>> {
        let req = self.api.request(http::Method::GET).query(opts.to_query()).header("accept", ACCEPT_LIST);
        let skip = self.skip_managed_fields;
        Box::pin(async move {
            let url = req.path_and_query().unwrap_or_default();
            let bytes = req.bytes().await?;
            if !wire::is_protobuf(&bytes) {
                // The server answered JSON.
                return crate::json_list::whole_page(bytes, skip, url).await;
            }
            let env = wire::decode_envelope_ref(&bytes).map_err(|e| decode_err(&url, e))?;
            let head = ListHead::decode(env.raw).map_err(|e| decode_err(&url, e))?;
            let meta: ListMeta = head.metadata.map(Convert::from_pb).unwrap_or_default();
            Ok(Page::decoded_by(meta, move || {
                rkube_protobuf::decode_list_with::<K>(&bytes, options(skip))
                    .map(|(_, items)| items)
                    .map_err(|e| decode_err(&url, e))
            }))
        })
    }

    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<K>, Error>> {
        let req = self.api.request(http::Method::GET).query(opts.to_query()).header("accept", ACCEPT_WATCH);
        let skip = self.skip_managed_fields;
        Box::pin(async move {
            let url = req.path_and_query().unwrap_or_default();
            let mut bytes = req.stream().await?;
            let first = bytes.next().await.transpose()?.unwrap_or_default();
            if !first.is_empty() && first[0] == b'{' {
                // JSON after all: decode lines.
                return Ok(json_watch(futures::stream::iter([Ok(first)]).chain(bytes).boxed(), skip, url));
            }
            let batches = frame_batches(futures::stream::iter([Ok(first)]).chain(bytes).boxed());
            Ok(decode_batches(batches, skip, url))
        })
    }
}

/// Regroups a protobuf watch stream into batches of complete frames.
fn frame_batches(
    bytes: BoxStream<'static, Result<bytes::Bytes, Error>>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send {
    futures::stream::unfold((bytes, bytes::BytesMut::new(), false), |(mut bytes, mut buf, done)| async move {
        if done {
            return None;
        }
        loop {
            match bytes.next().await {
                Some(Ok(chunk)) => {
                    buf.extend_from_slice(&chunk);
                    let complete = wire::complete_frames_len(&buf);
                    if complete > 0 {
                        let batch = buf.split_to(complete).freeze();
                        return Some((Ok(batch), (bytes, buf, false)));
                    }
                }
                Some(Err(e)) => return Some((Err(e), (bytes, buf, true))),
                None if buf.is_empty() => return None,
                None => {
                    let e = Error::InvalidRequest("protobuf watch stream ended inside a frame".into());
                    return Some((Err(e), (bytes, buf, true)));
                }
            }
        }
    })
}

/// Decodes batches of frames on the decoding threads ahead of the consumer, as the JSON
/// watch does.
fn decode_batches<K: Object + HasProtobuf>(
    batches: impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send + 'static,
    skip: bool,
    url: String,
) -> WatchStream<K>
where
    K::Message: Send + 'static,
{
    decode_ahead(
        batches,
        move |batch| {
            let mut out = Vec::new();
            let mut rest = &batch[..];
            while !rest.is_empty() {
                match wire::read_watch_frame_ref(rest) {
                    Ok(Some((kind, object, used))) => {
                        rest = &rest[used..];
                        out.push(event::<K>(kind, object, skip).map_err(|e| decode_err(&url, e)));
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

fn event<K: Object + HasProtobuf>(kind: &[u8], object: &[u8], skip: bool) -> Result<WatchEvent<K>, wire::Error> {
    Ok(match kind {
        b"ADDED" => WatchEvent::Added(decode_object(object, skip)?),
        b"MODIFIED" => WatchEvent::Modified(decode_object(object, skip)?),
        b"DELETED" => WatchEvent::Deleted(decode_object(object, skip)?),
        b"BOOKMARK" => {
            let obj: K = decode_object(object, false)?;
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
