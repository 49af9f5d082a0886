//! Informers, work queue and controller runtime for Kubernetes.

pub mod backoff;
mod decode_pool;
pub mod factory;
pub mod informer;
mod json_list;
pub mod lister;
mod mailbox;
pub mod protobuf_source;
pub mod reflector;
pub mod source;
pub mod store;
pub mod workqueue;

pub use factory::{InformerFactory, Scope};
pub use informer::{DeletedObject, EventHandler, FnHandler, HandlerRegistration, InformerOptions, SharedInformer};
pub use lister::{Lister, NamespaceLister};
pub use reflector::{Reflector, ReflectorOptions, ReflectorState};
pub use source::ListWatch;
pub use store::Store;
