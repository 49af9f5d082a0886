//! Label selectors (apimachinery's `labels.Selector`): requirements on an object's labels,
//! all of which must hold.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as metav1;

use super::lexer::{Token, TokenKind, tokenize};
use super::validation::{validate_label_key, validate_label_value};
use super::{SelectorError, SelectorKind};

/// How a [`Requirement`] relates a label to its values (apimachinery's `selection.Operator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Operator {
    /// `key=value`: the label is set to the value.
    Equals,
    /// `key==value`: the same as [`Operator::Equals`], kept apart so it prints as written.
    DoubleEquals,
    /// `key!=value`: the label is not set, or set to another value.
    NotEquals,
    /// `key in (a,b)`: the label is set to one of the values.
    In,
    /// `key notin (a,b)`: the label is not set, or set to none of the values.
    NotIn,
    /// `key`: the label is set, to any value.
    Exists,
    /// `!key`: the label is not set.
    DoesNotExist,
    /// `key>n`: the label is set to an integer greater than n.
    GreaterThan,
    /// `key<n`: the label is set to an integer less than n.
    LessThan,
}

impl Operator {
    /// apimachinery's name of the operator (`=`, `==`, `!=`, `in`, `notin`, `exists`, `!`,
    /// `gt`, `lt`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Operator::Equals => "=",
            Operator::DoubleEquals => "==",
            Operator::NotEquals => "!=",
            Operator::In => "in",
            Operator::NotIn => "notin",
            Operator::Exists => "exists",
            Operator::DoesNotExist => "!",
            Operator::GreaterThan => "gt",
            Operator::LessThan => "lt",
        }
    }

    /// Why `count` values do not suit this operator, if they do not.
    fn arity_error(self, count: usize) -> Option<&'static str> {
        match self {
            Operator::In | Operator::NotIn if count == 0 => {
                Some("for 'in', 'notin' operators, values set can't be empty")
            }
            Operator::Equals | Operator::DoubleEquals | Operator::NotEquals if count != 1 => {
                Some("exact-match compatibility requires one single value")
            }
            Operator::Exists | Operator::DoesNotExist if count != 0 => {
                Some("values set must be empty for exists and does not exist")
            }
            Operator::GreaterThan | Operator::LessThan if count != 1 => {
                Some("for 'gt', 'lt' operators, exactly one value is required")
            }
            _ => None,
        }
    }

    /// Checks one value for this operator: a label value, and an integer for `>` and `<`.
    fn check_value(self, value: &str) -> Result<(), String> {
        validate_label_value(value)?;
        if matches!(self, Operator::GreaterThan | Operator::LessThan) && value.parse::<i64>().is_err() {
            return Err("for 'gt', 'lt' operators, the value must be an integer".to_string());
        }
        Ok(())
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A map of labels a selector can be matched against.
///
/// Implemented for `BTreeMap<String, String>` (what k8s-openapi's `ObjectMeta::labels` holds),
/// `HashMap<String, String>`, `BTreeMap<&str, &str>`, and `Option` of any of them (no labels).
pub trait LabelSource {
    /// The value of the label `key`, if it is set.
    fn label(&self, key: &str) -> Option<&str>;
}

impl LabelSource for BTreeMap<String, String> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl LabelSource for BTreeMap<&str, &str> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).copied()
    }
}

impl<S: BuildHasher> LabelSource for HashMap<String, String, S> {
    fn label(&self, key: &str) -> Option<&str> {
        self.get(key).map(String::as_str)
    }
}

impl<T: LabelSource> LabelSource for Option<T> {
    fn label(&self, key: &str) -> Option<&str> {
        self.as_ref().and_then(|labels| labels.label(key))
    }
}

/// One condition of a [`LabelSelector`]: a key, an operator and its values.
///
/// Always valid: the key is a qualified name, the values are label values (integers for
/// `>` and `<`) in the number the operator needs. Values are kept sorted and deduplicated,
/// which is how apimachinery prints them and does not change what matches.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Requirement {
    key: String,
    operator: Operator,
    values: Vec<String>,
}

