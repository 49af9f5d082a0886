//! Query strings as kube-apiserver reads them and client-go writes them: keys sorted, values
//! escaped like Go's `url.QueryEscape`.

use std::fmt::Write;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Everything but Go's unreserved characters is escaped (space is handled separately as '+').
const QUERY_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

/// A query parameter whose value is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid query parameter {param}={value:?}: {reason}")]
pub struct QueryError {
    /// The parameter name.
    pub param: String,
    /// The value given.
    pub value: String,
    /// What is wrong with it.
    pub reason: String,
}

/// Escapes a value as Go's `url.QueryEscape` does.
pub fn query_escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for (i, part) in value.split(' ').enumerate() {
        if i > 0 {
            out.push('+');
        }
        let _ = write!(out, "{}", utf8_percent_encode(part, QUERY_ESCAPE));
    }
    out
}

/// Builds a query string from parameters, sorted by key as Go's `url.Values.Encode` does.
#[derive(Debug, Default, Clone)]
pub struct QueryWriter {
    pairs: Vec<(&'static str, String)>,
}

impl QueryWriter {
    /// Adds a parameter.
    pub fn push(&mut self, key: &'static str, value: impl Into<String>) -> &mut Self {
        self.pairs.push((key, value.into()));
        self
    }

    /// Adds a parameter when the value is present and non-empty.
    pub fn push_opt(&mut self, key: &'static str, value: Option<&str>) -> &mut Self {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            self.push(key, v);
        }
        self
    }

    /// The encoded query string without a leading '?', empty when there are no parameters.
    pub fn finish(mut self) -> String {
        self.pairs.sort_by(|a, b| a.0.cmp(b.0));
        let mut out = String::new();
        for (k, v) in &self.pairs {
            if !out.is_empty() {
                out.push('&');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(&query_escape(v));
        }
        out
    }
}

/// Parsed query parameters, for reading options back on the server side.
#[derive(Debug, Default, Clone)]
pub struct QueryReader {
    pairs: Vec<(String, String)>,
}

impl QueryReader {
    /// Parses a query string (without '?'); '+' is a space and percent-escapes are decoded.
    pub fn parse(query: &str) -> Self {
        Self { pairs: form_urlencoded::parse(query.as_bytes()).into_owned().collect() }
    }

    /// The first value of a parameter.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// Every value of a parameter.
    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.pairs.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The first value, if present and non-empty.
    pub fn string(&self, key: &str) -> Option<String> {
        self.get(key).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// An integer parameter; an unparsable value is an error naming it.
    pub fn int(&self, key: &str) -> Result<Option<i64>, QueryError> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|_| QueryError {
                param: key.into(),
                value: v.into(),
                reason: "not an integer".into(),
            }),
        }
    }

    /// A boolean parameter as Go's `strconv.ParseBool` reads it.
    pub fn bool(&self, key: &str) -> Result<Option<bool>, QueryError> {
        match self.get(key) {
            None => Ok(None),
            Some("1" | "t" | "T" | "true" | "TRUE" | "True") => Ok(Some(true)),
            Some("" | "0" | "f" | "F" | "false" | "FALSE" | "False") => Ok(Some(false)),
            Some(v) => Err(QueryError { param: key.into(), value: v.into(), reason: "not a boolean".into() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_like_go() {
        assert_eq!(query_escape("app in (a,b)"), "app+in+%28a%2Cb%29");
        assert_eq!(query_escape("a=b,c!=d"), "a%3Db%2Cc%21%3Dd");
        assert_eq!(query_escape("x-y_z.w~"), "x-y_z.w~");
        assert_eq!(query_escape("k8s.io/name"), "k8s.io%2Fname");
        assert_eq!(query_escape("*"), "%2A");
    }

    #[test]
    fn writes_sorted_keys() {
        let mut q = QueryWriter::default();
        q.push("limit", "5")
            .push("labelSelector", "a=b")
            .push_opt("continue", None)
            .push_opt("fieldSelector", Some(""));
        assert_eq!(q.finish(), "labelSelector=a%3Db&limit=5");
    }

    #[test]
    fn reads_back_values() {
        let q = QueryReader::parse("labelSelector=app+in+%28a%2Cb%29&limit=10&watch=1&bad=x");
        assert_eq!(q.get("labelSelector"), Some("app in (a,b)"));
        assert_eq!(q.int("limit").unwrap(), Some(10));
        assert_eq!(q.bool("watch").unwrap(), Some(true));
        let e = q.int("bad").unwrap_err();
        assert_eq!(e.to_string(), "invalid query parameter bad=\"x\": not an integer");
        assert!(q.bool("bad").is_err());
    }

    proptest! {
        #[test]
        fn escape_round_trips(s in ".*") {
            let q = QueryReader::parse(&format!("k={}", query_escape(&s)));
            prop_assert_eq!(q.get("k").unwrap_or(""), s.as_str());
        }

        #[test]
        fn parse_never_panics(s in ".*") {
            let q = QueryReader::parse(&s);
            let _ = q.int("limit");
            let _ = q.bool("watch");
        }
    }
}
