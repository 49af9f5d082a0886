//! Protobuf codecs reachable by Rust type, so generic code (the client's `Api<K>`) can use
//! protobuf for the kinds that have it without a trait bound on every caller.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::OnceLock;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ListMeta;

use crate::kinds::{DecodeOptions, HasProtobuf, decode_list_message, decode_with, encode};
use crate::wire::Error;

/// A decoded value of an erased type (`Box<K>` or `Box<Vec<K>>`).
pub type Erased = Box<dyn Any + Send>;

/// A decoded list: its metadata and the erased `Box<Vec<K>>` of items.
pub type ErasedList = (ListMeta, Erased);

/// Decoders and the encoder of one kind, type-erased.
pub struct Codec {
    /// Decodes an enveloped object into a `Box<K>`.
    pub decode: fn(&[u8], DecodeOptions) -> Result<Erased, Error>,
    /// Decodes a list message without its envelope (a whole list, or a batch of its items)
    /// into its metadata and a `Box<Vec<K>>`.
    pub decode_list_message: fn(&[u8], DecodeOptions) -> Result<ErasedList, Error>,
    /// Encodes a `&K` (`None` when given another type).
    pub encode: fn(&dyn Any) -> Option<Vec<u8>>,
    /// Whether the kind converts losslessly ([`is_lossless`](crate::generated::is_lossless)).
    pub lossless: bool,
}

impl Codec {
    /// Decodes an enveloped object as `K`, the type this codec was looked up for.
    pub fn decode_as<K: 'static>(&self, body: &[u8], opts: DecodeOptions) -> Result<K, Error> {
        let any = (self.decode)(body, opts)?;
        any.downcast::<K>().map(|k| *k).map_err(|_| Error::OtherType(std::any::type_name::<K>()))
    }

    /// Decodes a list body into its metadata and items of type `K`.
    pub fn decode_list_as<K: 'static>(&self, body: &[u8], opts: DecodeOptions) -> Result<(ListMeta, Vec<K>), Error> {
        self.decode_list_message_as(crate::wire::decode_envelope_ref(body)?.raw, opts)
    }

    /// Decodes a list message without its envelope (a batch of items) as `K`s.
    pub fn decode_list_message_as<K: 'static>(
        &self,
        raw: &[u8],
        opts: DecodeOptions,
    ) -> Result<(ListMeta, Vec<K>), Error> {
        let (meta, items) = (self.decode_list_message)(raw, opts)?;
        let items = items.downcast::<Vec<K>>().map_err(|_| Error::OtherType(std::any::type_name::<K>()))?;
        Ok((meta, *items))
    }
}

fn codec_of<K: HasProtobuf + Clone + Send + 'static>() -> Codec {
    Codec {
        decode: |b, opts| decode_with::<K>(b, opts).map(|k| Box::new(k) as Erased),
        decode_list_message: |b, opts| {
            decode_list_message::<K>(b, opts).map(|(m, items)| (m, Box::new(items) as Erased))
        },
        encode: |any| any.downcast_ref::<K>().map(|k| encode(k.clone())),
        lossless: crate::generated::is_lossless(K::GROUP, K::KIND),
    }
}

/// The protobuf codec of type `K`, if it is a built-in kind with one.
pub fn codec<K: 'static>() -> Option<&'static Codec> {
    static CODECS: OnceLock<HashMap<TypeId, Codec>> = OnceLock::new();
    CODECS
        .get_or_init(|| {
            let mut map = HashMap::new();
            macro_rules! register {
                ($g:literal, $v:literal, $k:literal, $o:ty, $p:ty) => {
                    map.insert(TypeId::of::<$o>(), codec_of::<$o>());
                };
            }
            crate::for_each_kind!(register);
            map
        })
        .get(&TypeId::of::<K>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::ConfigMap;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    #[test]
    fn codecs_round_trip_by_type() {
        let c = codec::<ConfigMap>().expect("ConfigMap has protobuf");
        let cm = ConfigMap {
            metadata: ObjectMeta { name: Some("a".into()), ..Default::default() },
            data: Some([("k".to_string(), "v".to_string())].into()),
            ..Default::default()
        };
        let bytes = (c.encode)(&cm).unwrap();
        let back: ConfigMap = c.decode_as(&bytes, DecodeOptions::default()).unwrap();
        assert_eq!(back.data, cm.data);
        let wrong = c.decode_as::<k8s_openapi::api::core::v1::Secret>(&bytes, DecodeOptions::default());
        assert!(wrong.unwrap_err().to_string().contains("Secret"));
        assert!((c.encode)(&42u8).is_none());
        assert!(c.lossless);
        assert!(!codec::<k8s_openapi::api::core::v1::Pod>().unwrap().lossless);
        assert!(codec::<String>().is_none());
    }
}
