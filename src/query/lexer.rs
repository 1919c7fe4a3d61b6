//! Splits a display filter into tokens, each with the byte span it came from (for errors).

use crate::query::FilterError;

/// One token and where it is in the expression (byte offsets).
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: usize,
    pub end: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub enum TokenKind {
    LParen,
    RParen,
    LBrace,
    RBrace,
    Comma,
    /// `..` in a set range (`{1000..1003}`).
    DotDot,
    /// `==`, `!=`, `<`, `<=`, `>`, `>=` (word forms `eq`… are identifiers, resolved by the parser).
    Cmp(CmpOp),
    /// `~`, the symbol form of `matches`.
    Tilde,
    AndAnd,
    OrOr,
    Bang,
    /// A double-quoted string after escapes (may hold any bytes through `\xNN`).
    Str(Vec<u8>),
    Int(i128),
    Float(f64),
    /// A word: a field name with its path (`json.items[0].id`), a keyword, or a bare value
    /// (`text`, `c2s`, `invalid-utf8`). The text is the exact source slice.
    Word(String),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// The word forms Wireshark also accepts (`eq`, `ne`, `lt`, `le`, `gt`, `ge`).
    pub fn from_word(word: &str) -> Option<CmpOp> {
        Some(match word {
            "eq" => CmpOp::Eq,
            "ne" => CmpOp::Ne,
            "lt" => CmpOp::Lt,
            "le" => CmpOp::Le,
            "gt" => CmpOp::Gt,
            "ge" => CmpOp::Ge,
            _ => return None,
        })
    }
}

fn word_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '.' | '-')
}

/// Tokenises `src`. The first character that starts no token is an error at its column.
pub fn lex(src: &str) -> Result<Vec<Token>, FilterError> {
    let mut lexer = Lexer { src, at: 0 };
    let mut tokens = Vec::new();
    while let Some(token) = lexer.next_token()? {
        tokens.push(token);
    }
    Ok(tokens)
}

