//! Cutting a JSON list body (`{"kind":..,"metadata":{..},"items":[{..},{..}]}`) into
//! batches of whole items while it arrives, so that a large list is decoded as it streams
//! in rather than after the whole body (hundreds of MB for 100,000 pods) sits in memory.

use crate::json_scan::{skip_ws, value_end};

/// Bytes of new input to gather before looking for whole items again; an item still
/// unfinished is rescanned at most once per doubling of what is pending.
const MIN_STEP: usize = 64 * 1024;

/// A JSON list body being cut into items as its chunks arrive.
#[derive(Debug, Default)]
pub struct ListSplitter {
    /// Bytes not handed out yet: the head, then the unfinished part of the items.
    buf: Vec<u8>,
    /// Where scanning resumes in `buf`.
    pos: usize,
    phase: Phase,
    /// The list's members before `items`, as a JSON object, once known.
    head: Option<Vec<u8>>,
    /// `buf` must reach this length before the next scan.
    scan_at: usize,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading members before `"items": [`.
    #[default]
    Head,
    /// Inside the items array.
    Items,
    /// After the items array (or a list without one).
    Tail,
}

/// What the splitter knows about the list's members before its items.
#[derive(Debug, PartialEq, Eq)]
pub enum Head<'a> {
    /// Not all there yet.
    Pending,
    /// The members before `items` (`metadata` among them, as kube-apiserver writes lists),
    /// as one JSON object.
    Ready(&'a [u8]),
}

/// The body is not a JSON object holding an items array.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a JSON list: {0}")]
pub struct NotAList(pub String);

impl ListSplitter {
    /// A splitter at the start of a body.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next chunk of the body.
    pub fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The list's members before its items, once they have arrived.
    pub fn head(&mut self) -> Result<Head<'_>, NotAList> {
        if self.phase == Phase::Head {
            self.scan_head()?;
        }
        Ok(match &self.head {
            Some(h) => Head::Ready(h),
            None => Head::Pending,
        })
    }

    /// Whole items that have arrived and not been taken yet, as one JSON array
    /// (`[{..},{..}]`), or `None` when there are none (or too few new bytes to look yet).
    pub fn take_items(&mut self) -> Result<Option<Vec<u8>>, NotAList> {
        if self.buf.len() < self.scan_at {
            return Ok(None);
        }
        self.scan(false)
    }

    /// At the end of the body: the remaining items, and an error if the body stopped
    /// before the list did.
    pub fn finish(mut self) -> Result<Option<Vec<u8>>, NotAList> {
        let items = self.scan(true)?;
        if self.phase != Phase::Tail {
            return Err(NotAList("the body ended inside the list".into()));
        }
        Ok(items)
    }

    /// Everything pushed so far, for a caller that decodes the body whole instead (before
    /// taking any items).
    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    fn scan(&mut self, at_end: bool) -> Result<Option<Vec<u8>>, NotAList> {
        if self.phase == Phase::Head {
            self.scan_head()?;
        }
        if self.phase != Phase::Items {
            return Ok(None);
        }
        let buf = &self.buf;
        let mut i = self.pos;
        let mut first = None;
        let mut last = i;
        loop {
            i = skip_ws(buf, i);
            match buf.get(i) {
                None => break,
                Some(b']') => {
                    self.phase = Phase::Tail;
                    break;
                }
                // Separators; the decoder checks the batch's syntax.
                Some(b',') => i += 1,
                Some(_) => match value_end(buf, i) {
                    Some(end) if end > i => {
                        first.get_or_insert(i);
                        i = end;
                        last = end;
                    }
                    _ => break,
                },
            }
        }
        if self.phase == Phase::Items && at_end {
            return Err(NotAList(
                if i < buf.len() { "the body ended inside an item" } else { "the body ended inside the list" }.into(),
            ));
        }
        let out = first.map(|first| {
            let mut out = Vec::with_capacity(last - first + 2);
            out.push(b'[');
            out.extend_from_slice(&buf[first..last]);
            out.push(b']');
            out
        });
        if self.phase == Phase::Tail {
            self.buf = Vec::new();
        } else {
            // Keep only the unfinished remainder.
            self.buf.drain(..last);
        }
        self.pos = 0;
        let pending = self.buf.len();
        self.scan_at = pending + pending.max(MIN_STEP);
        Ok(out)
    }

    /// Reads members of the top-level object until `"items": [`, resuming after the
    /// members read by earlier calls.
    fn scan_head(&mut self) -> Result<(), NotAList> {
        let buf = &self.buf;
        if self.pos == 0 {
            let i = skip_ws(buf, 0);
            match buf.get(i) {
                None => return Ok(()),
                Some(b'{') => self.pos = i + 1,
                Some(_) => return Err(NotAList("the body is not a JSON object".into())),
            }
        }
        let members_start = skip_ws(buf, 0) + 1;
        let mut i = self.pos;
        loop {
            i = skip_ws(buf, i);
            match buf.get(i) {
                None => return Ok(()),
                Some(b',') => {
                    i += 1;
                    self.pos = i;
                    continue;
                }
                Some(b'}') => {
                    // A list without items.
                    self.head = Some(object_of(&buf[members_start..i]));
                    self.phase = Phase::Tail;
                    return Ok(());
                }
                Some(b'"') => {}
                Some(_) => return Err(NotAList(format!("unexpected byte at offset {i}"))),
            }
            let key_start = i;
            let Some(key_end) = value_end(buf, i) else { return Ok(()) };
            let colon = skip_ws(buf, key_end);
            match buf.get(colon) {
                None => return Ok(()),
                Some(b':') => {}
                Some(_) => return Err(NotAList(format!("expected ':' at offset {colon}"))),
            }
            let value = skip_ws(buf, colon + 1);
            if &buf[key_start..key_end] == b"\"items\"" {
                match buf.get(value) {
                    None => return Ok(()),
                    Some(b'[') => {
                        self.head = Some(object_of(&buf[members_start..key_start]));
                        self.phase = Phase::Items;
                        self.pos = value + 1;
                        return Ok(());
                    }
                    Some(b'n') => {} // "items": null
                    Some(_) => return Err(NotAList("items is not an array".into())),
                }
            }
            match value_end(buf, value) {
                Some(end) if end > value => i = end,
                Some(_) => return Err(NotAList(format!("unexpected byte at offset {value}"))),
                None => return Ok(()),
            }
            self.pos = i;
        }
    }
}

