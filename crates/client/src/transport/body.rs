//! Response bodies: collected once into one buffer, or streamed chunk by chunk, with gzip
//! decoded on the fly when the server compressed them.

use std::io::Write as _;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use http_body_util::BodyExt;
use hyper::body::Incoming;

use crate::error::{Error, chain_message};

/// A streamed response body (`pods/log?follow=true`, watch streams, anything large).
///
/// Yields the body's chunks as they arrive, already gunzipped; ends when the server ends the
/// response. An error names the URL.
pub struct ByteStream {
    inner: Pin<Box<dyn Stream<Item = Result<Bytes, Error>> + Send>>,
}

impl std::fmt::Debug for ByteStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ByteStream")
    }
}

impl Stream for ByteStream {
    type Item = Result<Bytes, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

struct StreamState {
    body: Incoming,
    gunzip: Option<flate2::write::GzDecoder<Vec<u8>>>,
    verb: String,
    url: String,
    done: bool,
}

impl ByteStream {
    /// Streams `body`; `gzip` says whether it is gzip-encoded.
    pub(crate) fn new(body: Incoming, gzip: bool, verb: String, url: String) -> Self {
        let state = StreamState {
            body,
            gunzip: gzip.then(|| flate2::write::GzDecoder::new(Vec::new())),
            verb,
            url,
            done: false,
        };
        let stream = futures::stream::unfold(state, |mut st| async move {
            loop {
                if st.done {
                    return None;
                }
                match st.body.frame().await {
                    None => {
                        st.done = true;
                        let rest = match st.gunzip.take() {
                            Some(gz) => match gz.finish() {
                                Ok(rest) => rest,
                                Err(e) => return Some((Err(body_error(&st.verb, &st.url, e)), st)),
                            },
                            None => Vec::new(),
                        };
                        if rest.is_empty() {
                            return None;
                        }
                        return Some((Ok(Bytes::from(rest)), st));
                    }
                    Some(Err(e)) => {
                        st.done = true;
                        return Some((Err(body_error(&st.verb, &st.url, e)), st));
                    }
                    Some(Ok(frame)) => {
                        let Ok(data) = frame.into_data() else { continue };
                        let out = match st.gunzip.as_mut() {
                            None => data,
                            Some(gz) => {
                                if let Err(e) = gz.write_all(&data).and_then(|_| gz.flush()) {
                                    st.done = true;
                                    return Some((Err(body_error(&st.verb, &st.url, e)), st));
                                }
                                Bytes::from(std::mem::take(gz.get_mut()))
                            }
                        };
                        if out.is_empty() {
                            continue;
                        }
                        return Some((Ok(out), st));
                    }
                }
            }
        });
        ByteStream { inner: Box::pin(stream) }
    }
}

/// Reads a whole body into one buffer, gunzipping it if needed.
pub(crate) async fn collect(body: Incoming, gzip: bool, verb: &str, url: &str) -> Result<Bytes, Error> {
    let bytes = body.collect().await.map_err(|e| body_error(verb, url, e))?.to_bytes();
    if !gzip {
        return Ok(bytes);
    }
    gunzip(&bytes).map_err(|e| body_error(verb, url, e))
}

/// Decompresses a whole gzip buffer.
pub(crate) fn gunzip(bytes: &[u8]) -> std::io::Result<Bytes> {
    let mut out = flate2::write::GzDecoder::new(Vec::with_capacity(bytes.len() * 4));
    out.write_all(bytes)?;
    Ok(Bytes::from(out.finish()?))
}

fn body_error<E: std::error::Error + Send + Sync + 'static>(verb: &str, url: &str, e: E) -> Error {
    Error::Transport {
        verb: verb.to_owned(),
        url: url.to_owned(),
        message: format!("reading the response body: {}", chain_message(&e)),
        source: Box::new(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gunzips() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(br#"{"kind":"PodList"}"#).unwrap();
        let gz = enc.finish().unwrap();
        assert_eq!(&gunzip(&gz).unwrap()[..], br#"{"kind":"PodList"}"#);
        assert!(gunzip(b"not gzip").is_err());
    }
}
