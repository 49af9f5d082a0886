//! Cutting a protobuf list body into its metadata and batches of whole items while it
//! arrives, so that a large list (a relist is one unpaginated list) is decoded as it streams
//! in instead of after the whole body sits in memory.
//!
//! A list body is the `k8s\0` magic and a `runtime.Unknown` envelope whose `raw` field (2)
//! holds the list message: `metadata` (field 1, a `ListMeta`) and then every item (field 2),
//! each a length-delimited message. kube-apiserver writes the metadata first.

use crate::wire::{Error, MAGIC};

/// New bytes to gather before handing out a batch of items (except at the end).
const MIN_BATCH: usize = 64 * 1024;

/// What the splitter knows about the list's metadata.
#[derive(Debug, PartialEq, Eq)]
pub enum Head<'a> {
    /// Not all there yet.
    Pending,
    /// The `ListMeta` message bytes.
    Ready(&'a [u8]),
    /// The list message does not start with its metadata: decode the body whole.
    NotFirst,
}

/// A protobuf list body being cut into items as its chunks arrive.
#[derive(Debug, Default)]
pub struct ListSplitter {
    /// Bytes not handed out yet.
    buf: Vec<u8>,
    phase: Phase,
}

#[derive(Debug, Default, Clone, PartialEq, Eq)]
enum Phase {
    /// Reading the envelope up to the list message and its metadata.
    #[default]
    Head,
    /// `meta` is the metadata; `left` bytes of the list message follow `buf[0]`.
    Items { meta: Vec<u8>, left: usize },
    /// The metadata is not the list message's first field.
    NotFirst,
}

/// A length-delimited field's header: its tag, the header's length and the payload's.
struct Field {
    tag: u64,
    header: usize,
    len: usize,
}

/// Reads a varint at the start of `buf`: `None` when `buf` ends inside it.
fn varint(buf: &[u8]) -> Result<Option<(u64, usize)>, Error> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 10 {
        return Err(malformed("a varint longer than 10 bytes"));
    }
    Ok(None)
}

/// Reads a length-delimited field's header at the start of `buf`: `None` when `buf` ends
/// inside it. Every field of the envelope and of a list message is length-delimited.
fn field(buf: &[u8]) -> Result<Option<Field>, Error> {
    let Some((key, key_len)) = varint(buf)? else { return Ok(None) };
    if key & 7 != 2 {
        return Err(malformed(&format!("field {} has wire type {}, not length-delimited", key >> 3, key & 7)));
    }
    let Some((len, len_len)) = varint(&buf[key_len..])? else { return Ok(None) };
    // Bounded so that offsets plus lengths never overflow.
    let len =
        usize::try_from(len).ok().filter(|&l| l < 1 << 48).ok_or_else(|| malformed("a field of 256 TiB or more"))?;
    Ok(Some(Field { tag: key >> 3, header: key_len + len_len, len }))
}

fn malformed(what: &str) -> Error {
    Error::NotAList(what.to_string())
}

