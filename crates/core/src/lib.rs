//! rkube-core: API machinery shared by the clients, the runtime and the embedded API server.
//!
//! Nothing here does IO: it names resources, builds and parses request options, parses
//! selectors, decodes watch streams and models the API's errors, so that the client and the
//! embedded server share one definition of each.

pub mod dynamic;
pub mod exact_json;
pub mod gvk;
mod json_scan;
pub mod key;
pub mod list;
pub mod list_split;
pub mod meta_ext;
pub mod metadata;
pub mod object;
pub mod options;
pub mod patch;
pub mod query;
pub mod selector;
pub mod status;
pub mod strip;
pub mod watch;

pub use dynamic::{DynamicObject, TypeMeta};
pub use gvk::{ApiResource, GroupVersion, GroupVersionKind, GroupVersionResource};
pub use key::ObjectKey;
pub use list::ObjectList;
pub use meta_ext::ObjectMetaExt;
pub use metadata::{PartialObjectMetadata, PartialObjectMetadataList};
pub use object::{Object, Resource};
pub use options::{DeleteOptions, GetOptions, ListOptions, WatchOptions, WriteOptions};
pub use patch::Patch;
pub use status::{ApiError, Status};
pub use watch::{WatchDecoder, WatchEvent};
