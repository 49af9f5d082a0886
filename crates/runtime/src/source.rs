//! Where a reflector gets its lists and watches from: a typed, dynamic or metadata client
//! scoped to a namespace (or all), behind one object-safe trait.
//!
//! List pages carry their metadata at once and decode their items in the background (on
//! rkube's decoding threads, one per core), so the reflector fetches the next page while
//! earlier ones decode.

use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{FutureExt, StreamExt};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use rkube_client::{Api, Client, Error, Request};
use rkube_core::metadata::{ACCEPT_PARTIAL_OBJECT_METADATA, ACCEPT_PARTIAL_OBJECT_METADATA_LIST};
use rkube_core::watch::WatchDecoder;
use rkube_core::{ApiResource, ListOptions, Object, ObjectList, PartialObjectMetadata, WatchEvent, WatchOptions};

/// A stream of watch events.
pub type WatchStream<K> = BoxStream<'static, Result<WatchEvent<K>, Error>>;

/// One page of a list: its metadata now, its items when decoded.
pub struct Page<K> {
    /// The list's resourceVersion.
    pub resource_version: String,
    /// The token of the next page, if any.
    pub continue_token: Option<String>,
    /// The items in batches, decoding in the background as the body arrives.
    pub items: BoxStream<'static, Result<Vec<K>, Error>>,
}

impl<K: Object> Page<K> {
    /// A page with `meta`'s resourceVersion and continue token.
    pub(crate) fn new(meta: ListMeta, items: BoxStream<'static, Result<Vec<K>, Error>>) -> Self {
        Self {
            resource_version: meta.resource_version.unwrap_or_default(),
            continue_token: meta.continue_.filter(|t| !t.is_empty()),
            items,
        }
    }

    /// A page decoded already; its items are compacted on the decoding threads.
    fn ready(list: ObjectList<K>) -> Self {
        Self::new(list.metadata, futures::stream::once(compacted(list.items)).boxed())
    }

    /// A page whose items one job on the decoding threads produces (handed over at once).
    pub(crate) fn decoded_by(meta: ListMeta, job: impl FnOnce() -> Result<Vec<K>, Error> + Send + 'static) -> Self {
        Self::new(meta, futures::stream::once(on_decoding_thread("decoding", job)).boxed())
    }
}

/// Runs a fallible job on the decoding threads; a job that panicked becomes an error
/// naming `what` it was doing.
fn on_decoding_thread<T: Send + 'static>(
    what: &'static str,
    job: impl FnOnce() -> Result<T, Error> + Send + 'static,
) -> impl std::future::Future<Output = Result<T, Error>> + Send + 'static {
    let joined = crate::decode_pool::run(job);
    async move { joined.await.unwrap_or_else(|e| Err(Error::InvalidRequest(format!("{what} task failed: {e}")))) }
}

/// Compacts objects (see [`crate::store::compact`]) on the decoding threads.
pub(crate) fn compacted<K: Object>(items: Vec<K>) -> BoxFuture<'static, Result<Vec<K>, Error>> {
    on_decoding_thread("compacting", move || Ok(items.into_iter().map(crate::store::compact).collect())).boxed()
}

/// Lists and watches one resource in one scope.
pub trait ListWatch<K>: Send + Sync + 'static {
    /// One list request (one page when `limit` is set).
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<Page<K>, Error>>;
    /// Opens a watch.
    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<K>, Error>>;
}

impl<K: Object> ListWatch<K> for Api<K> {
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<Page<K>, Error>> {
        Box::pin(async move { Ok(Page::ready(Api::list(self, &opts).await?)) })
    }

    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<K>, Error>> {
        Box::pin(async move { Ok(Api::watch(self, &opts).await?.boxed()) })
    }
}

/// A typed source that decodes off the async threads and can drop `managedFields` while
/// decoding (before serde sees them), the default for informers.
pub struct TypedSource<K> {
    api: Api<K>,
    skip_managed_fields: bool,
}

impl<K: Object> TypedSource<K> {
    /// A source over `api`; `skip_managed_fields` drops them while decoding.
    pub fn new(api: Api<K>, skip_managed_fields: bool) -> Self {
        Self { api, skip_managed_fields }
    }
}

