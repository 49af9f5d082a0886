//! Label and field selectors: parse, print and match.
//!
//! These follow k8s.io/apimachinery's `pkg/labels` and `pkg/fields` packages, so a selector
//! string means the same thing to rkube as it does to kube-apiserver and kubectl:
//!
//! - [`LabelSelector`]: `app=web`, `tier!=db`, `env in (prod,staging)`, `env notin (dev)`,
//!   `canary` (key exists), `!canary` (key does not exist), `replicas>2`, `replicas<5`;
//!   requirements are joined by `,` and all must hold. Keys and values are validated like
//!   the API server validates labels.
//! - [`FieldSelector`]: `metadata.name=foo`, `status.phase!=Running`, joined by `,`; values
//!   escape `\`, `,` and `=` with a backslash.
//!
//! Both print in apimachinery's canonical form (the string kube-apiserver would produce), and
//! parsing that string gives back an equal selector. Parsing never panics: malformed input
//! yields a [`SelectorError`] naming the offending token and its byte position.
//!
//! ```
//! use std::collections::BTreeMap;
//! use rkube_core::selector::{FieldSelector, LabelSelector};
//!
//! let selector: LabelSelector = "tier in (web, api), !canary, app=shop".parse().unwrap();
//! assert_eq!(selector.to_string(), "app=shop,!canary,tier in (api,web)");
//! let labels = BTreeMap::from([("app".to_string(), "shop".to_string()),
//!                              ("tier".to_string(), "web".to_string())]);
//! assert!(selector.matches(&labels));
//!
//! let err = LabelSelector::parse("a in (b").unwrap_err();
//! assert_eq!(err.to_string(),
//!     "invalid label selector \"a in (b\": expected ',' or ')' at position 7, found end of string");
//!
//! let fields = FieldSelector::parse("metadata.name=web-0,status.phase!=Failed").unwrap();
//! assert_eq!(fields.requires_exact_match("metadata.name"), Some("web-0"));
//! assert!(fields.fields().eq(["metadata.name", "status.phase"]));
//! ```

use std::fmt;

/// The string conversions both selector types share: `String` from a selector (its canonical
/// form), `FromStr`, and serde as that string.
macro_rules! string_form {
    ($ty:ty) => {
        impl From<&$ty> for String {
            /// The selector's canonical string, as the query parameter holds it.
            fn from(selector: &$ty) -> String {
                selector.to_string()
            }
        }

        impl From<$ty> for String {
            fn from(selector: $ty) -> String {
                selector.to_string()
            }
        }

        impl serde::Serialize for $ty {
            /// Serializes as the canonical selector string.
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            /// Deserializes from a selector string, failing on invalid syntax.
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl std::str::FromStr for $ty {
            type Err = SelectorError;

            fn from_str(s: &str) -> Result<Self, SelectorError> {
                Self::parse(s)
            }
        }
    };
}
use string_form;

mod field;
mod label;
mod lexer;
mod validation;

pub use field::{FieldOperator, FieldRequirement, FieldSelector, FieldSource};
pub use label::{LabelSelector, LabelSource, Operator, Requirement};
pub use validation::{validate_label_key, validate_label_value};

/// Which kind of selector an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SelectorKind {
    /// A label selector (`labelSelector` query parameter).
    Label,
    /// A field selector (`fieldSelector` query parameter).
    Field,
}

impl fmt::Display for SelectorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SelectorKind::Label => "label",
            SelectorKind::Field => "field",
        })
    }
}

/// Why a selector string or a selector built in code is invalid.
///
/// Errors about a string carry the whole input and the byte offset of the offending token,
/// so the message can be shown to a user as is.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectorError {
    /// The input does not follow the selector grammar.
    #[error("invalid {kind} selector {input:?}: expected {expected} at position {position}, found {found}")]
    Syntax {
        /// Label or field selector.
        kind: SelectorKind,
        /// The whole selector string.
        input: String,
        /// Byte offset of the offending token.
        position: usize,
        /// What the grammar allows at that point.
        expected: String,
        /// The offending token, quoted, or `end of string`.
        found: String,
    },
    /// A label key is not a valid (optionally prefixed) qualified name.
    #[error("invalid label selector {input:?}: invalid key {key:?} at position {position}: {reason}")]
    InvalidKey {
        /// The whole selector string.
        input: String,
        /// The offending key.
        key: String,
        /// Byte offset of the key.
        position: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A label value is not a valid label value (or not an integer for `>` and `<`).
    #[error(
        "invalid label selector {input:?}: invalid value {value:?} for key {key:?} at position {position}: {reason}"
    )]
    InvalidValue {
        /// The whole selector string.
        input: String,
        /// The key the value belongs to.
        key: String,
        /// The offending value.
        value: String,
        /// Byte offset of the value (of the token after the operator for an empty value).
        position: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// A field selector value holds a backslash not followed by `\`, `,` or `=`.
    #[error("invalid field selector {input:?}: invalid escape sequence {sequence:?} at position {position}")]
    InvalidEscape {
        /// The whole selector string.
        input: String,
        /// The escape sequence as written (a lone `\` at the end of a value).
        sequence: String,
        /// Byte offset of the backslash.
        position: usize,
    },
    /// A field selector value holds an unescaped `,` or `=`.
    #[error("invalid field selector {input:?}: unescaped {character:?} in value at position {position}")]
    UnescapedCharacter {
        /// The whole selector string.
        input: String,
        /// The character that needs a backslash.
        character: char,
        /// Byte offset of the character.
        position: usize,
    },
    /// A requirement built in code (or from a `LabelSelector` object) is invalid.
    #[error("invalid {kind} selector requirement on {key:?}: {reason}")]
    InvalidRequirement {
        /// Label or field selector.
        kind: SelectorKind,
        /// The label key or field path of the requirement.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A `LabelSelector` object names an operator other than In, NotIn, Exists, DoesNotExist.
    #[error("{operator:?} is not a valid label selector operator (key {key:?})")]
    InvalidOperator {
        /// The key of the match expression.
        key: String,
        /// The operator as written.
        operator: String,
    },
}