impl Requirement {
    /// Builds a requirement, validating it like apimachinery's `labels.NewRequirement`.
    pub fn new<I, V>(key: impl Into<String>, operator: Operator, values: I) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        let key = key.into();
        let values: BTreeSet<String> = values.into_iter().map(Into::into).collect();
        let invalid =
            |reason: String| SelectorError::InvalidRequirement { kind: SelectorKind::Label, key: key.clone(), reason };
        validate_label_key(&key).map_err(|e| invalid(format!("invalid key: {e}")))?;
        if let Some(reason) = operator.arity_error(values.len()) {
            return Err(invalid(reason.to_string()));
        }
        for value in &values {
            operator.check_value(value).map_err(|e| invalid(format!("invalid value {value:?}: {e}")))?;
        }
        Ok(Requirement { key, operator, values: values.into_iter().collect() })
    }

    /// `key=value`.
    pub fn equals(key: impl Into<String>, value: impl Into<String>) -> Result<Self, SelectorError> {
        Self::new(key, Operator::Equals, [value])
    }

    /// `key!=value`.
    pub fn not_equals(key: impl Into<String>, value: impl Into<String>) -> Result<Self, SelectorError> {
        Self::new(key, Operator::NotEquals, [value])
    }

    /// `key in (values)`; at least one value is needed.
    pub fn is_in<I, V>(key: impl Into<String>, values: I) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        Self::new(key, Operator::In, values)
    }

    /// `key notin (values)`; at least one value is needed.
    pub fn not_in<I, V>(key: impl Into<String>, values: I) -> Result<Self, SelectorError>
    where
        I: IntoIterator<Item = V>,
        V: Into<String>,
    {
        Self::new(key, Operator::NotIn, values)
    }

    /// `key`: the label is set.
    pub fn exists(key: impl Into<String>) -> Result<Self, SelectorError> {
        Self::new(key, Operator::Exists, [""; 0])
    }

    /// `!key`: the label is not set.
    pub fn does_not_exist(key: impl Into<String>) -> Result<Self, SelectorError> {
        Self::new(key, Operator::DoesNotExist, [""; 0])
    }

    /// `key>n`; `n` must be non-negative, as label values cannot start with `-`.
    pub fn greater_than(key: impl Into<String>, n: i64) -> Result<Self, SelectorError> {
        Self::new(key, Operator::GreaterThan, [n.to_string()])
    }

    /// `key<n`; `n` must be non-negative, as label values cannot start with `-`.
    pub fn less_than(key: impl Into<String>, n: i64) -> Result<Self, SelectorError> {
        Self::new(key, Operator::LessThan, [n.to_string()])
    }

    /// The label key.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The operator.
    pub fn operator(&self) -> Operator {
        self.operator
    }

    /// The values, sorted and deduplicated (empty for exists and does-not-exist).
    pub fn values(&self) -> &[String] {
        &self.values
    }

    /// Whether `labels` satisfy this requirement.
    pub fn matches<L: LabelSource + ?Sized>(&self, labels: &L) -> bool {
        let value = labels.label(&self.key);
        let has = |v: &str| self.values.iter().any(|x| x == v);
        match self.operator {
            Operator::Equals | Operator::DoubleEquals | Operator::In => value.is_some_and(has),
            Operator::NotEquals | Operator::NotIn => !value.is_some_and(has),
            Operator::Exists => value.is_some(),
            Operator::DoesNotExist => value.is_none(),
            Operator::GreaterThan | Operator::LessThan => {
                let (Some(Ok(actual)), [bound]) = (value.map(str::parse::<i64>), self.values.as_slice()) else {
                    return false;
                };
                let Ok(bound) = bound.parse::<i64>() else {
                    return false;
                };
                if self.operator == Operator::GreaterThan { actual > bound } else { actual < bound }
            }
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let joined = self.values.join(",");
        match self.operator {
            Operator::Exists => write!(f, "{}", self.key),
            Operator::DoesNotExist => write!(f, "!{}", self.key),
            Operator::In => write!(f, "{} in ({joined})", self.key),
            Operator::NotIn => write!(f, "{} notin ({joined})", self.key),
            Operator::Equals => write!(f, "{}={joined}", self.key),
            Operator::DoubleEquals => write!(f, "{}=={joined}", self.key),
            Operator::NotEquals => write!(f, "{}!={joined}", self.key),
            Operator::GreaterThan => write!(f, "{}>{joined}", self.key),
            Operator::LessThan => write!(f, "{}<{joined}", self.key),
        }
    }
}

/// A label selector: a conjunction of [`Requirement`]s (apimachinery's `labels.Selector`).
///
/// The empty selector ([`LabelSelector::everything`], or parsing `""`) matches every object.
/// Requirements are kept sorted (by key, then operator and values), so equal selectors
/// print equally whatever order they were written in, and `parse(s.to_string()) == s`.
/// Matching costs one map lookup per requirement.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

impl LabelSelector {
    /// The empty selector, which matches everything.
    pub fn everything() -> Self {
        Self::default()
    }

    /// Parses the selector grammar of `kubectl -l` and the `labelSelector` query parameter.
    pub fn parse(input: &str) -> Result<Self, SelectorError> {
        let requirements = Parser { input, tokens: tokenize(input), next: 0 }.parse()?;
        Ok(Self::from_requirements(requirements))
    }

    /// A selector holding all of `requirements`.
    pub fn from_requirements(requirements: impl IntoIterator<Item = Requirement>) -> Self {
        let mut requirements: Vec<Requirement> = requirements.into_iter().collect();
        requirements.sort();
        LabelSelector { requirements }
    }

    /// A selector requiring every `key=value` of `labels` (apimachinery's
    /// `ValidatedSelectorFromSet`); fails on an invalid key or value.
    pub fn from_labels<K, V>(labels: impl IntoIterator<Item = (K, V)>) -> Result<Self, SelectorError>
    where
        K: Into<String>,
        V: Into<String>,
    {
        let requirements = labels.into_iter().map(|(k, v)| Requirement::equals(k, v)).collect::<Result<Vec<_>, _>>()?;
        Ok(Self::from_requirements(requirements))
    }

