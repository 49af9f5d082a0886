//! Field selectors (apimachinery's `fields.Selector`): equality conditions on an object's
//! selectable fields (`metadata.name`, `metadata.namespace`, `status.phase`, ...).

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use super::{SelectorError, SelectorKind};

/// How a [`FieldRequirement`] relates a field to its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FieldOperator {
    /// `field=value` (also written `field==value`): the field has this value.
    Equals,
    /// `field!=value`: the field has another value.
    NotEquals,
}

impl FieldOperator {
    /// The operator as printed: `=` or `!=`.
    pub fn as_str(&self) -> &'static str {
        match self {
            FieldOperator::Equals => "=",
            FieldOperator::NotEquals => "!=",
        }
    }
}

impl fmt::Display for FieldOperator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The field values of one object, looked up by field path (`metadata.name`).
///
/// A field the source does not know reads as the empty string, as in apimachinery. Implemented
/// for maps from path to value and for closures `Fn(&str) -> Option<String>`.
pub trait FieldSource {
    /// The value of the field at `path`, if the object has it.
    fn field(&self, path: &str) -> Option<Cow<'_, str>>;
}

impl FieldSource for BTreeMap<String, String> {
    fn field(&self, path: &str) -> Option<Cow<'_, str>> {
        self.get(path).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl FieldSource for BTreeMap<&str, &str> {
    fn field(&self, path: &str) -> Option<Cow<'_, str>> {
        self.get(path).map(|v| Cow::Borrowed(*v))
    }
}

impl<S: BuildHasher> FieldSource for HashMap<String, String, S> {
    fn field(&self, path: &str) -> Option<Cow<'_, str>> {
        self.get(path).map(|v| Cow::Borrowed(v.as_str()))
    }
}

impl<F: Fn(&str) -> Option<String>> FieldSource for F {
    fn field(&self, path: &str) -> Option<Cow<'_, str>> {
        self(path).map(Cow::Owned)
    }
}

/// One condition of a [`FieldSelector`]: a field path, `=` or `!=`, and a value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldRequirement {
    field: String,
    operator: FieldOperator,
    value: String,
}

impl FieldRequirement {
    /// Builds a requirement. The field path must be non-empty and free of `,`, `=` and `\`,
    /// and must not end in `!`, so that the printed selector reads back the same; the value
    /// may hold anything (it is escaped when printed).
    pub fn new(
        field: impl Into<String>,
        operator: FieldOperator,
        value: impl Into<String>,
    ) -> Result<Self, SelectorError> {
        let field = field.into();
        if field.is_empty() || field.contains([',', '=', '\\']) || field.ends_with('!') {
            return Err(SelectorError::InvalidRequirement {
                kind: SelectorKind::Field,
                key: field,
                reason: "a field path must be non-empty, must not contain ',', '=' or '\\' \
                         and must not end with '!'"
                    .to_string(),
            });
        }
        Ok(FieldRequirement { field, operator, value: value.into() })
    }

    /// `field=value`.
    pub fn equals(field: impl Into<String>, value: impl Into<String>) -> Result<Self, SelectorError> {
        Self::new(field, FieldOperator::Equals, value)
    }

    /// `field!=value`.
    pub fn not_equals(field: impl Into<String>, value: impl Into<String>) -> Result<Self, SelectorError> {
        Self::new(field, FieldOperator::NotEquals, value)
    }

    /// The field path.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The operator.
    pub fn operator(&self) -> FieldOperator {
        self.operator
    }

    /// The value, unescaped.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// Whether `fields` satisfy this requirement (a missing field reads as `""`).
    pub fn matches<F: FieldSource + ?Sized>(&self, fields: &F) -> bool {
        let actual = fields.field(&self.field);
        let equal = actual.as_deref().unwrap_or("") == self.value;
        match self.operator {
            FieldOperator::Equals => equal,
            FieldOperator::NotEquals => !equal,
        }
    }
}

impl fmt::Display for FieldRequirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", self.field, self.operator, escape_value(&self.value))
    }
}