impl<K: Object> ListWatch<K> for TypedSource<K> {
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<Page<K>, Error>> {
        let req = self.api.request(http::Method::GET).query(opts.to_query());
        Box::pin(crate::json_list::list_page(req, self.skip_managed_fields))
    }

    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<K>, Error>> {
        let req = self.api.request(http::Method::GET).query(opts.to_query());
        let skip = self.skip_managed_fields;
        Box::pin(async move {
            let url = req.path_and_query().unwrap_or_default();
            let bytes = req.stream().await?;
            Ok(json_watch(bytes.boxed(), skip, url))
        })
    }
}

/// Decodes a newline-delimited JSON watch stream. Complete lines are cut into batches as
/// chunks arrive and decoded on the decoding threads ahead of the consumer (see
/// [`decode_ahead`]): the async threads only move bytes and apply events.
pub(crate) fn json_watch<K: Object>(
    bytes: BoxStream<'static, Result<bytes::Bytes, Error>>,
    skip_managed_fields: bool,
    url: String,
) -> WatchStream<K> {
    let events = decode_ahead(
        event_batches(bytes, complete_lines_len, Ok),
        move |batch| {
            let mut dec = WatchDecoder::<K>::new().skipping_managed_fields(skip_managed_fields);
            dec.push(&batch);
            let mut out = Vec::new();
            while let Some(ev) = dec.next_event() {
                out.push(ev);
            }
            out.extend(dec.finish());
            out.into_iter().map(|ev| ev.map_err(|source| Error::WatchDecode { url: url.clone(), source })).collect()
        },
        |e| vec![Err(e)],
    );
    events.flat_map(futures::stream::iter).boxed()
}

/// Batches decoding at once on the decoding threads.
const DECODES_IN_FLIGHT: usize = 4;
/// Decoded batches waiting for the consumer.
const DECODED_AHEAD: usize = 4;

/// Decodes batches of a watch stream on the decoding threads (one per core), in order, ahead of the
/// consumer: a task of its own keeps [`DECODES_IN_FLIGHT`] batches decoding and up to
/// [`DECODED_AHEAD`] decoded ones queued, so decoding keeps both cores busy while events
/// are applied. (Driving the decodes from the consumer's own `poll_next`, as a
/// `buffered(n).flat_map(..)` does, starts the next decode only once the current batch has
/// been applied, which leaves a core idle.) The task ends when the stream is dropped.
pub(crate) fn decode_ahead<T, F>(
    batches: impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send + 'static,
    decode: F,
    failed: fn(Error) -> T,
) -> BoxStream<'static, T>
where
    T: Send + 'static,
    F: Fn(bytes::Bytes) -> T + Send + Sync + 'static,
{
    let decode = std::sync::Arc::new(decode);
    let decoded = batches
        .map(move |batch| {
            let decode = decode.clone();
            async move {
                match batch {
                    Ok(batch) => crate::decode_pool::run(move || decode(batch))
                        .await
                        .unwrap_or_else(|e| failed(Error::InvalidRequest(format!("decoding task failed: {e}")))),
                    Err(e) => failed(e),
                }
            }
        })
        .buffered(DECODES_IN_FLIGHT)
        .boxed();
    run_ahead(decoded, DECODED_AHEAD)
}

/// Drives `stream` on a task of its own, up to `capacity` items ahead of the consumer. The
/// task ends, dropping `stream` (and the HTTP connection under it), as soon as the returned
/// stream is dropped, even while `stream` is quiet.
fn run_ahead<T: Send + 'static>(mut stream: BoxStream<'static, T>, capacity: usize) -> BoxStream<'static, T> {
    let (tx, rx) = tokio::sync::mpsc::channel(capacity);
    tokio::spawn(async move {
        loop {
            let next = tokio::select! {
                _ = tx.closed() => return,
                next = stream.next() => next,
            };
            let Some(item) = next else { return };
            if tx.send(item).await.is_err() {
                return;
            }
        }
    });
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|item| (item, rx)) }).boxed()
}