    /// This selector with one more requirement.
    pub fn and(mut self, requirement: Requirement) -> Self {
        let at = self.requirements.partition_point(|r| *r <= requirement);
        self.requirements.insert(at, requirement);
        self
    }

    /// The requirements, sorted.
    pub fn requirements(&self) -> &[Requirement] {
        &self.requirements
    }

    /// Whether this selector has no requirements and so matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    /// Whether `labels` satisfy every requirement.
    pub fn matches<L: LabelSource + ?Sized>(&self, labels: &L) -> bool {
        self.requirements.iter().all(|r| r.matches(labels))
    }

    /// The one value the label `key` must have, if the first requirement on `key` pins it
    /// (`key=v`, `key==v` or `key in (v)`), as apimachinery's `RequiresExactMatch`.
    pub fn requires_exact_match(&self, key: &str) -> Option<&str> {
        let requirement = self.requirements.iter().find(|r| r.key == key)?;
        match (requirement.operator, requirement.values.as_slice()) {
            (Operator::Equals | Operator::DoubleEquals | Operator::In, [value]) => Some(value),
            _ => None,
        }
    }

    /// Converts to the API's `LabelSelector` object (matchLabels + matchExpressions).
    ///
    /// `=` and `==` become matchLabels (or an `In` expression when the key is already
    /// there), `!=` becomes `NotIn` with its one value; `>` and `<` have no equivalent and
    /// fail. The empty selector gives the empty object, which also selects everything.
    pub fn to_k8s(&self) -> Result<metav1::LabelSelector, SelectorError> {
        let mut labels = BTreeMap::new();
        let mut expressions = Vec::new();
        for r in &self.requirements {
            let operator = match r.operator {
                Operator::Equals | Operator::DoubleEquals if !labels.contains_key(&r.key) => {
                    labels.insert(r.key.clone(), r.values.concat());
                    continue;
                }
                Operator::Equals | Operator::DoubleEquals | Operator::In => "In",
                Operator::NotEquals | Operator::NotIn => "NotIn",
                Operator::Exists => "Exists",
                Operator::DoesNotExist => "DoesNotExist",
                Operator::GreaterThan | Operator::LessThan => {
                    return Err(SelectorError::InvalidRequirement {
                        kind: SelectorKind::Label,
                        key: r.key.clone(),
                        reason: format!(
                            "operator {:?} cannot be expressed in a LabelSelector object",
                            r.operator.as_str()
                        ),
                    });
                }
            };
            expressions.push(metav1::LabelSelectorRequirement {
                key: r.key.clone(),
                operator: operator.to_string(),
                values: (!r.values.is_empty()).then(|| r.values.clone()),
            });
        }
        Ok(metav1::LabelSelector {
            match_labels: (!labels.is_empty()).then_some(labels),
            match_expressions: (!expressions.is_empty()).then_some(expressions),
        })
    }
}

impl TryFrom<&metav1::LabelSelector> for LabelSelector {
    type Error = SelectorError;

    /// apimachinery's `LabelSelectorAsSelector` for a present selector: matchLabels become
    /// `=` requirements, matchExpressions In / NotIn / Exists / DoesNotExist requirements.
    fn try_from(selector: &metav1::LabelSelector) -> Result<Self, SelectorError> {
        let mut requirements = Vec::new();
        for (key, value) in selector.match_labels.iter().flatten() {
            requirements.push(Requirement::equals(key.as_str(), value.as_str())?);
        }
        for expression in selector.match_expressions.iter().flatten() {
            let operator = match expression.operator.as_str() {
                "In" => Operator::In,
                "NotIn" => Operator::NotIn,
                "Exists" => Operator::Exists,
                "DoesNotExist" => Operator::DoesNotExist,
                other => {
                    return Err(SelectorError::InvalidOperator {
                        key: expression.key.clone(),
                        operator: other.to_string(),
                    });
                }
            };
            let values = expression.values.iter().flatten().map(String::as_str);
            requirements.push(Requirement::new(expression.key.as_str(), operator, values)?);
        }
        Ok(Self::from_requirements(requirements))
    }
}

impl TryFrom<metav1::LabelSelector> for LabelSelector {
    type Error = SelectorError;

    fn try_from(selector: metav1::LabelSelector) -> Result<Self, SelectorError> {
        Self::try_from(&selector)
    }
}

super::string_form!(LabelSelector);

impl fmt::Display for LabelSelector {
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

/// Recursive-descent parser over the token list (apimachinery's `labels.Parser`).
struct Parser<'a> {
    input: &'a str,
    tokens: Vec<Token<'a>>,
    next: usize,
}

/// A value as written, with its byte position.
type Spanned<'a> = (&'a str, usize);

