//! Watch events and the incremental decoder of the API's newline-delimited JSON watch stream.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use bytes::BytesMut;
use serde::de::{DeserializeOwned, Error as _, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::exact_json;
use crate::status::Status;

/// The annotation on the bookmark that ends the initial events of a watch-list stream.
pub const INITIAL_EVENTS_END_ANNOTATION: &str = "k8s.io/initial-events-end";

/// The object of a BOOKMARK event: only a resourceVersion (and annotations) are meaningful.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Bookmark {
    /// The object's metadata.
    pub metadata: BookmarkMeta,
}

/// Metadata of a bookmark object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BookmarkMeta {
    /// The resourceVersion the watch has reached.
    #[serde(rename = "resourceVersion", default)]
    pub resource_version: String,
    /// Annotations, such as `k8s.io/initial-events-end`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Bookmark {
    /// Whether this bookmark marks the end of the initial events (watch-list streams).
    pub fn is_initial_events_end(&self) -> bool {
        self.metadata.annotations.get(INITIAL_EVENTS_END_ANNOTATION).is_some_and(|v| v == "true")
    }
}

/// One event of a watch stream.
#[derive(Debug, Clone, PartialEq)]
// Objects dwarf the Status/Bookmark variants anyway; boxing would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
pub enum WatchEvent<K> {
    /// An object was created (or is listed first, for watches from "0" / with initial events).
    Added(K),
    /// An object changed.
    Modified(K),
    /// An object was deleted; this is its last state.
    Deleted(K),
    /// The watch has seen everything up to a resourceVersion.
    Bookmark(Bookmark),
    /// The server ended the watch with an error, such as 410 Expired.
    Error(Status),
}

impl<K> WatchEvent<K> {
    /// The wire name of the event type.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::Added(_) => "ADDED",
            Self::Modified(_) => "MODIFIED",
            Self::Deleted(_) => "DELETED",
            Self::Bookmark(_) => "BOOKMARK",
            Self::Error(_) => "ERROR",
        }
    }
}

impl<K: Serialize> Serialize for WatchEvent<K> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = ser.serialize_struct("WatchEvent", 2)?;
        s.serialize_field("type", self.type_name())?;
        match self {
            Self::Added(o) | Self::Modified(o) | Self::Deleted(o) => s.serialize_field("object", o)?,
            Self::Bookmark(b) => s.serialize_field("object", b)?,
            Self::Error(st) => s.serialize_field("object", st)?,
        }
        s.end()
    }
}

#[derive(Clone, Copy)]
enum EventType {
    Added,
    Modified,
    Deleted,
    Bookmark,
    Error,
}

impl EventType {
    fn parse<E: serde::de::Error>(s: &str) -> Result<Self, E> {
        Ok(match s {
            "ADDED" => Self::Added,
            "MODIFIED" => Self::Modified,
            "DELETED" => Self::Deleted,
            "BOOKMARK" => Self::Bookmark,
            "ERROR" => Self::Error,
            other => return Err(E::custom(format!("unknown watch event type {other:?}"))),
        })
    }

    fn decode<K: DeserializeOwned, E: serde::de::Error>(self, raw: &str) -> Result<WatchEvent<K>, E> {
        let err = |e: serde_json::Error| E::custom(format!("{} event object: {e}", self.name()));
        Ok(match self {
            Self::Added => WatchEvent::Added(exact_json::from_slice(raw.as_bytes()).map_err(err)?),
            Self::Modified => WatchEvent::Modified(exact_json::from_slice(raw.as_bytes()).map_err(err)?),
            Self::Deleted => WatchEvent::Deleted(exact_json::from_slice(raw.as_bytes()).map_err(err)?),
            Self::Bookmark => WatchEvent::Bookmark(serde_json::from_str(raw).map_err(err)?),
            Self::Error => WatchEvent::Error(serde_json::from_str(raw).map_err(err)?),
        })
    }

    fn name(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
            Self::Bookmark => "BOOKMARK",
            Self::Error => "ERROR",
        }
    }
}

