//! The envelope kube-apiserver wraps protobuf objects in, and the watch stream framing.
//!
//! An object body is the 4-byte magic `k8s\0` followed by a `runtime.Unknown` message:
//! `typeMeta{apiVersion, kind}`, `raw` (the object's own message), `contentEncoding`,
//! `contentType`. A watch stream is a sequence of frames, each a 4-byte big-endian length and
//! a `meta.v1.WatchEvent{type, object: RawExtension{raw}}` message whose `raw` is itself an
//! enveloped object (magic included), as client-go's protobuf stream serializer writes it.

use k8s_pb::apimachinery::pkg::apis::meta::v1 as pb_meta;
use k8s_pb::apimachinery::pkg::runtime as pb_runtime;
use prost::Message;

/// The four bytes every protobuf object body starts with.
pub const MAGIC: [u8; 4] = *b"k8s\0";
/// The media type of protobuf bodies.
pub const CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf";
/// The media type of protobuf watch streams.
pub const WATCH_CONTENT_TYPE: &str = "application/vnd.kubernetes.protobuf;stream=watch";

/// Why protobuf bytes could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The body does not start with `k8s\0`.
    #[error("provided object is not a protobuf message: missing the k8s\\0 prefix")]
    NoMagic,
    /// The envelope or the object message is malformed.
    #[error("protobuf decode error: {0}")]
    Decode(#[from] prost::DecodeError),
    /// The envelope names a kind this crate has no message for.
    #[error("no protobuf message for {api_version}, Kind={kind}")]
    UnknownKind {
        /// The envelope's apiVersion.
        api_version: String,
        /// The envelope's kind.
        kind: String,
    },
    /// JSON on the other side of the conversion is not the expected type.
    #[error("{0}")]
    Json(#[from] serde_json::Error),
    /// A list body is malformed or ended before the list did.
    #[error("not a protobuf list: {0}")]
    NotAList(String),
    /// A codec was asked to decode into a type other than its own.
    #[error("the protobuf codec decodes another type than {0}")]
    OtherType(&'static str),
}

/// A decoded envelope: the object's type and its message bytes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Envelope {
    /// `apiVersion` of the object, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind` of the object, e.g. `Deployment`.
    pub kind: String,
    /// The object's message bytes.
    pub raw: Vec<u8>,
}

/// Whether `body` starts with the protobuf magic.
pub fn is_protobuf(body: &[u8]) -> bool {
    body.starts_with(&MAGIC)
}

/// A decoded envelope that borrows the object's message bytes from the body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvelopeRef<'a> {
    /// `apiVersion` of the object, e.g. `apps/v1`.
    pub api_version: String,
    /// `kind` of the object, e.g. `Deployment`.
    pub kind: String,
    /// The object's message bytes, a slice of the body.
    pub raw: &'a [u8],
}

/// Reads the magic and the `runtime.Unknown` envelope.
pub fn decode_envelope(body: &[u8]) -> Result<Envelope, Error> {
    let EnvelopeRef { api_version, kind, raw } = decode_envelope_ref(body)?;
    Ok(Envelope { api_version, kind, raw: raw.to_vec() })
}

/// Reads the magic and the `runtime.Unknown` envelope without copying the object's bytes.
pub fn decode_envelope_ref(body: &[u8]) -> Result<EnvelopeRef<'_>, Error> {
    let mut buf = body.strip_prefix(&MAGIC[..]).ok_or(Error::NoMagic)?;
    let mut env = EnvelopeRef::default();
    while !buf.is_empty() {
        let (tag, wire_type) = prost::encoding::decode_key(&mut buf)?;
        match tag {
            1 => {
                let tm = pb_runtime::TypeMeta::decode(length_delimited(tag, wire_type, &mut buf)?)?;
                env.api_version = tm.api_version.unwrap_or_default();
                env.kind = tm.kind.unwrap_or_default();
            }
            2 => env.raw = length_delimited(tag, wire_type, &mut buf)?,
            _ => prost::encoding::skip_field(wire_type, tag, &mut buf, Default::default())?,
        }
    }
    Ok(env)
}

/// The payload of the length-delimited field whose key was just read, borrowed from `buf`.
pub(crate) fn length_delimited<'a>(
    tag: u32,
    wire_type: prost::encoding::WireType,
    buf: &mut &'a [u8],
) -> Result<&'a [u8], prost::DecodeError> {
    prost::encoding::check_wire_type(prost::encoding::WireType::LengthDelimited, wire_type)?;
    let mut field = *buf;
    // skip_field checks the length against the buffer.
    prost::encoding::skip_field(wire_type, tag, buf, Default::default())?;
    field = &field[..field.len() - buf.len()];
    prost::encoding::decode_varint(&mut field)?;
    Ok(field)
}

/// Writes the magic and the envelope around an object's message bytes.
pub fn encode_envelope(api_version: &str, kind: &str, raw: Vec<u8>) -> Vec<u8> {
    let unknown = pb_runtime::Unknown {
        type_meta: Some(pb_runtime::TypeMeta { api_version: Some(api_version.into()), kind: Some(kind.into()) }),
        raw: Some(raw),
        content_encoding: Some(String::new()),
        content_type: Some(String::new()),
    };
    let mut out = Vec::with_capacity(4 + unknown.encoded_len());
    out.extend_from_slice(&MAGIC);
    unknown.encode(&mut out).expect("vec grows");
    out
}

