//! Watch streams: a response body decoded incrementally into [`WatchEvent`]s.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::{Stream, StreamExt};
use rkube_core::{WatchDecoder, WatchEvent};
use serde::de::DeserializeOwned;

use crate::error::Error;
use crate::transport::ByteStream;

/// The events of one watch request, decoded as the bytes arrive (one event is never buffered
/// twice; a chunk may hold part of an event or several).
///
/// Ends when the server ends the watch (timeoutSeconds, restart); an `ERROR` event (such as
/// 410 Expired) is yielded as [`WatchEvent::Error`], not as `Err`. `Err` items are transport or
/// decoding failures; the stream ends after one. Reconnecting is the caller's job (the
/// runtime's reflector does it).
pub struct WatchStream<K> {
    inner: Pin<Box<dyn Stream<Item = Result<WatchEvent<K>, Error>> + Send>>,
}

impl<K> std::fmt::Debug for WatchStream<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WatchStream")
    }
}

struct State<K> {
    bytes: ByteStream,
    decoder: WatchDecoder<K>,
    url: String,
    ended: bool,
}

impl<K: DeserializeOwned + Send + 'static> WatchStream<K> {
    pub(crate) fn new(bytes: ByteStream, url: String) -> Self {
        let state = State { bytes, decoder: WatchDecoder::new(), url, ended: false };
        let stream = futures::stream::unfold(state, |mut st| async move {
            loop {
                if let Some(ev) = st.decoder.next_event() {
                    return Some((ev.map_err(|source| Error::WatchDecode { url: st.url.clone(), source }), st));
                }
                if st.ended {
                    return None;
                }
                match st.bytes.next().await {
                    Some(Ok(chunk)) => st.decoder.push(&chunk),
                    Some(Err(e)) => {
                        st.ended = true;
                        // Drop whatever partial event was buffered: the stream is broken.
                        st.decoder = WatchDecoder::new();
                        return Some((Err(e), st));
                    }
                    None => {
                        st.ended = true;
                        let last = st.decoder.finish()?;
                        return Some((last.map_err(|source| Error::WatchDecode { url: st.url.clone(), source }), st));
                    }
                }
            }
        });
        WatchStream { inner: Box::pin(stream) }
    }
}

impl<K: Send + 'static> WatchStream<K> {
    /// The same stream with `f` applied to the object of every Added/Modified/Deleted event.
    pub(crate) fn map_objects(self, f: impl Fn(K) -> K + Send + 'static) -> Self {
        let inner = self.inner.map(move |ev| {
            ev.map(|ev| match ev {
                WatchEvent::Added(o) => WatchEvent::Added(f(o)),
                WatchEvent::Modified(o) => WatchEvent::Modified(f(o)),
                WatchEvent::Deleted(o) => WatchEvent::Deleted(f(o)),
                other => other,
            })
        });
        WatchStream { inner: Box::pin(inner) }
    }
}

impl<K> Stream for WatchStream<K> {
    type Item = Result<WatchEvent<K>, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}