impl<'de, K: DeserializeOwned> Deserialize<'de> for WatchEvent<K> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct EventVisitor<K>(PhantomData<K>);

        impl<'de, K: DeserializeOwned> Visitor<'de> for EventVisitor<K> {
            type Value = WatchEvent<K>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a watch event object with \"type\" and \"object\"")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut kind: Option<EventType> = None;
                let mut event: Option<WatchEvent<K>> = None;
                // The object is kept raw only when it arrives before "type" (kube-apiserver
                // always writes "type" first, so the common path decodes the object once).
                let mut pending: Option<Box<serde_json::value::RawValue>> = None;
                while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                    match key.as_ref() {
                        "type" => {
                            let name = map.next_value::<std::borrow::Cow<'de, str>>()?;
                            kind = Some(EventType::parse(&name)?);
                        }
                        "object" => match kind {
                            Some(k) => {
                                event = Some(match k {
                                    EventType::Added => WatchEvent::Added(map.next_value()?),
                                    EventType::Modified => WatchEvent::Modified(map.next_value()?),
                                    EventType::Deleted => WatchEvent::Deleted(map.next_value()?),
                                    EventType::Bookmark => WatchEvent::Bookmark(map.next_value()?),
                                    EventType::Error => WatchEvent::Error(map.next_value()?),
                                })
                            }
                            None => pending = Some(map.next_value()?),
                        },
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                match (event, kind, pending) {
                    (Some(e), _, _) => Ok(e),
                    (None, Some(k), Some(raw)) => k.decode(raw.get()),
                    (None, None, _) => Err(A::Error::missing_field("type")),
                    (None, Some(_), None) => Err(A::Error::missing_field("object")),
                }
            }
        }

        de.deserialize_map(EventVisitor(PhantomData))
    }
}

/// A watch stream line that could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("undecodable watch event at byte {offset} of the stream: {source}; event starts with {snippet:?}")]
pub struct WatchDecodeError {
    /// Offset of the event's first byte within the whole stream.
    pub offset: u64,
    /// The beginning of the event's bytes.
    pub snippet: String,
    /// The decoding failure.
    #[source]
    pub source: serde_json::Error,
}

/// Decodes watch events incrementally from chunks of a newline-delimited JSON stream: a
/// chunk may hold part of an event or several events.
#[derive(Debug)]
pub struct WatchDecoder<K> {
    buf: BytesMut,
    // Bytes of `buf` already known to hold no newline.
    scanned: usize,
    // Stream offset of `buf[0]`.
    offset: u64,
    // Drop `managedFields` before decoding each event.
    skip_managed_fields: bool,
    _kind: PhantomData<fn() -> K>,
}

impl<K> Default for WatchDecoder<K> {
    fn default() -> Self {
        Self { buf: BytesMut::new(), scanned: 0, offset: 0, skip_managed_fields: false, _kind: PhantomData }
    }
}

impl<K: DeserializeOwned> WatchDecoder<K> {
    /// A decoder with an empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops every object's `managedFields` before decoding it (builder style): cheaper
    /// decoding and smaller objects for caches that never read them.
    pub fn skipping_managed_fields(mut self, skip: bool) -> Self {
        self.skip_managed_fields = skip;
        self
    }

    /// Appends a chunk of the stream.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete event, if the buffer holds one. Blank lines are skipped.
    pub fn next_event(&mut self) -> Option<Result<WatchEvent<K>, WatchDecodeError>> {
        loop {
            let Some(found) = memchr(&self.buf[self.scanned..]) else {
                self.scanned = self.buf.len();
                return None;
            };
            let newline = found + self.scanned;
            let line = self.buf.split_to(newline + 1);
            let offset = self.offset;
            self.offset += line.len() as u64;
            self.scanned = 0;
            let body = trim(&line[..newline]);
            if body.is_empty() {
                continue;
            }
            let body: &[u8] = body;
            return Some(self.decode(body, offset));
        }
    }

    fn decode(&self, body: &[u8], offset: u64) -> Result<WatchEvent<K>, WatchDecodeError> {
        if self.skip_managed_fields {
            decode_at(&crate::strip::strip_managed_fields(body), offset)
        } else {
            decode_at(body, offset)
        }
    }

    /// Ends the stream: decodes a final event that was not followed by a newline.
    pub fn finish(&mut self) -> Option<Result<WatchEvent<K>, WatchDecodeError>> {
        if let Some(ev) = self.next_event() {
            return Some(ev);
        }
        let rest = self.buf.split();
        self.scanned = 0;
        let offset = self.offset;
        self.offset += rest.len() as u64;
        let body = trim(&rest);
        (!body.is_empty()).then(|| self.decode(body, offset))
    }

    /// Bytes buffered that do not yet form a complete event.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }
}

/// Objects are decoded with exactly sized `Vec`s: watched objects usually end up in a cache.
fn decode_at<K: DeserializeOwned>(body: &[u8], offset: u64) -> Result<WatchEvent<K>, WatchDecodeError> {
    exact_json::from_slice(body).map_err(|source| WatchDecodeError {
        offset,
        snippet: String::from_utf8_lossy(&body[..body.len().min(80)]).into_owned(),
        source,
    })
}

fn memchr(hay: &[u8]) -> Option<usize> {
    memchr::memchr(b'\n', hay)
}

