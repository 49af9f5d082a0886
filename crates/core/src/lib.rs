//! rkube-core: API machinery shared by the clients, the runtime and the embedded API server.
//!
//! Nothing here does IO: it names resources, builds and parses request options, parses
//! selectors, decodes watch streams and models the API's errors, so that the client and the
//! embedded server share one definition of each.

pub mod selector;