/// Bytes a batch grows to from chunks that are already there, before it is handed over.
/// Small batches (about five 7 KB pods) cost less CPU per event than 256 KB ones in the
/// watch benchmark (77 vs 82-97 us): the decoded objects are applied while still in cache.
const BATCH_BYTES: usize = 32 * 1024;

/// Regroups a watch body, read ahead (see [`READ_AHEAD_CHUNKS`]), into batches of complete
/// events: `complete_len` says how many leading bytes of a buffer are complete events, and
/// `trailing` what the bytes left when the body ends become (the last batch, or an error).
/// A batch takes every chunk that has already arrived (up to [`BATCH_BYTES`]), so a quiet
/// watch hands over each event at once while a busy one (a replay, a burst) decodes many
/// events per hand-off instead of one. Complete events before a failure are handed over
/// before the error.
pub(crate) fn event_batches(
    bytes: BoxStream<'static, Result<bytes::Bytes, Error>>,
    complete_len: fn(&[u8]) -> usize,
    trailing: fn(bytes::Bytes) -> Result<bytes::Bytes, Error>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send {
    batches(run_ahead(bytes, READ_AHEAD_CHUNKS), complete_len, trailing)
}

/// [`event_batches`] without the read-ahead.
fn batches(
    bytes: BoxStream<'static, Result<bytes::Bytes, Error>>,
    complete_len: fn(&[u8]) -> usize,
    trailing: fn(bytes::Bytes) -> Result<bytes::Bytes, Error>,
) -> impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send {
    let state = (Some(bytes), bytes::BytesMut::new(), std::collections::VecDeque::new());
    futures::stream::unfold(state, move |(mut bytes, mut buf, mut ready)| async move {
        loop {
            if let Some(item) = ready.pop_front() {
                return Some((item, (bytes, buf, ready)));
            }
            let stream = bytes.as_mut()?;
            // What ended the body, if it ended: an error or (None) its end.
            let mut ended: Option<Option<Error>> = None;
            match stream.next().await {
                Some(Ok(chunk)) => {
                    buf.extend_from_slice(&chunk);
                    while ended.is_none() && buf.len() < BATCH_BYTES {
                        match stream.next().now_or_never() {
                            Some(Some(Ok(more))) => buf.extend_from_slice(&more),
                            Some(Some(Err(e))) => ended = Some(Some(e)),
                            Some(None) => ended = Some(None),
                            None => break,
                        }
                    }
                    let complete = complete_len(&buf);
                    if complete > 0 {
                        ready.push_back(Ok(buf.split_to(complete).freeze()));
                    }
                }
                Some(Err(e)) => ended = Some(Some(e)),
                None => ended = Some(None),
            }
            match ended {
                None => continue,
                Some(Some(e)) => ready.push_back(Err(e)),
                Some(None) if buf.is_empty() => {}
                Some(None) => ready.push_back(trailing(buf.split().freeze())),
            }
            bytes = None;
        }
    })
}

/// How many leading bytes of `buf` are complete lines.
fn complete_lines_len(buf: &[u8]) -> usize {
    memchr::memrchr(b'\n', buf).map_or(0, |last| last + 1)
}

/// Chunks of a watch body read ahead of the batcher ([`run_ahead`]), so that a batch can take
/// everything that arrived while the decoders were busy. The HTTP body hands over one chunk
/// (often a single watch event) at a time and reads the socket only when asked, so without
/// this a burst (the watch-list's initial events, a replay) is decoded one event per
/// hand-off, each a wake-up of a decoding thread.
const READ_AHEAD_CHUNKS: usize = 64;

/// A list body (JSON or protobuf) cut into batches of whole items as it arrives; errors name
/// the list's URL.
pub(crate) trait ItemSplitter: Send + 'static {
    /// Adds the next chunk of the body.
    fn push(&mut self, chunk: &[u8]);
    /// Whole items not taken yet, if there are enough to hand out.
    fn take_items(&mut self, url: &str) -> Result<Option<Vec<u8>>, Error>;
    /// The last items at the end of the body; an error if the body stopped inside the list.
    fn finish(self, url: &str) -> Result<Option<Vec<u8>>, Error>;
}