fn trim(mut s: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = s {
        if first.is_ascii_whitespace() {
            s = rest
        } else {
            break;
        }
    }
    while let [rest @ .., last] = s {
        if last.is_ascii_whitespace() {
            s = rest
        } else {
            break;
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use proptest::prelude::*;

    const STREAM: &str = concat!(
        r#"{"type":"ADDED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"1"}}}"#,
        "\n",
        r#"{"object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"2"},"data":{"k":"v"}},"type":"MODIFIED"}"#,
        "\n",
        r#"{"type":"BOOKMARK","object":{"kind":"ConfigMap","apiVersion":"v1","metadata":{"resourceVersion":"3","annotations":{"k8s.io/initial-events-end":"true"}}}}"#,
        "\n",
        r#"{"type":"DELETED","object":{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a","resourceVersion":"4"}}}"#,
        "\n",
        r#"{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}}"#,
        "\n"
    );

    fn check(events: &[WatchEvent<ConfigMap>]) {
        assert_eq!(events.len(), 5);
        assert!(matches!(&events[0], WatchEvent::Added(c) if c.metadata.name.as_deref() == Some("a")));
        assert!(matches!(&events[1], WatchEvent::Modified(c) if c.data.as_ref().unwrap()["k"] == "v"));
        assert!(
            matches!(&events[2], WatchEvent::Bookmark(b) if b.metadata.resource_version == "3" && b.is_initial_events_end())
        );
        assert!(matches!(&events[3], WatchEvent::Deleted(_)));
        assert!(matches!(&events[4], WatchEvent::Error(s) if s.code == 410 && s.reason == "Expired"));
    }

    fn decode_in_chunks(size: usize) -> Vec<WatchEvent<ConfigMap>> {
        let mut dec = WatchDecoder::new();
        let mut out = Vec::new();
        for chunk in STREAM.as_bytes().chunks(size) {
            dec.push(chunk);
            while let Some(ev) = dec.next_event() {
                out.push(ev.unwrap());
            }
        }
        assert!(dec.finish().is_none());
        out
    }

    #[test]
    fn decodes_every_chunking() {
        for size in [1, 2, 3, 7, 64, 100, 4096] {
            check(&decode_in_chunks(size));
        }
    }

    #[test]
    fn final_event_without_newline() {
        let mut dec = WatchDecoder::<ConfigMap>::new();
        dec.push(STREAM.trim_end().as_bytes());
        let mut n = 0;
        while let Some(ev) = dec.next_event() {
            ev.unwrap();
            n += 1;
        }
        assert_eq!(n, 4);
        assert!(matches!(dec.finish(), Some(Ok(WatchEvent::Error(_)))));
        assert!(dec.finish().is_none());
    }

    #[test]
    fn errors_name_the_offset() {
        let mut dec = WatchDecoder::<ConfigMap>::new();
        dec.push(
            b"{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"a\"}}}\n{\"type\":\"NOPE\",\"object\":{}}\n",
        );
        assert!(dec.next_event().unwrap().is_ok());
        let err = dec.next_event().unwrap().unwrap_err();
        assert_eq!(err.offset, 52);
        assert!(err.to_string().contains("NOPE"), "{err}");
    }

    #[test]
    fn can_skip_managed_fields_while_decoding() {
        let line =
            br#"{"type":"ADDED","object":{"metadata":{"name":"a","managedFields":[{"manager":"m"}]},"data":{"k":"v"}}}
"#;
        let mut keep = WatchDecoder::<ConfigMap>::new();
        keep.push(line);
        let Some(Ok(WatchEvent::Added(kept))) = keep.next_event() else { panic!("decodes") };
        assert!(kept.metadata.managed_fields.is_some());
        let mut skip = WatchDecoder::<ConfigMap>::new().skipping_managed_fields(true);
        skip.push(line);
        let Some(Ok(WatchEvent::Added(skipped))) = skip.next_event() else { panic!("decodes") };
        assert!(skipped.metadata.managed_fields.is_none());
        assert_eq!(skipped.data, kept.data);
    }

    #[test]
    fn serializes_like_the_api() {
        let ev: WatchEvent<ConfigMap> = WatchEvent::Added(ConfigMap::default());
        let s = serde_json::to_string(&ev).unwrap();
        assert!(s.starts_with(r#"{"type":"ADDED","object":{"#), "{s}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..8)) {
            let mut dec = WatchDecoder::<ConfigMap>::new();
            for c in &chunks {
                dec.push(c);
                while dec.next_event().is_some() {}
            }
            let _ = dec.finish();
        }

        #[test]
        fn arbitrary_text_never_panics(s in "[{}\\[\\]\":,a-zA-Z\n ]{0,200}") {
            let mut dec = WatchDecoder::<ConfigMap>::new();
            dec.push(s.as_bytes());
            while dec.next_event().is_some() {}
            let _ = dec.finish();
        }
    }
}
