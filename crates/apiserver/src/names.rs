//! Object name validation as kube-apiserver's `ValidateObjectMeta` does it: most kinds take
//! an RFC 1123 subdomain, some (namespaces, services) an RFC 1123 label.

/// The rule a kind's names follow, with kube-apiserver's message when one is broken.
pub fn validate(group: &str, plural: &str, name: &str) -> Result<(), String> {
    let label = matches!((group, plural), ("", "namespaces" | "services"));
    let ok = if label { is_label(name) } else { is_subdomain(name) };
    if ok {
        return Ok(());
    }
    Err(if label {
        format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
        )
    } else {
        format!(
            "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
        )
    })
}

fn is_label(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

fn is_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(|part| is_label(part) || (part.len() > 63 && is_label(&part[..63])))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_rfc_1123() {
        assert!(validate("", "configmaps", "my-config.v1").is_ok());
        assert!(validate("", "configmaps", "Not_A_Valid_Name").unwrap_err().contains("RFC 1123 subdomain"));
        assert!(validate("", "configmaps", "-bad").is_err());
        assert!(validate("", "configmaps", "a..b").is_err());
        assert!(validate("", "namespaces", "a.b").unwrap_err().contains("RFC 1123 label"));
        assert!(validate("", "namespaces", &"x".repeat(64)).is_err());
        assert!(validate("apps", "deployments", "web-1").is_ok());
    }
}