impl ListSplitter {
    /// A splitter at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The list's metadata, once it has arrived.
    pub fn head(&mut self) -> Result<Head<'_>, Error> {
        if self.phase == Phase::Head {
            self.scan_head()?;
        }
        Ok(match &self.phase {
            Phase::Head => Head::Pending,
            Phase::Items { meta, .. } => Head::Ready(meta),
            Phase::NotFirst => Head::NotFirst,
        })
    }

    fn scan_head(&mut self) -> Result<(), Error> {
        let buf = &self.buf[..];
        if buf.len() < MAGIC.len() {
            return if MAGIC.starts_with(buf) { Ok(()) } else { Err(Error::NoMagic) };
        }
        if buf[..MAGIC.len()] != MAGIC {
            return Err(Error::NoMagic);
        }
        // The envelope's fields up to `raw`.
        let mut at = MAGIC.len();
        let raw = loop {
            let Some(f) = field(&buf[at..])? else { return Ok(()) };
            if f.tag == 2 {
                break f;
            }
            if buf.len() < at + f.header + f.len {
                return Ok(());
            }
            at += f.header + f.len;
        };
        at += raw.header;
        if raw.len == 0 {
            self.buf.drain(..at);
            self.phase = Phase::Items { meta: Vec::new(), left: 0 };
            return Ok(());
        }
        let Some(first) = field(&buf[at..])? else { return Ok(()) };
        if first.tag != 1 {
            self.phase = Phase::NotFirst;
            return Ok(());
        }
        let end = at + first.header + first.len;
        if first.header + first.len > raw.len {
            return Err(malformed("the metadata overruns the list"));
        }
        if buf.len() < end {
            return Ok(());
        }
        let meta = buf[at + first.header..end].to_vec();
        self.buf.drain(..end);
        self.phase = Phase::Items { meta, left: raw.len - (end - at) };
        Ok(())
    }

    /// Whole items that have arrived and not been taken yet, as a list message of items only
    /// (field 2 records), or `None` when there are none (or too few to hand out yet).
    pub fn take_items(&mut self) -> Result<Option<Vec<u8>>, Error> {
        self.take(false)
    }

    /// At the end of the body: the remaining items, and an error if the body stopped
    /// before the list did.
    pub fn finish(mut self) -> Result<Option<Vec<u8>>, Error> {
        let items = self.take(true)?;
        match self.phase {
            Phase::Items { left: 0, .. } => Ok(items),
            Phase::Items { .. } => Err(malformed("the body ended inside the list")),
            Phase::Head | Phase::NotFirst => Err(malformed("the body ended before the list's items")),
        }
    }

    /// Everything pushed so far, for a caller that decodes the body whole instead (before
    /// taking any items).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn take(&mut self, at_end: bool) -> Result<Option<Vec<u8>>, Error> {
        let Phase::Items { left, .. } = &mut self.phase else { return Ok(None) };
        if !at_end && self.buf.len() < MIN_BATCH.min(*left) {
            return Ok(None);
        }
        let mut end = 0;
        while end < *left {
            let Some(f) = field(&self.buf[end..])? else { break };
            let next = end + f.header + f.len;
            if next > *left {
                return Err(malformed("an item overruns the list"));
            }
            if self.buf.len() < next {
                break;
            }
            end = next;
        }
        *left -= end;
        if *left == 0 {
            // What follows the list message (the envelope's contentEncoding and
            // contentType) carries nothing for items.
            self.buf.truncate(end);
            return Ok((end > 0).then(|| std::mem::take(&mut self.buf)));
        }
        if end == 0 {
            return Ok(None);
        }
        let rest = self.buf.split_off(end);
        Ok(Some(std::mem::replace(&mut self.buf, rest)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::{decode_list_message, decode_list_meta, from_json};
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;

    /// A ConfigMapList of `n` items with `data` bytes each, and its protobuf body.
    fn list(n: usize, data: usize) -> (ListMeta, Vec<ConfigMap>, Vec<u8>) {
        let meta = ListMeta { resource_version: Some("42".into()), ..Default::default() };
        let items: Vec<ConfigMap> = (0..n)
            .map(|i| {
                let mut cm = ConfigMap::default();
                cm.metadata.name = Some(format!("c{i}"));
                cm.data = Some([("k".to_string(), "v".repeat(data))].into());
                cm
            })
            .collect();
        let json = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMapList", "metadata": meta, "items": items});
        let body = from_json(&serde_json::to_vec(&json).unwrap()).unwrap();
        (meta, items, body)
    }

    /// Feeds `body` in chunks of `step` bytes and decodes every batch: the metadata, the
    /// items and how many batches they came in.
    fn split(body: &[u8], step: usize) -> Result<(ListMeta, Vec<ConfigMap>, usize), Error> {
        let mut s = ListSplitter::new();
        let mut meta = None;
        let mut items = Vec::new();
        let mut batches = 0;
        let mut decode = |batch: Vec<u8>| -> Result<(), Error> {
            batches += 1;
            items.extend(decode_list_message::<ConfigMap>(&batch, Default::default())?.1);
            Ok(())
        };
        for chunk in body.chunks(step) {
            s.push(chunk);
            if meta.is_none() {
                match s.head()? {
                    Head::Ready(m) => meta = Some(decode_list_meta(m)?),
                    Head::Pending => continue,
                    Head::NotFirst => return Err(malformed("the metadata is not first")),
                }
            }
            if let Some(batch) = s.take_items()? {
                decode(batch)?;
            }
        }
        if let Some(batch) = s.finish()? {
            decode(batch)?;
        }
        Ok((meta.unwrap_or_default(), items, batches))
    }

    #[test]
    fn items_arrive_in_batches_in_order_whatever_the_chunking() {
        let (meta, items, body) = list(300, 1000);
        for step in [1, 7, 4096, 100_000, body.len()] {
            let (m, got, batches) = split(&body, step).unwrap();
            assert_eq!(m, meta, "step {step}");
            assert_eq!(got, items, "step {step}");
            if step <= 100_000 {
                assert!(batches > 1, "step {step}: {batches} batches");
            }
        }
    }

    #[test]
    fn an_empty_list_has_metadata_and_no_items() {
        let (meta, _, body) = list(0, 0);
        let (m, got, batches) = split(&body, 3).unwrap();
        assert_eq!((m, got.len(), batches), (meta, 0, 0));
    }

    #[test]
    fn a_body_cut_short_is_an_error_never_a_panic() {
        let (_, _, body) = list(20, 100);
        // The envelope ends with two empty strings (contentEncoding, contentType: 4 bytes)
        // that carry nothing; every cut before them loses part of the list.
        let list_end = body.len() - 4;
        for cut in [0, 2, 5, 9, 30, list_end / 2, list_end - 1] {
            assert!(split(&body[..cut], 5).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn garbage_is_an_error_never_a_panic() {
        let mut seed = 7u64;
        for _ in 0..2000 {
            let len = (seed % 300) as usize;
            let mut bytes = MAGIC.to_vec();
            for _ in 0..len {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                bytes.push((seed >> 33) as u8);
            }
            let _ = split(&bytes, 1 + (seed % 17) as usize);
        }
    }

    #[test]
    fn json_is_not_a_protobuf_list() {
        let mut s = ListSplitter::new();
        s.push(b"{\"kind\":\"ConfigMapList\"}");
        assert!(matches!(s.head(), Err(Error::NoMagic)));
    }
}