struct Lexer<'s> {
    src: &'s str,
    /// Byte offset of the next character.
    at: usize,
}

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.src.get(self.at..).and_then(|s| s.chars().next())
    }

    fn peek_second(&self) -> Option<char> {
        self.src.get(self.at..).and_then(|s| s.chars().nth(1))
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.at += c.len_utf8();
        Some(c)
    }

    fn error(&self, at: usize, message: impl Into<String>) -> FilterError {
        FilterError::at(self.src, at, message)
    }

    fn next_token(&mut self) -> Result<Option<Token>, FilterError> {
        while self.peek().is_some_and(char::is_whitespace) {
            self.bump();
        }
        let start = self.at;
        let Some(c) = self.bump() else {
            return Ok(None);
        };
        let two = |lexer: &mut Self, next: char| {
            if lexer.peek() == Some(next) {
                lexer.bump();
                true
            } else {
                false
            }
        };
        let kind = match c {
            '(' => TokenKind::LParen,
            ')' => TokenKind::RParen,
            '{' => TokenKind::LBrace,
            '}' => TokenKind::RBrace,
            ',' => TokenKind::Comma,
            '~' => TokenKind::Tilde,
            '.' if two(self, '.') => TokenKind::DotDot,
            '=' if two(self, '=') => TokenKind::Cmp(CmpOp::Eq),
            '=' => return Err(self.error(start, "'=' is not an operator here; compare with '=='")),
            '!' if two(self, '=') => TokenKind::Cmp(CmpOp::Ne),
            '!' => TokenKind::Bang,
            '<' if two(self, '=') => TokenKind::Cmp(CmpOp::Le),
            '<' => TokenKind::Cmp(CmpOp::Lt),
            '>' if two(self, '=') => TokenKind::Cmp(CmpOp::Ge),
            '>' => TokenKind::Cmp(CmpOp::Gt),
            '&' if two(self, '&') => TokenKind::AndAnd,
            '&' => return Err(self.error(start, "'&' alone is not an operator; use '&&' or 'and'")),
            '|' if two(self, '|') => TokenKind::OrOr,
            '|' => return Err(self.error(start, "'|' alone is not an operator; use '||' or 'or'")),
            '"' => TokenKind::Str(self.string(start)?),
            'r' if self.peek() == Some('"') => {
                self.bump();
                TokenKind::Str(self.raw_string(start)?)
            }
            c if c.is_ascii_digit() => self.number(start)?,
            '-' if self.peek().is_some_and(|d| d.is_ascii_digit()) => self.number(start)?,
            c if word_start(c) => {
                self.word_rest()?;
                TokenKind::Word(self.src.get(start..self.at).unwrap_or_default().to_owned())
            }
            '\'' => return Err(self.error(start, "strings are written in double quotes")),
            other => return Err(self.error(start, format!("unexpected character '{other}'"))),
        };
        Ok(Some(Token {
            kind,
            start,
            end: self.at,
        }))
    }

    /// The rest of a word: letters, digits, `_`, `.`, `-`, and index or quoted-key brackets
    /// written right after it (`items[0]`, `headers["content-type"]`).
    fn word_rest(&mut self) -> Result<(), FilterError> {
        loop {
            match self.peek() {
                // `..` ends a word: `{a..b}` is not valid for words, but `1..2` never gets here.
                Some('.') if self.peek_second() == Some('.') => return Ok(()),
                Some(c) if word_char(c) => {
                    self.bump();
                }
                Some('[') => {
                    let open = self.at;
                    self.bump();
                    match self.peek() {
                        Some('"') => {
                            let quote = self.at;
                            self.bump();
                            self.string(quote)?;
                        }
                        Some(d) if d.is_ascii_digit() => {
                            while self.peek().is_some_and(|d| d.is_ascii_digit()) {
                                self.bump();
                            }
                        }
                        _ => {
                            return Err(
                                self.error(self.at, "expected an array index (a number) or a quoted key after '['")
                            );
                        }
                    }
                    if self.peek() != Some(']') {
                        return Err(self.error(open, "'[' is not closed by ']'"));
                    }
                    self.bump();
                }
                _ => return Ok(()),
            }
        }
    }

    /// A double-quoted string; the opening quote at `start` was consumed.
    fn string(&mut self, start: usize) -> Result<Vec<u8>, FilterError> {
        let mut out = Vec::new();
        loop {
            let at = self.at;
            let Some(c) = self.bump() else {
                return Err(self.error(start, "string is not closed by '\"'"));
            };
            match c {
                '"' => return Ok(out),
                '\\' => {
                    let Some(e) = self.bump() else {
                        return Err(self.error(start, "string is not closed by '\"'"));
                    };
                    match e {
                        '"' => out.push(b'"'),
                        '\\' => out.push(b'\\'),
                        'n' => out.push(b'\n'),
                        'r' => out.push(b'\r'),
                        't' => out.push(b'\t'),
                        '0' => out.push(0),
                        'x' => {
                            let hex = self.src.get(self.at..self.at + 2).filter(|h| h.is_ascii());
                            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                                Some(b) => {
                                    out.push(b);
                                    self.at += 2;
                                }
                                None => return Err(self.error(at, "'\\x' needs two hex digits")),
                            }
                        }
                        'u' => {
                            let c = self.unicode_escape(at)?;
                            let mut buf = [0; 4];
                            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                        }
                        // Kept as written, so regular expressions read naturally: `"\d+"`.
                        other => {
                            let mut buf = [0; 4];
                            out.push(b'\\');
                            out.extend_from_slice(other.encode_utf8(&mut buf).as_bytes());
                        }
                    }
                }
                c => {
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
    }

    /// `\u{1F600}` or `\u00e9`; the `\u` at `at` was consumed.
    fn unicode_escape(&mut self, at: usize) -> Result<char, FilterError> {
        let rest = self.src.get(self.at..).unwrap_or_default();
        let (hex, used) = if let Some(inner) = rest.strip_prefix('{') {
            let close = inner
                .find('}')
                .ok_or_else(|| self.error(at, "'\\u{' is not closed by '}'"))?;
            (inner.get(..close).unwrap_or_default(), close + 2)
        } else {
            (rest.get(..4).unwrap_or_default(), 4)
        };
        let c = u32::from_str_radix(hex, 16)
            .ok()
            .and_then(char::from_u32)
            .ok_or_else(|| self.error(at, "'\\u' needs a Unicode scalar value in hex"))?;
        self.at += used;
        Ok(c)
    }

    /// `r"..."`: no escapes (for regular expressions); the `r"` was consumed.
    fn raw_string(&mut self, start: usize) -> Result<Vec<u8>, FilterError> {
        let rest = self.src.get(self.at..).unwrap_or_default();
        let close = rest
            .find('"')
            .ok_or_else(|| self.error(start, "raw string is not closed by '\"'"))?;
        let bytes = rest.get(..close).unwrap_or_default().as_bytes().to_vec();
        self.at += close + 1;
        Ok(bytes)
    }

    /// An integer (decimal or `0x` hex) or a float; the first character was consumed.
    fn number(&mut self, start: usize) -> Result<TokenKind, FilterError> {
        let hex = self
            .src
            .get(start..)
            .is_some_and(|s| s.starts_with("0x") || s.starts_with("0X"));
        if hex {
            self.bump();
            while self.peek().is_some_and(|c| c.is_ascii_hexdigit()) {
                self.bump();
            }
        } else {
            while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
            }
            // A fraction, unless this is the `..` of a range.
            if self.peek() == Some('.') && self.peek_second().is_some_and(|c| c.is_ascii_digit()) {
                self.bump();
                while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    self.bump();
                }
            }
            if matches!(self.peek(), Some('e' | 'E')) {
                let save = self.at;
                self.bump();
                if matches!(self.peek(), Some('+' | '-')) {
                    self.bump();
                }
                if self.peek().is_some_and(|c| c.is_ascii_digit()) {
                    while self.peek().is_some_and(|c| c.is_ascii_digit()) {
                        self.bump();
                    }
                } else {
                    self.at = save;
                }
            }
        }
        if self.peek().is_some_and(word_start) {
            return Err(self.error(start, "a number runs into letters; put a space after it"));
        }
        let text = self.src.get(start..self.at).unwrap_or_default();
        let bad = || self.error(start, format!("'{text}' is not a number"));
        if hex {
            let digits = text.get(2..).unwrap_or_default();
            i128::from_str_radix(digits, 16).map(TokenKind::Int).map_err(|_| bad())
        } else if text.contains(['.', 'e', 'E']) {
            text.parse::<f64>().map(TokenKind::Float).map_err(|_| bad())
        } else {
            text.parse::<i128>().map(TokenKind::Int).map_err(|_| bad())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<TokenKind> {
        lex(src).expect("lexes").into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn operators_words_numbers_and_strings_become_tokens() {
        assert_eq!(
            kinds(r#"json.items[0].id >= 3 && text contains "a\"b" || !x"#),
            vec![
                TokenKind::Word("json.items[0].id".into()),
                TokenKind::Cmp(CmpOp::Ge),
                TokenKind::Int(3),
                TokenKind::AndAnd,
                TokenKind::Word("text".into()),
                TokenKind::Word("contains".into()),
                TokenKind::Str(b"a\"b".to_vec()),
                TokenKind::OrOr,
                TokenKind::Bang,
                TokenKind::Word("x".into()),
            ]
        );
    }

    #[test]
    fn ranges_floats_hex_and_negative_numbers_are_told_apart() {
        assert_eq!(
            kinds("{1000..1003, 0x10, -2, 1.5, 2e3}"),
            vec![
                TokenKind::LBrace,
                TokenKind::Int(1000),
                TokenKind::DotDot,
                TokenKind::Int(1003),
                TokenKind::Comma,
                TokenKind::Int(16),
                TokenKind::Comma,
                TokenKind::Int(-2),
                TokenKind::Comma,
                TokenKind::Float(1.5),
                TokenKind::Comma,
                TokenKind::Float(2000.0),
                TokenKind::RBrace,
            ]
        );
    }

    #[test]
    fn escapes_give_exact_bytes_and_raw_strings_keep_backslashes() {
        assert_eq!(
            kinds(r#""\x00\xff\u{e9}\n""#),
            vec![TokenKind::Str(vec![0, 0xff, 0xc3, 0xa9, b'\n'])]
        );
        assert_eq!(kinds(r#"r"\d+\.""#), vec![TokenKind::Str(br"\d+\.".to_vec())]);
    }

    #[test]
    fn errors_name_the_character_column_not_the_byte() {
        let err = lex("text == \"é\" & x").expect_err("single &");
        assert_eq!(err.column, 12);
        assert_eq!(err.byte_offset, 13);
        let err = lex("len == 'x'").expect_err("single quotes");
        assert_eq!(err.column, 7);
        let err = lex("text == \"open").expect_err("unclosed");
        assert_eq!(err.column, 8);
        assert!(err.message.contains("not closed"), "{}", err.message);
    }
}