/// One watch stream frame: length prefix + `WatchEvent{type, object}`; `object` is an enveloped
/// object (see [`encode_envelope`]).
pub fn watch_frame(event_type: &str, object: Vec<u8>) -> Vec<u8> {
    let ev = pb_meta::WatchEvent {
        r#type: Some(event_type.into()),
        object: Some(pb_runtime::RawExtension { raw: Some(object) }),
    };
    let len = ev.encoded_len();
    let mut out = Vec::with_capacity(4 + len);
    out.extend_from_slice(&(len as u32).to_be_bytes());
    ev.encode(&mut out).expect("vec grows");
    out
}

/// Splits the first complete frame off `buf`: `(event type, enveloped object, bytes used)`;
/// `Ok(None)` when `buf` holds only part of a frame.
pub fn read_watch_frame(buf: &[u8]) -> Result<Option<(String, Vec<u8>, usize)>, Error> {
    let Some(len) = buf.get(..4) else { return Ok(None) };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let Some(msg) = buf.get(4..4 + len) else { return Ok(None) };
    let ev = pb_meta::WatchEvent::decode(msg)?;
    let raw = ev.object.and_then(|o| o.raw).unwrap_or_default();
    Ok(Some((ev.r#type.unwrap_or_default(), raw, 4 + len)))
}

/// A watch frame borrowed from the stream: `(event type, enveloped object, bytes used)`.
pub type FrameRef<'a> = (&'a [u8], &'a [u8], usize);

/// The first complete frame of `buf` without copying; `Ok(None)` when `buf` holds only part
/// of a frame.
pub fn read_watch_frame_ref(buf: &[u8]) -> Result<Option<FrameRef<'_>>, Error> {
    let Some(len) = buf.get(..4) else { return Ok(None) };
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let Some(mut msg) = buf.get(4..4 + len) else { return Ok(None) };
    let (mut event_type, mut object): (&[u8], &[u8]) = (&[], &[]);
    // WatchEvent{type = 1, object = 2: RawExtension{raw = 1}}
    while !msg.is_empty() {
        let (tag, wire_type) = prost::encoding::decode_key(&mut msg)?;
        match tag {
            1 => event_type = length_delimited(tag, wire_type, &mut msg)?,
            2 => {
                let mut ext = length_delimited(tag, wire_type, &mut msg)?;
                while !ext.is_empty() {
                    let (tag, wire_type) = prost::encoding::decode_key(&mut ext)?;
                    match tag {
                        1 => object = length_delimited(tag, wire_type, &mut ext)?,
                        _ => prost::encoding::skip_field(wire_type, tag, &mut ext, Default::default())?,
                    }
                }
            }
            _ => prost::encoding::skip_field(wire_type, tag, &mut msg, Default::default())?,
        }
    }
    Ok(Some((event_type, object, 4 + len)))
}

/// How many leading bytes of `buf` are complete watch frames.
pub fn complete_frames_len(buf: &[u8]) -> usize {
    let mut at = 0;
    while let Some(len) = buf.get(at..at + 4) {
        let end = at + 4 + u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        if end > buf.len() {
            break;
        }
        at = end;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_round_trips() {
        let b = encode_envelope("apps/v1", "Deployment", vec![1, 2, 3]);
        assert!(is_protobuf(&b));
        let e = decode_envelope(&b).unwrap();
        assert_eq!(
            (e.api_version.as_str(), e.kind.as_str(), e.raw.as_slice()),
            ("apps/v1", "Deployment", &[1, 2, 3][..])
        );
        assert!(matches!(decode_envelope(b"{}"), Err(Error::NoMagic)));
    }

    #[test]
    fn watch_frames_split_on_length() {
        let mut stream = watch_frame("ADDED", encode_envelope("v1", "Pod", vec![]));
        stream.extend(watch_frame("DELETED", encode_envelope("v1", "Pod", vec![9])));
        let (t, obj, used) = read_watch_frame(&stream).unwrap().unwrap();
        assert_eq!(t, "ADDED");
        assert_eq!(decode_envelope(&obj).unwrap().kind, "Pod");
        let (t, obj, used2) = read_watch_frame(&stream[used..]).unwrap().unwrap();
        assert_eq!((t.as_str(), decode_envelope(&obj).unwrap().raw), ("DELETED", vec![9]));
        assert_eq!(used + used2, stream.len());
        assert!(read_watch_frame(&stream[..used - 1]).unwrap().is_none());
        let (t, obj, used3) = read_watch_frame_ref(&stream[used..]).unwrap().unwrap();
        assert_eq!((t, decode_envelope_ref(obj).unwrap().raw, used3), (&b"DELETED"[..], &[9][..], used2));
        assert!(read_watch_frame_ref(&stream[..used - 1]).unwrap().is_none());
        assert_eq!(complete_frames_len(&stream), stream.len());
        assert_eq!(complete_frames_len(&stream[..stream.len() - 1]), used);
        assert_eq!(complete_frames_len(&stream[..3]), 0);
    }
}
