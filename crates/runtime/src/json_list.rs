//! Typed JSON lists decoded while they stream in. The body is cut into batches of whole
//! items as its chunks arrive ([`rkube_core::list_split`]) and each batch is decoded (and
//! compacted) on the decoding threads, so a large list — a relist at a resourceVersion is
//! one page, as in client-go — never sits in memory whole as bytes, nor as a second copy of
//! every object before the store has reused the unchanged ones.

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;
use rkube_client::{Error, Request};
use rkube_core::list_split::{Head, ListSplitter, NotAList};
use rkube_core::{Object, ObjectList};

use crate::source::{ItemSplitter, Page, decode_ahead, item_batches};

#[derive(serde::Deserialize)]
struct ListHead {
    metadata: Option<ListMeta>,
}

fn decode_error(url: &str, target: &'static str, source: serde_json::Error) -> Error {
    Error::Decode { verb: "GET".into(), url: url.to_string(), target, source }
}

fn not_a_list(url: &str, e: NotAList) -> Error {
    decode_error(url, "list", serde::de::Error::custom(e))
}

/// Sends a list request and returns its page as soon as the list's metadata has arrived;
/// the items follow in decoded batches. `skip_managed_fields` drops them before decoding.
pub(crate) async fn list_page<K: Object>(req: Request, skip_managed_fields: bool) -> Result<Page<K>, Error> {
    let url = req.path_and_query().unwrap_or_default();
    let body = req.stream().await?.boxed();
    page_from_body(body, skip_managed_fields, url).await
}

/// The page of a JSON list body, returned as soon as its metadata has arrived.
pub(crate) async fn page_from_body<K: Object>(
    mut body: BoxStream<'static, Result<Bytes, Error>>,
    skip_managed_fields: bool,
    url: String,
) -> Result<Page<K>, Error> {
    let mut split = ListSplitter::new();
    let meta = loop {
        match body.next().await {
            Some(chunk) => split.push(&chunk?),
            None => break None,
        }
        if let Head::Ready(head) = split.head().map_err(|e| not_a_list(&url, e))? {
            let head: ListHead = serde_json::from_slice(head).map_err(|e| decode_error(&url, "list", e))?;
            break head.metadata;
        }
    };
    let Some(meta) = meta else {
        // The body ended before its items began, or its metadata comes after them (as
        // from a proxy that sorts keys): decode it whole.
        let bytes = crate::source::rest_of_body(split.into_bytes(), body).await?;
        return whole_page(bytes.into(), skip_managed_fields, url).await;
    };
    let batches = item_batches(body, split, url.clone());
    let items = decode_ahead(batches, move |batch| decode_items::<K>(&batch, skip_managed_fields, &url), Err);
    Ok(Page::new(meta, items))
}

/// A whole list body decoded at once on a decoding thread.
pub(crate) async fn whole_page<K: Object>(bytes: Bytes, skip: bool, url: String) -> Result<Page<K>, Error> {
    let head: ListHead = serde_json::from_slice(&bytes).map_err(|e| decode_error(&url, "list", e))?;
    Ok(Page::decoded_by(head.metadata.unwrap_or_default(), move || {
        rkube_core::exact_json::from_slice::<ObjectList<K>>(&strip(&bytes, skip))
            .map(|list| list.items)
            .map_err(|e| decode_error(&url, std::any::type_name::<K>(), e))
    }))
}

/// `json` without managedFields when `skip` is set.
fn strip(json: &[u8], skip: bool) -> std::borrow::Cow<'_, [u8]> {
    if skip { rkube_core::strip::strip_managed_fields(json) } else { json.into() }
}

/// Decodes one batch of items (a JSON array). Their `Vec`s are allocated at their exact
/// lengths ([`rkube_core::exact_json`]): serde's spare capacity would otherwise stay in the
/// cache for the objects' lifetime.
fn decode_items<K: Object>(batch: &[u8], skip: bool, url: &str) -> Result<Vec<K>, Error> {
    rkube_core::exact_json::from_slice::<Vec<K>>(&strip(batch, skip))
        .map_err(|e| decode_error(url, std::any::type_name::<K>(), e))
}

impl ItemSplitter for ListSplitter {
    fn push(&mut self, chunk: &[u8]) {
        ListSplitter::push(self, chunk);
    }

    fn take_items(&mut self, url: &str) -> Result<Option<Vec<u8>>, Error> {
        ListSplitter::take_items(self).map_err(|e| not_a_list(url, e))
    }

    fn finish(self, url: &str) -> Result<Option<Vec<u8>>, Error> {
        ListSplitter::finish(self).map_err(|e| not_a_list(url, e))
    }
}