/// `members` (`"a":1,"b":{..},` with any trailing comma) wrapped into an object.
fn object_of(members: &[u8]) -> Vec<u8> {
    let mut end = members.len();
    while end > 0 && (members[end - 1].is_ascii_whitespace() || members[end - 1] == b',') {
        end -= 1;
    }
    let mut out = Vec::with_capacity(end + 2);
    out.push(b'{');
    out.extend_from_slice(&members[..end]);
    out.push(b'}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// Feeds `body` in chunks of `step` bytes; returns the head and every item.
    fn split(body: &[u8], step: usize) -> Result<(Value, Vec<Value>), NotAList> {
        let mut s = ListSplitter::new();
        let mut head = None;
        let mut items = Vec::new();
        let mut take = |batch: Option<Vec<u8>>| -> Result<(), NotAList> {
            if let Some(b) = batch {
                let batch: Vec<Value> = serde_json::from_slice(&b).map_err(|e| NotAList(e.to_string()))?;
                assert!(!batch.is_empty());
                items.extend(batch);
            }
            Ok(())
        };
        for chunk in body.chunks(step.max(1)) {
            s.push(chunk);
            if head.is_none() {
                if let Head::Ready(h) = s.head()? {
                    head = Some(serde_json::from_slice::<Value>(h).expect("the head is a JSON object"));
                }
            }
            take(s.take_items()?)?;
        }
        if head.is_none() {
            if let Head::Ready(h) = s.head()? {
                head = Some(serde_json::from_slice::<Value>(h).unwrap());
            }
        }
        take(s.finish()?)?;
        Ok((head.unwrap_or(Value::Null), items))
    }

    #[test]
    fn cuts_a_list_into_its_items_whatever_the_chunking() {
        let items: Vec<Value> = (0..300)
            .map(|i| json!({"metadata": {"name": format!("p{i}"), "annotations": {"q": "a \"]}\\ b"}}, "spec": {"n": [i, {"x": null}]}}))
            .collect();
        // Members in kube-apiserver's order (json! would sort them).
        let pretty: Vec<String> = items.iter().map(|i| serde_json::to_string_pretty(i).unwrap()).collect();
        let body = format!(
            "{{ \"kind\": \"PodList\", \"apiVersion\": \"v1\",\n \"metadata\": {{\"resourceVersion\": \"42\", \"continue\": \"t\"}},\n \"items\" : [\n{}\n ]\n}}\n",
            pretty.join(" ,\n")
        )
        .into_bytes();
        for step in [1, 7, 1000, 64 * 1024, body.len()] {
            let (head, got) = split(&body, step).unwrap();
            assert_eq!(
                head,
                json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "42", "continue": "t"}})
            );
            assert_eq!(got, items, "chunks of {step}");
        }
    }

    #[test]
    fn empty_and_itemless_lists() {
        let (head, items) = split(br#"{"metadata":{"resourceVersion":"1"},"items":[]}"#, 3).unwrap();
        assert_eq!(head, json!({"metadata": {"resourceVersion": "1"}}));
        assert!(items.is_empty());
        let (head, items) = split(br#"{"metadata":{"resourceVersion":"1"},"items":null}"#, 3).unwrap();
        assert_eq!(head, json!({"metadata": {"resourceVersion": "1"}, "items": null}));
        assert!(items.is_empty());
        let (head, items) = split(br#"{"kind":"List"}"#, 100).unwrap();
        assert_eq!(head, json!({"kind": "List"}));
        assert!(items.is_empty());
    }

    #[test]
    fn members_after_the_items_do_not_reach_the_head() {
        let (head, items) = split(br#"{"items":[{"a":1}],"metadata":{"resourceVersion":"9"}}"#, 4).unwrap();
        assert_eq!(head, json!({}), "the caller sees metadata is missing and falls back");
        assert_eq!(items, vec![json!({"a": 1})]);
    }

    #[test]
    fn truncated_and_malformed_bodies_are_errors() {
        for bad in [
            &br#"{"metadata":{},"items":[{"a":1},{"b":"#[..],
            br#"{"items":[{"a":1}"#,
            br#"[1,2]"#,
            br#"{"items":7}"#,
            b"",
        ] {
            assert!(split(bad, 5).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..300), step in 1usize..40) {
            let mut body = b"{\"metadata\":{},\"items\":[".to_vec();
            body.extend_from_slice(&bytes);
            let _ = split(&body, step);
            let _ = split(&bytes, step);
        }
    }
}