/// The batches of whole items of a list body whose head `split` has read.
pub(crate) fn item_batches<S: ItemSplitter>(
    body: BoxStream<'static, Result<bytes::Bytes, Error>>,
    split: S,
    url: String,
) -> impl futures::Stream<Item = Result<bytes::Bytes, Error>> + Send + 'static {
    // The URL rides in the state: it is only needed for an error, not cloned per batch.
    futures::stream::unfold(Some((body, split, url)), |state| async move {
        let (mut body, mut split, url) = state?;
        loop {
            match split.take_items(&url) {
                Ok(Some(batch)) => return Some((Ok(bytes::Bytes::from(batch)), Some((body, split, url)))),
                Ok(None) => {}
                Err(e) => return Some((Err(e), None)),
            }
            match body.next().await {
                Some(Ok(chunk)) => split.push(&chunk),
                Some(Err(e)) => return Some((Err(e), None)),
                None => {
                    return match split.finish(&url) {
                        Ok(Some(batch)) => Some((Ok(bytes::Bytes::from(batch)), None)),
                        Ok(None) => None,
                        Err(e) => Some((Err(e), None)),
                    };
                }
            }
        }
    })
}

/// `head` followed by the rest of `body`, for a list decoded whole.
pub(crate) async fn rest_of_body(
    mut head: Vec<u8>,
    mut body: BoxStream<'static, Result<bytes::Bytes, Error>>,
) -> Result<Vec<u8>, Error> {
    while let Some(chunk) = body.next().await {
        head.extend_from_slice(&chunk?);
    }
    Ok(head)
}

/// Lists and watches any resource as `PartialObjectMetadata` (metadata only), using the
/// Accept headers kube-apiserver offers for it.
pub struct MetadataSource {
    client: Client,
    resource: ApiResource,
    namespace: Option<String>,
}

impl MetadataSource {
    /// A metadata source for `resource`, in one namespace or all.
    pub fn new(client: Client, resource: &ApiResource, namespace: Option<&str>) -> Self {
        Self { client, resource: resource.clone(), namespace: namespace.map(str::to_string) }
    }

    fn request(&self) -> Request {
        let req = self.client.get().resource(&self.resource);
        match (&self.namespace, self.resource.namespaced) {
            (Some(ns), true) => req.namespace(ns.clone()),
            _ => req,
        }
    }
}

