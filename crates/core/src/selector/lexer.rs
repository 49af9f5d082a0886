//! Tokenizer of the label selector grammar (apimachinery's `labels.Lexer`).
//!
//! Whitespace (space, tab, CR, LF) separates tokens; `=`, `!`, `(`, `)`, `,`, `>` and `<` are
//! symbols (`==` and `!=` are read as one token); every other run of bytes is an identifier,
//! of which `in` and `notin` are keywords.

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    /// End of the input; always the last token.
    EndOfString,
    /// `)`
    ClosedPar,
    /// `,`
    Comma,
    /// `!`
    DoesNotExist,
    /// `==`
    DoubleEquals,
    /// `=`
    Equals,
    /// `>`
    GreaterThan,
    /// A key or value.
    Identifier,
    /// `in`
    In,
    /// `<`
    LessThan,
    /// `!=`
    NotEquals,
    /// `notin`
    NotIn,
    /// `(`
    OpenPar,
}

/// One token with its text and byte offset in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token<'a> {
    /// What the token is.
    pub kind: TokenKind,
    /// The token as written (empty for the end of the input).
    pub text: &'a str,
    /// Byte offset of the token's first byte.
    pub position: usize,
}

impl Token<'_> {
    /// The token as an error message names it.
    pub fn describe(&self) -> String {
        match self.kind {
            TokenKind::EndOfString => "end of string".to_string(),
            _ => format!("'{}'", self.text),
        }
    }
}

fn is_whitespace(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_symbol(b: u8) -> bool {
    matches!(b, b'=' | b'!' | b'(' | b')' | b',' | b'>' | b'<')
}

/// Splits `input` into tokens; the last one is always [`TokenKind::EndOfString`].
///
/// Token boundaries fall on ASCII bytes or the ends of the input, so every slice is valid
/// UTF-8 whatever the input holds.
pub(crate) fn tokenize(input: &str) -> Vec<Token<'_>> {
    let bytes = input.as_bytes();
    let mut tokens = Vec::new();
    let mut pos = 0;
    loop {
        while pos < bytes.len() && is_whitespace(bytes[pos]) {
            pos += 1;
        }
        let start = pos;
        let Some(&first) = bytes.get(pos) else {
            tokens.push(Token { kind: TokenKind::EndOfString, text: "", position: input.len() });
            return tokens;
        };
        let kind = if is_symbol(first) {
            let (kind, len) = match (first, bytes.get(pos + 1)) {
                (b'!', Some(b'=')) => (TokenKind::NotEquals, 2),
                (b'=', Some(b'=')) => (TokenKind::DoubleEquals, 2),
                (b'!', _) => (TokenKind::DoesNotExist, 1),
                (b'=', _) => (TokenKind::Equals, 1),
                (b'(', _) => (TokenKind::OpenPar, 1),
                (b')', _) => (TokenKind::ClosedPar, 1),
                (b',', _) => (TokenKind::Comma, 1),
                (b'>', _) => (TokenKind::GreaterThan, 1),
                _ => (TokenKind::LessThan, 1),
            };
            pos += len;
            kind
        } else {
            while pos < bytes.len() && !is_symbol(bytes[pos]) && !is_whitespace(bytes[pos]) {
                pos += 1;
            }
            match &input[start..pos] {
                "in" => TokenKind::In,
                "notin" => TokenKind::NotIn,
                _ => TokenKind::Identifier,
            }
        };
        tokens.push(Token { kind, text: &input[start..pos], position: start });
    }
}

#[cfg(test)]
mod tests {
    use super::TokenKind::*;
    use super::*;

    fn kinds(input: &str) -> Vec<TokenKind> {
        tokenize(input).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn single_tokens() {
        let cases = [
            ("", EndOfString),
            (",", Comma),
            ("notin", NotIn),
            ("in", In),
            ("=", Equals),
            ("==", DoubleEquals),
            (">", GreaterThan),
            ("<", LessThan),
            ("!", DoesNotExist),
            ("!=", NotEquals),
            ("(", OpenPar),
            (")", ClosedPar),
            ("~", Identifier),
            ("||", Identifier),
            ("inx", Identifier),
        ];
        for (input, kind) in cases {
            let tokens = tokenize(input);
            assert_eq!(tokens[0].kind, kind, "{input:?}");
            assert_eq!(tokens[0].text, input, "{input:?}");
            assert_eq!(tokens.last().map(|t| t.kind), Some(EndOfString));
        }
    }

    #[test]
    fn sequences() {
        let cases: [(&str, &[TokenKind]); 11] = [
            ("key in ( value )", &[Identifier, In, OpenPar, Identifier, ClosedPar]),
            ("key notin ( value )", &[Identifier, NotIn, OpenPar, Identifier, ClosedPar]),
            ("key in ( value1, value2 )", &[Identifier, In, OpenPar, Identifier, Comma, Identifier, ClosedPar]),
            ("key", &[Identifier]),
            ("!key", &[DoesNotExist, Identifier]),
            ("()", &[OpenPar, ClosedPar]),
            ("x in (),y", &[Identifier, In, OpenPar, ClosedPar, Comma, Identifier]),
            ("== != (), = notin", &[DoubleEquals, NotEquals, OpenPar, ClosedPar, Comma, Equals, NotIn]),
            ("key>2", &[Identifier, GreaterThan, Identifier]),
            ("key<1", &[Identifier, LessThan, Identifier]),
            ("a===b", &[Identifier, DoubleEquals, Equals, Identifier]),
        ];
        for (input, expected) in cases {
            let mut want = expected.to_vec();
            want.push(EndOfString);
            assert_eq!(kinds(input), want, "{input:?}");
        }
    }

    #[test]
    fn positions_and_unicode() {
        let tokens = tokenize(" é\t!=\n(ü) ");
        let got: Vec<(TokenKind, &str, usize)> = tokens.iter().map(|t| (t.kind, t.text, t.position)).collect();
        assert_eq!(
            got,
            vec![
                (Identifier, "é", 1),
                (NotEquals, "!=", 4),
                (OpenPar, "(", 7),
                (Identifier, "ü", 8),
                (ClosedPar, ")", 10),
                (EndOfString, "", 12),
            ]
        );
        assert_eq!(tokens[5].describe(), "end of string");
        assert_eq!(tokens[1].describe(), "'!='");
    }
}
