//! Finding where JSON values end in raw bytes without decoding them, for the byte-level
//! passes over list and watch bodies (dropping managedFields, cutting lists into items).

/// The index of the first non-whitespace byte at or after `i`.
pub(crate) fn skip_ws(s: &[u8], mut i: usize) -> usize {
    while i < s.len() && s[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index just past the string starting at `i` (which holds '"'); `None` if the bytes
/// end first.
pub(crate) fn string_end(s: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        // Strings are most of a Kubernetes object's bytes: jump to the next quote or escape.
        j += memchr::memchr2(b'"', b'\\', s.get(j..)?)?;
        if s[j] == b'"' {
            return Some(j + 1);
        }
        j += 2;
    }
}

/// The index just past the JSON value starting at `i`; `None` if the bytes end before it
/// does (a number or literal running to the end counts as unfinished too).
pub(crate) fn value_end(s: &[u8], i: usize) -> Option<usize> {
    match *s.get(i)? {
        b'"' => string_end(s, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < s.len() {
                match s[j] {
                    b'"' => {
                        j = string_end(s, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let end = i + s[i..].iter().position(|&c| matches!(c, b',' | b'}' | b']') || c.is_ascii_whitespace())?;
            Some(end)
        }
    }
}