impl ListWatch<PartialObjectMetadata> for MetadataSource {
    fn list(&self, opts: ListOptions) -> BoxFuture<'_, Result<Page<PartialObjectMetadata>, Error>> {
        let req = self.request().query(opts.to_query()).header("accept", ACCEPT_PARTIAL_OBJECT_METADATA_LIST);
        Box::pin(async move { Ok(Page::ready(req.into().await?)) })
    }

    fn watch(&self, opts: WatchOptions) -> BoxFuture<'_, Result<WatchStream<PartialObjectMetadata>, Error>> {
        let req = self.request().query(opts.to_query()).header("accept", ACCEPT_PARTIAL_OBJECT_METADATA);
        Box::pin(async move { Ok(req.watch::<PartialObjectMetadata>().await?.boxed()) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn chunks(parts: Vec<Result<&'static str, &'static str>>) -> BoxStream<'static, Result<Bytes, Error>> {
        futures::stream::iter(
            parts
                .into_iter()
                .map(|p| p.map(|s| Bytes::from_static(s.as_bytes())).map_err(|e| Error::InvalidRequest(e.into()))),
        )
        .boxed()
    }

    async fn collect(parts: Vec<Result<&'static str, &'static str>>) -> Vec<Result<String, String>> {
        batches(chunks(parts), complete_lines_len, Ok)
            .map(|b| b.map(|b| String::from_utf8(b.to_vec()).unwrap()).map_err(|e| e.to_string()))
            .collect()
            .await
    }

    #[tokio::test]
    async fn ready_chunks_join_one_batch_of_complete_lines() {
        let got = collect(vec![Ok("{\"a\":1}\n{\"b\""), Ok(":2}\n{\"c\":"), Ok("3}\n")]).await;
        assert_eq!(got, vec![Ok("{\"a\":1}\n{\"b\":2}\n{\"c\":3}\n".to_string())]);
    }

    #[tokio::test]
    async fn chunks_read_while_the_consumer_was_busy_join_one_batch() {
        // Like an HTTP body, each chunk is ready only after a pending poll, so a batcher
        // reading the body directly sees one chunk at a time.
        let body = futures::stream::iter((0..10).map(|i| Ok(Bytes::from(format!("{i}\n")))))
            .then(|chunk| async {
                tokio::task::yield_now().await;
                chunk
            })
            .boxed();
        let mut batches = Box::pin(event_batches(body, complete_lines_len, Ok));
        // The consumer is busy elsewhere while the body arrives.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let first = batches.next().await.unwrap().unwrap();
        assert_eq!(first, Bytes::from((0..10).map(|i| format!("{i}\n")).collect::<String>()));
        assert!(batches.next().await.is_none());
    }

    #[tokio::test]
    async fn a_trailing_partial_line_is_the_last_batch() {
        let got = collect(vec![Ok("x\ny")]).await;
        assert_eq!(got, vec![Ok("x\n".to_string()), Ok("y".to_string())]);
    }

    #[tokio::test]
    async fn complete_lines_before_an_error_are_handed_over_first() {
        let got = collect(vec![Ok("x\npart"), Err("reset")]).await;
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0], Ok("x\n".to_string()));
        assert!(got[1].as_ref().is_err_and(|e| e.contains("reset")), "{got:?}");
    }

    #[tokio::test]
    async fn chunks_that_arrive_later_start_a_new_batch() {
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, Error>>();
        let mut batches = Box::pin(batches(rx.boxed(), complete_lines_len, Ok));
        tx.unbounded_send(Ok(Bytes::from_static(b"1\n"))).unwrap();
        assert_eq!(batches.next().await.unwrap().unwrap(), Bytes::from_static(b"1\n"));
        tx.unbounded_send(Ok(Bytes::from_static(b"2\n"))).unwrap();
        tx.unbounded_send(Ok(Bytes::from_static(b"3\n"))).unwrap();
        assert_eq!(batches.next().await.unwrap().unwrap(), Bytes::from_static(b"2\n3\n"));
        drop(tx);
        assert!(batches.next().await.is_none());
    }

    fn pod_line(name: &str) -> String {
        format!(
            "{{\"type\":\"MODIFIED\",\"object\":{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{{\"name\":\"{name}\",\"namespace\":\"n\"}}}}}}\n"
        )
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_decoded_ahead_arrive_in_stream_order() {
        use k8s_openapi::api::core::v1::Pod;
        // Many small chunks, each its own batch when read slowly, and large ready runs.
        let chunks: Vec<Result<Bytes, Error>> =
            (0..2000).map(|i| Ok(Bytes::from(pod_line(&format!("p{i}"))))).collect();
        let events: Vec<_> =
            json_watch::<Pod>(futures::stream::iter(chunks).boxed(), true, "/w".into()).collect().await;
        let names: Vec<String> = events
            .into_iter()
            .map(|ev| match ev {
                Ok(WatchEvent::Modified(p)) => p.metadata.name.unwrap_or_default(),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(names, (0..2000).map(|i| format!("p{i}")).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn dropping_a_quiet_watch_releases_its_connection() {
        use k8s_openapi::api::core::v1::Pod;
        let (tx, rx) = futures::channel::mpsc::unbounded::<Result<Bytes, Error>>();
        let mut events = json_watch::<Pod>(rx.boxed(), true, "/w".into());
        tx.unbounded_send(Ok(Bytes::from(pod_line("a")))).unwrap();
        assert!(matches!(events.next().await, Some(Ok(WatchEvent::Modified(_)))));
        // Nothing more arrives; dropping the stream must still let go of the byte stream
        // (the HTTP connection), not wait for the next event.
        drop(events);
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while !tx.is_closed() {
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        })
        .await
        .expect("the decoding task kept the watch's byte stream after the stream was dropped");
    }
}