/// A field selector: a conjunction of [`FieldRequirement`]s (apimachinery's
/// `fields.Selector`).
///
/// The empty selector matches everything. Requirements are kept sorted by their printed
/// form, so equal selectors print equally and `parse(s.to_string()) == s`. Field paths are
/// not checked here: which fields are selectable depends on the resource, so a server lists
/// them with [`FieldSelector::fields`] and rejects the ones it does not support.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FieldSelector {
    requirements: Vec<FieldRequirement>,
}

impl FieldSelector {
    /// The empty selector, which matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the `fieldSelector` grammar: `field=value`, `field==value`, `field!=value`
    /// joined by `,`, with `\\`, `\,` and `\=` escapes in values. Empty terms are skipped.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (start, term) in split_terms(input) {
            if term.is_empty() {
                continue;
            }
            let Some((field, operator, raw_value, value_start)) = split_term(term) else {
                return Err(SelectorError::Syntax {
                    kind: SelectorKind::Field,
                    input: input.to_string(),
                    position: start,
                    expected: "a term 'field=value', 'field==value' or 'field!=value'".to_string(),
                    found: format!("'{term}'"),
                });
            };
            let value = unescape_value(input, raw_value, start + value_start)?;
            // apimachinery turns a term with empty field and value into "everything".
            if field.is_empty() && value.is_empty() {
                continue;
            }
            requirements.push(FieldRequirement { field: field.to_string(), operator, value });
        }
        Ok(Self::from_requirements(requirements))
    }

    /// A selector holding all of `requirements`.
    pub fn from_requirements(requirements: impl IntoIterator<Item = FieldRequirement>) -> Self {
        let mut requirements: Vec<FieldRequirement> = requirements.into_iter().collect();
        requirements.sort_by_cached_key(ToString::to_string);
        FieldSelector { requirements }
    }

    /// A selector requiring every `field=value` of `fields` (apimachinery's
    /// `SelectorFromSet`); fails on a field path [`FieldRequirement::new`] rejects.
    pub fn from_fields<K, V>(fields: impl IntoIterator<Item = (K, V)>) -> Result<Self, SelectorError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let requirements =
            fields.into_iter().map(|(k, v)| FieldRequirement::equals(k, v)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_requirements(requirements))
    }

    /// This selector with one more requirement.
    pub fn and(self, requirement: FieldRequirement) -> Self {
        Self::from_requirements(self.requirements.into_iter().chain([requirement]))
    }

    /// The requirements, sorted by their printed form.
    pub fn requirements(&self) -> &[FieldRequirement] {
        &self.requirements
    }

    /// Whether this selector has no requirements and so matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// The field paths the selector mentions, in order, each once.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        let mut seen = std::collections::BTreeSet::new();
        self.requirements.iter().map(|r| r.field.as_str()).filter(move |f| seen.insert(*f))
    }

    /// Whether `fields` satisfy every requirement.
    pub fn matches<F: FieldSource + ?Sized>(&self, fields: &F) -> bool {
        self.requirements.iter().all(|r| r.matches(fields))
    }

    /// The value `field` must equal, if an `=` requirement pins it (apimachinery's
    /// `RequiresExactMatch`): `metadata.name=foo` gives `Some("foo")` for `metadata.name`.
    pub fn requires_exact_match(&self, field: &str) -> Option<&str> {
        self.requirements
            .iter()
            .find(|r| r.field == field && r.operator == FieldOperator::Equals)
            .map(|r| r.value.as_str())
    }
}

super::string_form!(FieldSelector);

impl fmt::Display for FieldSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, requirement) in self.requirements.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{requirement}")?;
        }
        Ok(())
    }
}

/// Escapes `\`, `,` and `=` in a field selector value with a backslash.
fn escape_value(value: &str) -> Cow<'_, str> {
    if !value.contains(['\\', ',', '=']) {
        return Cow::Borrowed(value);
    }
    let mut out = String::with_capacity(value.len() + 4);
    for c in value.chars() {
        if matches!(c, '\\' | ',' | '=') {
            out.push('\\');
        }
        out.push(c);
    }
    Cow::Owned(out)
}

