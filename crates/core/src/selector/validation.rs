//! Label key and value validation, as the API server applies it (apimachinery's
//! `IsLabelKey` / `IsQualifiedName` and `IsValidLabelValue`).

/// Longest allowed name part of a label key, and longest allowed label value.
const MAX_NAME_LEN: usize = 63;
/// Longest allowed DNS-1123 subdomain (the prefix of a label key).
const MAX_PREFIX_LEN: usize = 253;

const NAME_RULE: &str = "must consist of alphanumeric characters, '-', '_' or '.', \
     and must start and end with an alphanumeric character";

/// Checks a label key: an optional DNS-1123 subdomain prefix and `/`, then a name of at most
/// 63 characters made of alphanumerics, `-`, `_` and `.`, starting and ending alphanumeric.
///
/// On failure the error lists every problem found, joined by `"; "`.
pub fn validate_label_key(key: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    let mut parts = key.split('/');
    let first = parts.next().unwrap_or_default();
    let (prefix, name) = match (parts.next(), parts.next()) {
        (None, _) => (None, first),
        (Some(name), None) => (Some(first), name),
        (Some(_), Some(_)) => {
            return Err(format!(
                "a valid label key {NAME_RULE} (e.g. 'MyName', 'my.name' or '123-abc'), \
                 with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')"
            ));
        }
    };
    if let Some(prefix) = prefix {
        if prefix.is_empty() {
            errors.push("prefix part must be non-empty".to_string());
        } else {
            if prefix.len() > MAX_PREFIX_LEN {
                errors.push(format!("prefix part must be no more than {MAX_PREFIX_LEN} bytes"));
            }
            if !is_dns1123_subdomain(prefix) {
                errors.push(
                    "prefix part a lowercase RFC 1123 subdomain must consist of lower case \
                     alphanumeric characters, '-' or '.', and must start and end with an \
                     alphanumeric character (e.g. 'example.com')"
                        .to_string(),
                );
            }
        }
    }
    if name.is_empty() {
        errors.push("name part must be non-empty".to_string());
    } else if name.len() > MAX_NAME_LEN {
        errors.push(format!("name part must be no more than {MAX_NAME_LEN} bytes"));
    }
    if !is_qualified_name_part(name) {
        errors.push(format!("name part {NAME_RULE} (e.g. 'MyName', 'my.name' or '123-abc')"));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
}

/// Checks a label value: empty, or at most 63 characters made of alphanumerics, `-`, `_` and
/// `.`, starting and ending alphanumeric.
pub fn validate_label_value(value: &str) -> Result<(), String> {
    let mut errors = Vec::new();
    if value.len() > MAX_NAME_LEN {
        errors.push(format!("must be no more than {MAX_NAME_LEN} bytes"));
    }
    if !value.is_empty() && !is_qualified_name_part(value) {
        errors.push(format!(
            "a valid label must be an empty string or {NAME_RULE} (e.g. 'MyValue', 'my_value' \
             or '12345')"
        ));
    }
    if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_qualified_name_part(s: &str) -> bool {
    let b = s.as_bytes();
    match (b.first(), b.last()) {
        (Some(first), Some(last)) => {
            first.is_ascii_alphanumeric()
                && last.is_ascii_alphanumeric()
                && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
        }
        _ => false,
    }
}

/// `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`
fn is_dns1123_subdomain(s: &str) -> bool {
    s.split('.').all(|label| {
        let b = label.as_bytes();
        let edge = |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit();
        match (b.first(), b.last()) {
            (Some(first), Some(last)) => edge(first) && edge(last) && b.iter().all(|c| edge(c) || *c == b'-'),
            _ => false,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_keys() {
        let good = [
            "a",
            "A",
            "app",
            "app.kubernetes.io/name",
            "example.com/MyName",
            "my.name",
            "123-abc",
            "a_b",
            "x/y",
            "in",
            &"a".repeat(63),
            &format!("{}/a", "a".repeat(253)),
        ];
        for key in good {
            assert_eq!(validate_label_key(key), Ok(()), "{key}");
        }
        let bad = [
            "",
            "/",
            "/a",
            "a/",
            "a/b/c",
            "-a",
            "a-",
            ".a",
            "a b",
            "Example.com/a",
            "ex_ample.com/a",
            "-ex.com/a",
            "ex..com/a",
            "é",
            &"a".repeat(64),
            &format!("{}/a", "a".repeat(254)),
        ];
        for key in bad {
            assert!(validate_label_key(key).is_err(), "{key}");
        }
        let err = validate_label_key("/").unwrap_err();
        assert!(err.contains("prefix part must be non-empty"), "{err}");
        assert!(err.contains("name part must be non-empty"), "{err}");
    }

    #[test]
    fn label_values() {
        for value in ["", "a", "MyValue", "my_value", "12345", "a.b-c_d", &"z".repeat(63)] {
            assert_eq!(validate_label_value(value), Ok(()), "{value}");
        }
        for value in ["-a", "a-", "_", "a b", "a/b", "a=b", "ü", &"z".repeat(64)] {
            assert!(validate_label_value(value).is_err(), "{value}");
        }
    }
}
