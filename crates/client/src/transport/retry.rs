//! When a request is sent again (client-go's `checkWait` and `IsRetryableError`).

use std::time::Duration;

use http::header::RETRY_AFTER;

use crate::error::chain_message;

/// The wait a response asks for: only for 429 and 5xx answers with a numeric `Retry-After`
/// (seconds), as client-go retries; `None` means do not retry.
pub(crate) fn retry_after<B>(resp: &http::Response<B>) -> Option<Duration> {
    let code = resp.status().as_u16();
    if code != 429 && code < 500 {
        return None;
    }
    parse_retry_after(resp.headers().get(RETRY_AFTER)?.to_str().ok()?)
}

/// A numeric `Retry-After` value in seconds (HTTP dates are not retried, as in client-go).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Whether a send failure is a connection reset / premature EOF (the connection was lost
/// before an answer), which client-go retries for GET.
pub(crate) fn is_connection_reset(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::UnexpectedEof
            ) {
                return true;
            }
        }
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message() || h.is_canceled() {
                return true;
            }
        }
        cur = e.source();
    }
    false
}

/// A one-line description of a send failure that says what kind of failure it was.
pub(crate) fn describe_send_error(err: &hyper_util::client::legacy::Error) -> String {
    use std::error::Error as _;
    match (err.is_connect(), err.source()) {
        // hyper-util's own text ("client error (Connect)") adds nothing to the cause's.
        (true, Some(cause)) => format!("cannot connect to the server: {}", chain_message(cause)),
        (true, None) => format!("cannot connect to the server: {}", chain_message(err)),
        (false, _) => chain_message(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(code: u16, retry: Option<&str>) -> http::Response<()> {
        let mut b = http::Response::builder().status(code);
        if let Some(r) = retry {
            b = b.header(RETRY_AFTER, r);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn retries_like_client_go() {
        assert_eq!(retry_after(&resp(429, Some("1"))), Some(Duration::from_secs(1)));
        assert_eq!(retry_after(&resp(503, Some(" 2 "))), Some(Duration::from_secs(2)));
        assert_eq!(retry_after(&resp(500, None)), None, "no Retry-After: no retry");
        assert_eq!(retry_after(&resp(409, Some("1"))), None, "4xx other than 429: no retry");
        assert_eq!(retry_after(&resp(429, Some("Wed, 21 Oct 2015 07:28:00 GMT"))), None);
    }

    #[test]
    fn detects_resets_through_the_chain() {
        #[derive(Debug)]
        struct Wrap(std::io::Error);
        impl std::fmt::Display for Wrap {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("wrapped")
            }
        }
        impl std::error::Error for Wrap {
            fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
                Some(&self.0)
            }
        }
        assert!(is_connection_reset(&Wrap(std::io::ErrorKind::ConnectionReset.into())));
        assert!(!is_connection_reset(&Wrap(std::io::ErrorKind::ConnectionRefused.into())));
    }
}