/// Undoes [`escape_value`]; `offset` is where `raw` starts in `input`, for error positions.
fn unescape_value(input: &str, raw: &str, offset: usize) -> Result<String, SelectorError> {
    let mut out = String::with_capacity(raw.len());
    let mut escape_at = None;
    for (i, c) in raw.char_indices() {
        if let Some(at) = escape_at.take() {
            if !matches!(c, '\\' | ',' | '=') {
                return Err(SelectorError::InvalidEscape {
                    input: input.to_string(),
                    sequence: format!("\\{c}"),
                    position: offset + at,
                });
            }
            out.push(c);
            continue;
        }
        match c {
            '\\' => escape_at = Some(i),
            ',' | '=' => {
                return Err(SelectorError::UnescapedCharacter {
                    input: input.to_string(),
                    character: c,
                    position: offset + i,
                });
            }
            _ => out.push(c),
        }
    }
    if let Some(at) = escape_at {
        return Err(SelectorError::InvalidEscape {
            input: input.to_string(),
            sequence: "\\".to_string(),
            position: offset + at,
        });
    }
    Ok(out)
}

/// Splits at commas not preceded by a backslash escape; each term comes with its offset.
fn split_terms(input: &str) -> Vec<(usize, &str)> {
    if input.is_empty() {
        return Vec::new();
    }
    let mut terms = Vec::new();
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in input.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == ',' {
            terms.push((start, &input[start..i]));
            start = i + 1;
        }
    }
    terms.push((start, &input[start..]));
    terms
}