impl<'a> Parser<'a> {
    /// The next token, read where a key or value may stand: `in` and `notin` are identifiers.
    fn peek(&self) -> Token<'a> {
        let mut token = self.peek_raw();
        if matches!(token.kind, TokenKind::In | TokenKind::NotIn) {
            token.kind = TokenKind::Identifier;
        }
        token
    }

    /// The next token as lexed.
    fn peek_raw(&self) -> Token<'a> {
        // The last token is always EndOfString, and `next` never passes it.
        self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    /// Consumes the token `peek` returns.
    fn advance(&mut self) -> Token<'a> {
        let token = self.peek();
        if self.next + 1 < self.tokens.len() {
            self.next += 1;
        }
        token
    }

    fn syntax(&self, token: Token<'_>, expected: &str) -> SelectorError {
        SelectorError::Syntax {
            kind: SelectorKind::Label,
            input: self.input.to_string(),
            position: token.position,
            expected: expected.to_string(),
            found: token.describe(),
        }
    }

    fn parse(mut self) -> Result<Vec<Requirement>, SelectorError> {
        let mut requirements = Vec::new();
        loop {
            let token = self.peek();
            match token.kind {
                TokenKind::Identifier | TokenKind::DoesNotExist => {
                    requirements.push(self.requirement()?);
                    let after = self.advance();
                    match after.kind {
                        TokenKind::EndOfString => return Ok(requirements),
                        TokenKind::Comma => {
                            let token = self.peek();
                            if !matches!(token.kind, TokenKind::Identifier | TokenKind::DoesNotExist) {
                                return Err(self.syntax(token, "identifier or '!' after ','"));
                            }
                        }
                        _ => return Err(self.syntax(after, "',' or end of string")),
                    }
                }
                TokenKind::EndOfString => return Ok(requirements),
                _ => return Err(self.syntax(token, "'!', identifier or end of string")),
            }
        }
    }

    fn requirement(&mut self) -> Result<Requirement, SelectorError> {
        let mut token = self.advance();
        let negated = token.kind == TokenKind::DoesNotExist;
        if negated {
            token = self.advance();
        }
        if token.kind != TokenKind::Identifier {
            return Err(self.syntax(token, "identifier"));
        }
        let key = token.text;
        validate_label_key(key).map_err(|reason| SelectorError::InvalidKey {
            input: self.input.to_string(),
            key: key.to_string(),
            position: token.position,
            reason,
        })?;
        let operator = if negated {
            Operator::DoesNotExist
        } else if matches!(self.peek().kind, TokenKind::EndOfString | TokenKind::Comma) {
            Operator::Exists
        } else {
            self.operator()?
        };
        let values = match operator {
            Operator::Exists | Operator::DoesNotExist => Vec::new(),
            Operator::In | Operator::NotIn => self.set_values()?,
            _ => self.exact_value()?,
        };
        for &(value, position) in &values {
            operator.check_value(value).map_err(|reason| SelectorError::InvalidValue {
                input: self.input.to_string(),
                key: key.to_string(),
                value: value.to_string(),
                position,
                reason,
            })?;
        }
        let values: BTreeSet<&str> = values.into_iter().map(|(v, _)| v).collect();
        Ok(Requirement { key: key.to_string(), operator, values: values.into_iter().map(str::to_string).collect() })
    }

    fn operator(&mut self) -> Result<Operator, SelectorError> {
        let token = self.peek_raw();
        let operator = match token.kind {
            TokenKind::In => Operator::In,
            TokenKind::NotIn => Operator::NotIn,
            TokenKind::Equals => Operator::Equals,
            TokenKind::DoubleEquals => Operator::DoubleEquals,
            TokenKind::NotEquals => Operator::NotEquals,
            TokenKind::GreaterThan => Operator::GreaterThan,
            TokenKind::LessThan => Operator::LessThan,
            _ => return Err(self.syntax(token, "one of 'in', 'notin', '=', '==', '!=', '>', '<'")),
        };
        self.advance();
        Ok(operator)
    }

    /// `( v1, v2, ... )`; empty entries stand for the empty value, as in apimachinery.
    fn set_values(&mut self) -> Result<Vec<Spanned<'a>>, SelectorError> {
        let open = self.advance();
        if open.kind != TokenKind::OpenPar {
            return Err(self.syntax(open, "'('"));
        }
        let token = self.peek();
        match token.kind {
            TokenKind::Identifier | TokenKind::Comma => {
                let values = self.value_list()?;
                self.advance(); // the ')' value_list stopped at
                Ok(values)
            }
            TokenKind::ClosedPar => {
                self.advance();
                Ok(vec![("", token.position)])
            }
            _ => Err(self.syntax(token, "',', ')' or identifier")),
        }
    }

    /// The values inside the parentheses, stopping before the closing `)`.
    fn value_list(&mut self) -> Result<Vec<Spanned<'a>>, SelectorError> {
        let mut values = Vec::new();
        loop {
            let token = self.advance();
            match token.kind {
                TokenKind::Identifier => {
                    values.push((token.text, token.position));
                    let after = self.peek();
                    match after.kind {
                        TokenKind::Comma => {}
                        TokenKind::ClosedPar => return Ok(values),
                        _ => return Err(self.syntax(after, "',' or ')'")),
                    }
                }
                TokenKind::Comma => {
                    if values.is_empty() {
                        values.push(("", token.position));
                    }
                    let after = self.peek();
                    match after.kind {
                        TokenKind::ClosedPar => {
                            values.push(("", after.position));
                            return Ok(values);
                        }
                        TokenKind::Comma => values.push(("", after.position)),
                        _ => {}
                    }
                }
                _ => return Err(self.syntax(token, "',' or identifier")),
            }
        }
    }

    /// The single value after `=`, `==`, `!=`, `>` or `<`; missing means the empty value.
    fn exact_value(&mut self) -> Result<Vec<Spanned<'a>>, SelectorError> {
        let token = self.peek();
        match token.kind {
            TokenKind::EndOfString | TokenKind::Comma => Ok(vec![("", token.position)]),
            TokenKind::Identifier => {
                self.advance();
                Ok(vec![(token.text, token.position)])
            }
            _ => Err(self.syntax(token, "identifier")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A selector, a label or field set, and whether the selector matches it.
    type MatchCase = (&'static str, &'static [(&'static str, &'static str)], bool);

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn parse(s: &str) -> LabelSelector {
        LabelSelector::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    #[test]
    fn accepts_and_prints_without_spaces() {
        for s in [
            "x=a,y=b,z=c",
            "",
            "x!=a,y=b",
            "x=",
            "x= ",
            "x=,z= ",
            "x= ,z= ",
            "!x",
            "x>1",
            "x>1,z<5",
            "x==a",
            "notin=in",
        ] {
            assert_eq!(parse(s).to_string(), s.replace(' ', ""), "{s:?}");
        }
    }

    #[test]
    fn rejects_malformed_input() {
        for s in [
            "x=a||y=b",
            "x==a==b",
            "!x=a",
            "x<a",
            "x>-1",
            "x,,y",
            ",x,y",
            "x nott in (y)",
            "a in (xyz),",
            "a in (xyz)b notin ()",
            "a in (xyz abc)",
            "a notin(",
            "a (",
            "(",
            ",",
            "x in",
            "x in a",
            "x in (a",
            "x=(",
            "x!",
            "!",
            "!!x",
            "a/b/c",
            "x=a b",
            "x in (a,=)",
            "Example.com/x",
            "x=-a",
            "é",
        ] {
            assert!(LabelSelector::parse(s).is_err(), "{s:?} parsed");
        }
    }

    #[test]
    fn parses_into_requirements() {
        let r = |k: &str, op, vals: &[&str]| Requirement::new(k, op, vals.iter().copied()).unwrap();
        let cases: Vec<(&str, Vec<Requirement>)> = vec![
            ("\rx", vec![Requirement::exists("x").unwrap()]),
            (
                "this-is-another-dns.domain.com/key-with-dash in (so,what)",
                vec![r("this-is-another-dns.domain.com/key-with-dash", Operator::In, &["so", "what"])],
            ),
            (
                "0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
                vec![r("0.1.2.domain/99", Operator::NotIn, &["10.10.100.1", "tick.tack.clock"])],
            ),
            ("foo  in\t (abc)", vec![r("foo", Operator::In, &["abc"])]),
            ("x notin\n (abc)", vec![r("x", Operator::NotIn, &["abc"])]),
            ("x in (abc,)", vec![r("x", Operator::In, &["abc", ""])]),
            ("x in (abc,abc)", vec![r("x", Operator::In, &["abc"])]),
            ("x in ()", vec![r("x", Operator::In, &[""])]),
            ("x in (a,,,)", vec![r("x", Operator::In, &["a", ""])]),
            ("x in (a,,a,,a,,a,,)", vec![r("x", Operator::In, &["a", ""])]),
            ("x notin ( )", vec![r("x", Operator::NotIn, &[""])]),
            ("x notin (, a)", vec![r("x", Operator::NotIn, &["", "a"])]),
            ("a ", vec![r("a", Operator::Exists, &[])]),
            ("a in (x,y,notin, z,in)", vec![r("a", Operator::In, &["in", "notin", "x", "y", "z"])]),
            ("in in (in)", vec![r("in", Operator::In, &["in"])]),
            ("!notin", vec![r("notin", Operator::DoesNotExist, &[])]),
            (
                "x notin (abc,,def),bar,z in (),w",
                vec![
                    r("bar", Operator::Exists, &[]),
                    r("w", Operator::Exists, &[]),
                    r("x", Operator::NotIn, &["abc", "", "def"]),
                    r("z", Operator::In, &[""]),
                ],
            ),
            (
                "z in (h,i,j),y!=b,x=a",
                vec![
                    r("x", Operator::Equals, &["a"]),
                    r("y", Operator::NotEquals, &["b"]),
                    r("z", Operator::In, &["h", "i", "j"]),
                ],
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).requirements(), want.as_slice(), "{input:?}");
        }
    }

    #[test]
    fn prints_canonically() {
        let cases = [
            ("z,y notin (jkl),x in (def,abc)", "x in (abc,def),y notin (jkl),z"),
            ("!z,y!=jkl,x notin (def,abc)", "x notin (abc,def),y!=jkl,!z"),
            ("x notin (abc),y in (mno,jkl),z notin ()", "x notin (abc),y in (jkl,mno),z notin ()"),
            ("z,z!=a,y==jkl,x=abc", "x=abc,y==jkl,z!=a,z"),
            ("x>2 , y<8,z", "x>2,y<8,z"),
            ("x=a,a=x", "a=x,x=a"),
        ];
        for (input, want) in cases {
            assert_eq!(parse(input).to_string(), want, "{input:?}");
        }
        assert_eq!(parse("x=a,a=x"), parse("a=x,x=a"));
    }

    #[test]
    fn matches_like_apimachinery() {
        let cases: [MatchCase; 27] = [
            ("", &[("x", "y")], true),
            ("x=y", &[("x", "y")], true),
            ("x=y,z=w", &[("x", "y"), ("z", "w")], true),
            ("x!=y,z!=w", &[("x", "z"), ("z", "a")], true),
            ("notin=in", &[("notin", "in")], true),
            ("x", &[("x", "z")], true),
            ("!x", &[("y", "z")], true),
            ("x>1", &[("x", "2")], true),
            ("x<1", &[("x", "0")], true),
            ("x=z", &[], false),
            ("x=y", &[("x", "z")], false),
            ("x=y,z=w", &[("x", "w"), ("z", "w")], false),
            ("x!=y,z!=w", &[("x", "z"), ("z", "w")], false),
            ("x", &[("y", "z")], false),
            ("!x", &[("x", "z")], false),
            ("x>1", &[("x", "0")], false),
            ("x<1", &[("x", "2")], false),
            ("x>1", &[("x", "v2")], false),
            ("x>1", &[], false),
            ("x in (foo),y notin (alpha)", &[("x", "foo"), ("y", "baz")], true),
            ("x in (foo),y in (alpha)", &[("x", "foo"), ("y", "baz")], false),
            ("x notin (),y", &[("y", "")], true),
            ("!x,y", &[("y", "")], true),
            ("x notin (),!y", &[("y", "")], false),
            ("x in ()", &[("y", "baz")], false),
            ("x in ()", &[("x", "")], true),
            ("x=", &[("x", "")], true),
        ];
        for (selector, set, want) in cases {
            assert_eq!(parse(selector).matches(&labels(set)), want, "{selector:?} on {set:?}");
        }
        let set = labels(&[("foo", "bar"), ("baz", "blah")]);
        assert!(parse("foo=bar,baz=blah").matches(&set));
        assert!(!parse("foo=bar,foobar=bar,baz=blah").matches(&set));
        // Every LabelSource agrees.
        let hash: HashMap<String, String> = set.clone().into_iter().collect();
        let borrowed: BTreeMap<&str, &str> = [("foo", "bar")].into_iter().collect();
        assert!(parse("foo=bar").matches(&hash));
        assert!(parse("foo=bar").matches(&borrowed));
        assert!(parse("foo=bar").matches(&Some(set)));
        assert!(!parse("foo").matches(&None::<BTreeMap<String, String>>));
        assert!(parse("!foo").matches(&None::<BTreeMap<String, String>>));
        assert!(LabelSelector::everything().matches(&labels(&[("x", "y")])));
        assert!(LabelSelector::everything().is_empty());
    }

    #[test]
    fn errors_name_token_and_position() {
        let cases = [
            ("a in (b", "invalid label selector \"a in (b\": expected ',' or ')' at position 7, found end of string"),
            ("x==a==b", "invalid label selector \"x==a==b\": expected ',' or end of string at position 4, found '=='"),
            (
                "x,",
                "invalid label selector \"x,\": expected identifier or '!' after ',' at position 2, found end of string",
            ),
            (
                "x y",
                "invalid label selector \"x y\": expected one of 'in', 'notin', '=', '==', '!=', '>', '<' at position 2, found 'y'",
            ),
            ("x in a", "invalid label selector \"x in a\": expected '(' at position 5, found 'a'"),
        ];
        for (input, want) in cases {
            assert_eq!(LabelSelector::parse(input).unwrap_err().to_string(), want);
        }
        match LabelSelector::parse("ok, bad_/x=1").unwrap_err() {
            SelectorError::InvalidKey { key, position, .. } => {
                assert_eq!((key.as_str(), position), ("bad_/x", 4));
            }
            other => panic!("{other}"),
        }
        match LabelSelector::parse("k in (a, b c)").unwrap_err() {
            SelectorError::Syntax { position, found, .. } => {
                assert_eq!((position, found.as_str()), (11, "'c'"));
            }
            other => panic!("{other}"),
        }
        match LabelSelector::parse("k in (a, -b)").unwrap_err() {
            SelectorError::InvalidValue { key, value, position, .. } => {
                assert_eq!((key.as_str(), value.as_str(), position), ("k", "-b", 9));
            }
            other => panic!("{other}"),
        }
        match LabelSelector::parse("n>ten").unwrap_err() {
            SelectorError::InvalidValue { reason, position, .. } => {
                assert_eq!(position, 2);
                assert!(reason.contains("integer"), "{reason}");
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn builds_requirements_in_code() {
        let selector = LabelSelector::everything()
            .and(Requirement::is_in("env", ["prod", "staging", "prod"]).unwrap())
            .and(Requirement::equals("app", "web").unwrap())
            .and(Requirement::does_not_exist("canary").unwrap())
            .and(Requirement::greater_than("replicas", 2).unwrap());
        assert_eq!(selector.to_string(), "app=web,!canary,env in (prod,staging),replicas>2");
        assert_eq!(parse(&selector.to_string()), selector);
        assert!(Requirement::is_in("x", [""; 0]).is_err());
        assert!(Requirement::new("x", Operator::Equals, ["a", "b"]).is_err());
        assert!(Requirement::new("x", Operator::Exists, ["a"]).is_err());
        assert!(Requirement::new("x", Operator::LessThan, ["bar"]).is_err());
        assert!(Requirement::greater_than("x", -1).is_err());
        assert!(Requirement::exists("a".repeat(254)).is_err());
        assert!(Requirement::equals("x16", "a".repeat(254)).is_err());
        assert!(Requirement::equals("x17", "a b").is_err());
        let from_set = LabelSelector::from_labels([("b", "2"), ("a", "1")]).unwrap();
        assert_eq!(from_set.to_string(), "a=1,b=2");
        assert!(LabelSelector::from_labels([("a", "not valid")]).is_err());
        assert!(LabelSelector::from_labels(BTreeMap::<String, String>::new()).unwrap().is_empty());
    }

    #[test]
    fn exact_match() {
        let s = parse("a=1,b==2,c in (3),d in (4,5),e!=6,f");
        assert_eq!(s.requires_exact_match("a"), Some("1"));
        assert_eq!(s.requires_exact_match("b"), Some("2"));
        assert_eq!(s.requires_exact_match("c"), Some("3"));
        assert_eq!(s.requires_exact_match("d"), None);
        assert_eq!(s.requires_exact_match("e"), None);
        assert_eq!(s.requires_exact_match("f"), None);
        assert_eq!(s.requires_exact_match("g"), None);
    }

    fn expr(key: &str, operator: &str, values: Option<&[&str]>) -> metav1::LabelSelectorRequirement {
        metav1::LabelSelectorRequirement {
            key: key.to_string(),
            operator: operator.to_string(),
            values: values.map(|v| v.iter().map(|s| s.to_string()).collect()),
        }
    }

    #[test]
    fn converts_from_api_object() {
        let object = metav1::LabelSelector {
            match_labels: Some(labels(&[("app", "web"), ("tier", "front")])),
            match_expressions: Some(vec![
                expr("env", "In", Some(&["prod", "staging"])),
                expr("track", "NotIn", Some(&["canary"])),
                expr("owner", "Exists", None),
                expr("legacy", "DoesNotExist", Some(&[])),
            ]),
        };
        let selector = LabelSelector::try_from(&object).unwrap();
        assert_eq!(selector.to_string(), "app=web,env in (prod,staging),!legacy,owner,tier=front,track notin (canary)");
        assert!(LabelSelector::try_from(metav1::LabelSelector::default()).unwrap().is_empty());

        let bad = |e: metav1::LabelSelectorRequirement| metav1::LabelSelector {
            match_labels: None,
            match_expressions: Some(vec![e]),
        };
        assert_eq!(
            LabelSelector::try_from(&bad(expr("a", "Gt", Some(&["1"])))),
            Err(SelectorError::InvalidOperator { key: "a".into(), operator: "Gt".into() })
        );
        assert!(LabelSelector::try_from(&bad(expr("a", "In", None))).is_err());
        assert!(LabelSelector::try_from(&bad(expr("a", "Exists", Some(&["x"])))).is_err());
        assert!(LabelSelector::try_from(&bad(expr("a b", "Exists", None))).is_err());
        let bad_label = metav1::LabelSelector { match_labels: Some(labels(&[("a", "b c")])), match_expressions: None };
        assert!(LabelSelector::try_from(&bad_label).is_err());
    }

    #[test]
    fn converts_to_api_object() {
        let selector = parse("app=web,app=api,env in (prod),x!=y,owner,!legacy");
        let object = selector.to_k8s().unwrap();
        assert_eq!(object.match_labels, Some(labels(&[("app", "api")])));
        let expressions = object.match_expressions.clone().unwrap();
        assert_eq!(
            expressions,
            vec![
                expr("app", "In", Some(&["web"])),
                expr("env", "In", Some(&["prod"])),
                expr("legacy", "DoesNotExist", None),
                expr("owner", "Exists", None),
                expr("x", "NotIn", Some(&["y"])),
            ]
        );
        assert_eq!(LabelSelector::try_from(&object).unwrap().to_k8s().unwrap(), object);
        assert!(parse("x>1").to_k8s().is_err());
        assert_eq!(LabelSelector::everything().to_k8s().unwrap(), metav1::LabelSelector::default());
    }

    #[test]
    fn matches_object_metadata_and_serializes_as_string() {
        let meta = k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
            labels: Some(labels(&[("app", "web")])),
            ..Default::default()
        };
        assert!(parse("app=web").matches(&meta.labels));
        assert!(!parse("app=web").matches(&metav1::ObjectMeta::default().labels));

        let selector = parse("b notin (y,x), a");
        assert_eq!(String::from(&selector), "a,b notin (x,y)");
        let json = serde_json::to_string(&selector).unwrap();
        assert_eq!(json, r#""a,b notin (x,y)""#);
        assert_eq!(serde_json::from_str::<LabelSelector>(&json).unwrap(), selector);
        let err = serde_json::from_str::<LabelSelector>(r#""a in (""#).unwrap_err();
        assert!(err.to_string().contains("invalid label selector"), "{err}");
    }

    // ---- property tests ----

    /// Keys: an optional DNS-subdomain prefix, then a qualified name.
    fn key_strategy() -> impl Strategy<Value = String> {
        let name = "[A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?";
        let prefix = "[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?(\\.[a-z0-9]{1,4}){0,2}";
        (proptest::option::of(prefix), name).prop_map(|(p, n)| match p {
            Some(p) => format!("{p}/{n}"),
            None => n,
        })
    }

    fn value_strategy() -> impl Strategy<Value = String> {
        "([A-Za-z0-9]([A-Za-z0-9._-]{0,10}[A-Za-z0-9])?)?"
    }

    fn operator_strategy() -> impl Strategy<Value = Operator> {
        prop_oneof![
            Just(Operator::Equals),
            Just(Operator::DoubleEquals),
            Just(Operator::NotEquals),
            Just(Operator::In),
            Just(Operator::NotIn),
            Just(Operator::Exists),
            Just(Operator::DoesNotExist),
            Just(Operator::GreaterThan),
            Just(Operator::LessThan),
        ]
    }

    /// A valid requirement over the given key and value strategies.
    fn requirement_strategy(
        keys: impl Strategy<Value = String>,
        values: impl Strategy<Value = String>,
    ) -> impl Strategy<Value = Requirement> {
        (keys, operator_strategy(), proptest::collection::vec(values, 1..4), 0i64..20).prop_map(
            |(key, op, values, n)| {
                let values = match op {
                    Operator::In | Operator::NotIn => values,
                    Operator::Exists | Operator::DoesNotExist => Vec::new(),
                    Operator::GreaterThan | Operator::LessThan => vec![n.to_string()],
                    _ => values[..1].to_vec(),
                };
                Requirement::new(key, op, values).expect("generated requirement is valid")
            },
        )
    }

    fn selector_strategy() -> impl Strategy<Value = LabelSelector> {
        proptest::collection::vec(requirement_strategy(key_strategy(), value_strategy()), 0..6)
            .prop_map(LabelSelector::from_requirements)
    }

    /// Straightforward evaluation of one requirement, written independently of `matches`.
    fn reference(key: &str, op: Operator, values: &[String], set: &BTreeMap<String, String>) -> bool {
        let got = set.get(key);
        let in_values = got.map(|v| values.contains(v));
        match op {
            Operator::Equals | Operator::DoubleEquals | Operator::In => in_values == Some(true),
            Operator::NotEquals | Operator::NotIn => in_values != Some(true),
            Operator::Exists => got.is_some(),
            Operator::DoesNotExist => got.is_none(),
            Operator::GreaterThan => {
                got.and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v > values[0].parse::<i64>().unwrap())
            }
            Operator::LessThan => {
                got.and_then(|v| v.parse::<i64>().ok()).is_some_and(|v| v < values[0].parse::<i64>().unwrap())
            }
        }
    }

    proptest! {
        #[test]
        fn never_panics_on_any_string(s in "\\PC*") {
            let _ = LabelSelector::parse(&s);
        }

        #[test]
        fn never_panics_on_selector_like_strings(s in "[a-z0-9 =!(),<>/._-]{0,40}|(in|notin|[a-c]|[=!(),<> ]){0,20}") {
            if let Ok(parsed) = LabelSelector::parse(&s) {
                // Whatever parses prints to a string that parses back to the same selector.
                let reparsed = LabelSelector::parse(&parsed.to_string());
                prop_assert_eq!(reparsed.as_ref(), Ok(&parsed));
            }
        }

        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            let s = String::from_utf8_lossy(&bytes);
            let _ = LabelSelector::parse(&s);
        }

        #[test]
        fn print_parse_round_trip(selector in selector_strategy()) {
            let printed = selector.to_string();
            let parsed = LabelSelector::parse(&printed);
            prop_assert_eq!(parsed.as_ref(), Ok(&selector), "printed as {:?}", printed);
            prop_assert_eq!(parsed.unwrap().to_string(), printed);
        }

        #[test]
        fn matching_agrees_with_reference(
            requirements in proptest::collection::vec(
                requirement_strategy("[a-c]".prop_map(String::from), "[0-3x]?".prop_map(String::from)),
                0..4,
            ),
            set in proptest::collection::btree_map("[a-c]", "[0-3x]?", 0..4),
        ) {
            let selector = LabelSelector::from_requirements(requirements.clone());
            let want = requirements
                .iter()
                .all(|r| reference(r.key(), r.operator(), r.values(), &set));
            prop_assert_eq!(selector.matches(&set), want);
            let reparsed = LabelSelector::parse(&selector.to_string()).unwrap();
            prop_assert_eq!(reparsed.matches(&set), want);
        }
    }
}