/// Splits a term at its first operator (`!=`, `==` or `=`, tried in that order at each
/// character): field, operator, raw value and the value's offset in the term.
fn split_term(term: &str) -> Option<(&str, FieldOperator, &str, usize)> {
    term.char_indices().find_map(|(i, _)| {
        let rest = &term[i..];
        let (operator, len) = if rest.starts_with("!=") {
            (FieldOperator::NotEquals, 2)
        } else if rest.starts_with("==") {
            (FieldOperator::Equals, 2)
        } else if rest.starts_with('=') {
            (FieldOperator::Equals, 1)
        } else {
            return None;
        };
        Some((&term[..i], operator, &term[i + len..], i + len))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A selector, a label or field set, and whether the selector matches it.
    type MatchCase = (&'static str, &'static [(&'static str, &'static str)], bool);

    fn parse(s: &str) -> FieldSelector {
        FieldSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn splits_terms_at_unescaped_commas() {
        let cases: [(&str, &[&str]); 12] = [
            ("a", &["a"]),
            ("a=avalue", &["a=avalue"]),
            ("a=avalue,b=bvalue", &["a=avalue", "b=bvalue"]),
            ("a=avalue,b==bvalue,c!=cvalue", &["a=avalue", "b==bvalue", "c!=cvalue"]),
            ("", &[]),
            ("a=a,", &["a=a", ""]),
            (",a=a", &["", "a=a"]),
            (r"k=\,,k2=v2", &[r"k=\,", "k2=v2"]),
            (r"k=\\,k2=v2", &[r"k=\\", "k2=v2"]),
            (r"k=\\\,,k2=v2", &[r"k=\\\,", "k2=v2"]),
            (r"k=\a\b\", &[r"k=\a\b\"]),
            ("함=수,목=록", &["함=수", "목=록"]),
        ];
        for (input, want) in cases {
            let got: Vec<&str> = split_terms(input).into_iter().map(|(_, t)| t).collect();
            assert_eq!(got, want, "{input:?}");
        }
        assert_eq!(split_terms("함=수,목=록")[1].0, 8);
    }

    #[test]
    fn splits_a_term_at_its_first_operator() {
        use FieldOperator::*;
        let cases = [
            ("a=value", Some(("a", Equals, "value"))),
            ("b==value", Some(("b", Equals, "value"))),
            ("c!=value", Some(("c", NotEquals, "value"))),
            ("", None),
            ("a", None),
            (r"k=\,", Some(("k", Equals, r"\,"))),
            (r"k=\\\a\b\=\,\", Some(("k", Equals, r"\\\a\b\=\,\"))),
            ("함=수", Some(("함", Equals, "수"))),
            ("a!==b", Some(("a", NotEquals, "=b"))),
        ];
        for (term, want) in cases {
            let got = split_term(term).map(|(f, op, v, _)| (f, op, v));
            assert_eq!(got, want, "{term:?}");
        }
    }

    #[test]
    fn escapes_and_unescapes_values() {
        for (plain, escaped) in
            [("", ""), ("a", "a"), ("=", r"\="), (",", r"\,"), (r"\", r"\\"), (r"\=\,\", r"\\\=\\\,\\")]
        {
            assert_eq!(escape_value(plain), escaped);
            assert_eq!(unescape_value(escaped, escaped, 0).as_deref(), Ok(plain));
        }
        for (bad, sequence, position) in [(r"\", r"\", 0), (r"\\\", r"\", 2), (r"a\b", r"\b", 1)] {
            assert_eq!(
                unescape_value(bad, bad, 0),
                Err(SelectorError::InvalidEscape { input: bad.to_string(), sequence: sequence.to_string(), position })
            );
        }
    }

    #[test]
    fn parses_and_prints() {
        for s in ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b", "=foo"] {
            assert_eq!(parse(s).to_string(), s, "{s:?}");
        }
        assert_eq!(parse("x=a,a=x").to_string(), parse("a=x,x=a").to_string());
        assert_eq!(parse("b==1,a!=2").to_string(), "a!=2,b=1");
        assert_eq!(parse("a=1,,").to_string(), "a=1");
        assert!(parse("=").is_empty());
        for s in ["x=a||y=b", "x==a==b", "x=a,b", "x in (a)", "x in (a,b,c)", "x", r"x=\", r"x=\a"] {
            assert!(FieldSelector::parse(s).is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn errors_name_token_and_position() {
        assert_eq!(
            FieldSelector::parse("a=1,bogus").unwrap_err().to_string(),
            "invalid field selector \"a=1,bogus\": expected a term 'field=value', 'field==value' or \
             'field!=value' at position 4, found 'bogus'"
        );
        assert_eq!(
            FieldSelector::parse("x==a==b").unwrap_err(),
            SelectorError::UnescapedCharacter { input: "x==a==b".into(), character: '=', position: 4 }
        );
        assert_eq!(
            FieldSelector::parse(r"ok=1,x=a\b").unwrap_err().to_string(),
            r#"invalid field selector "ok=1,x=a\\b": invalid escape sequence "\\b" at position 8"#
        );
    }

    #[test]
    fn matches_field_sets() {
        let cases: [MatchCase; 12] = [
            ("", &[("x", "y")], true),
            ("x=y", &[("x", "y")], true),
            ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
            ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
            ("notin=in", &[("notin", "in")], true),
            ("x=", &[], true),
            ("x!=", &[("x", "a")], true),
            ("x=z", &[], false),
            ("x=y", &[("x", "z")], false),
            ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
            ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
            (r"x=a\,b", &[("x", "a,b")], true),
        ];
        for (selector, set, want) in cases {
            assert_eq!(parse(selector).matches(&fields(set)), want, "{selector:?} on {set:?}");
        }
        let pod = |path: &str| match path {
            "metadata.name" => Some("web-0".to_string()),
            "status.phase" => Some("Running".to_string()),
            _ => None,
        };
        assert!(parse("metadata.name=web-0,status.phase!=Pending").matches(&pod));
        assert!(!parse("spec.nodeName=n1").matches(&pod));
        let hash: HashMap<String, String> = fields(&[("a", "1")]).into_iter().collect();
        assert!(parse("a=1").matches(&hash));
        let borrowed: BTreeMap<&str, &str> = [("a", "1")].into_iter().collect();
        assert!(parse("a==1").matches(&borrowed));
    }

    #[test]
    fn lists_fields_and_exact_matches() {
        let s = parse("metadata.namespace!=kube-system,metadata.name=foo,metadata.name!=bar,status.phase=Running");
        assert_eq!(s.fields().collect::<Vec<_>>(), ["metadata.name", "metadata.namespace", "status.phase"]);
        assert_eq!(s.requires_exact_match("metadata.name"), Some("foo"));
        assert_eq!(s.requires_exact_match("status.phase"), Some("Running"));
        assert_eq!(s.requires_exact_match("metadata.namespace"), None);
        assert_eq!(s.requires_exact_match("spec.nodeName"), None);
        assert_eq!(FieldSelector::everything().requires_exact_match("a"), None);
    }

    #[test]
    fn builds_in_code() {
        let s = FieldSelector::everything()
            .and(FieldRequirement::not_equals("status.phase", "a,b=c\\").unwrap())
            .and(FieldRequirement::equals("metadata.name", "foo").unwrap());
        assert_eq!(s.to_string(), r"metadata.name=foo,status.phase!=a\,b\=c\\");
        assert_eq!(parse(&s.to_string()), s);
        for bad in ["", "a,b", "a=b", r"a\b", "a!"] {
            assert!(FieldRequirement::equals(bad, "v").is_err(), "{bad:?}");
        }
        let from_set = FieldSelector::from_fields([("b", "2"), ("a", "1")]).unwrap();
        assert_eq!(from_set.to_string(), "a=1,b=2");
    }

    #[test]
    fn serializes_as_string() {
        let selector = parse(r"spec.nodeName=n\,1,metadata.name!=x");
        assert_eq!(String::from(&selector), r"metadata.name!=x,spec.nodeName=n\,1");
        let json = serde_json::to_string(&selector).unwrap();
        assert_eq!(serde_json::from_str::<FieldSelector>(&json).unwrap(), selector);
        assert!(serde_json::from_str::<FieldSelector>(r#""nope""#).is_err());
    }

    fn requirement_strategy(
        fields: impl Strategy<Value = String>,
        values: impl Strategy<Value = String>,
    ) -> impl Strategy<Value = FieldRequirement> {
        (fields, any::<bool>(), values).prop_map(|(field, eq, value)| {
            let op = if eq { FieldOperator::Equals } else { FieldOperator::NotEquals };
            FieldRequirement::new(field, op, value).expect("generated requirement is valid")
        })
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(s in "\\PC*") {
            let _ = FieldSelector::parse(&s);
        }

        #[test]
        fn never_panics_on_selector_like_strings(s in r"[a-c.=!,\\ é]{0,30}") {
            if let Ok(parsed) = FieldSelector::parse(&s) {
                let reparsed = FieldSelector::parse(&parsed.to_string());
                prop_assert_eq!(reparsed.as_ref(), Ok(&parsed));
            }
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = FieldSelector::parse(&String::from_utf8_lossy(&bytes));
        }

        #[test]
        fn print_parse_round_trip(
            requirements in proptest::collection::vec(
                requirement_strategy("[a-z][a-zA-Z0-9.!]{0,12}[a-z]", r"[a-z0-9,=\\!. é]{0,8}"),
                0..5,
            ),
        ) {
            let selector = FieldSelector::from_requirements(requirements);
            let printed = selector.to_string();
            let parsed = FieldSelector::parse(&printed);
            prop_assert_eq!(parsed.as_ref(), Ok(&selector), "printed as {:?}", printed);
            prop_assert_eq!(parsed.unwrap().to_string(), printed);
        }

        #[test]
        fn matching_agrees_with_reference(
            requirements in proptest::collection::vec(
                requirement_strategy("[a-c]".prop_map(String::from), "[0-2,]?".prop_map(String::from)),
                0..4,
            ),
            set in proptest::collection::btree_map("[a-c]", "[0-2,]?", 0..4),
        ) {
            let selector = FieldSelector::from_requirements(requirements.clone());
            let want = requirements.iter().all(|r| {
                let actual = set.get(r.field()).map(String::as_str).unwrap_or("");
                (actual == r.value()) == (r.operator() == FieldOperator::Equals)
            });
            prop_assert_eq!(selector.matches(&set), want);
            let reparsed = FieldSelector::parse(&selector.to_string()).unwrap();
            prop_assert_eq!(reparsed.matches(&set), want);
        }
    }
}
