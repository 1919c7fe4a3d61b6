//! Tokens to a checked expression tree: fields resolved, literals converted to the field's
//! type, regular expressions and substring searchers built — once, before any message.

use memchr::memmem::Finder;
use regex::bytes::Regex;

use crate::analysis::event::Direction;
use crate::analysis::findings::FindingKind;
use crate::query::FilterError;
use crate::query::fields::{self, Builtin, FieldKind};
use crate::query::json::{self, Seg};
use crate::query::lexer::{CmpOp, Token, TokenKind, lex};

/// A number as written: integers stay exact, anything else is compared as f64.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    pub fn as_f64(self) -> f64 {
        match self {
            Num::Int(i) => i as f64,
            Num::Float(f) => f,
        }
    }

    pub fn partial_cmp(self, other: Num) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Num::Int(a), Num::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }
}

/// A literal converted to what its field holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Lit {
    Num(Num),
    Bytes(Vec<u8>),
    Bool(bool),
    /// An opcode's 4-bit value.
    Opcode(u8),
    Dir(Direction),
    Finding(FindingKind),
    Null,
}

/// What a test reads.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldRef {
    Builtin(Builtin),
    /// `json` followed by this path (empty: the payload itself).
    Json(Vec<Seg>),
    App(String),
}

/// One item of an `in {…}` set.
#[derive(Clone, Debug, PartialEq)]
pub enum SetItem {
    One(Lit),
    /// Inclusive, as in Wireshark.
    Range(Num, Num),
}

/// What a test does with the field's value.
#[derive(Clone, Debug)]
pub enum Op {
    /// A bare field: true for a true flag, else "the message has this field".
    Truth,
    Cmp(CmpOp, Lit),
    Contains(Box<Finder<'static>>),
    Matches(Box<Regex>),
    In(Vec<SetItem>),
}

#[derive(Clone, Debug)]
pub struct Test {
    pub field: FieldRef,
    pub kind: FieldKind,
    pub op: Op,
}

/// The checked expression.
#[derive(Clone, Debug)]
pub enum Node {
    Const(bool),
    Not(Box<Node>),
    And(Box<Node>, Box<Node>),
    Or(Box<Node>, Box<Node>),
    Test(Box<Test>),
}

/// Parses and checks a whole expression. An empty one is an error (the caller decides
/// whether "no filter" means everything).
pub fn parse(src: &str) -> Result<Node, FilterError> {
    let tokens = lex(src)?;
    let mut p = Parser { src, tokens, at: 0 };
    if p.tokens.is_empty() {
        return Err(FilterError::at(src, 0, "empty filter"));
    }
    let node = p.or()?;
    if let Some(t) = p.tokens.get(p.at) {
        let what = describe(&t.kind);
        return Err(p.err(t.start, format!("unexpected {what}; expected '&&', '||' or the end")));
    }
    Ok(node)
}

fn describe(kind: &TokenKind) -> String {
    match kind {
        TokenKind::LParen => "'('".into(),
        TokenKind::RParen => "')'".into(),
        TokenKind::LBrace => "'{'".into(),
        TokenKind::RBrace => "'}'".into(),
        TokenKind::Comma => "','".into(),
        TokenKind::DotDot => "'..'".into(),
        TokenKind::Cmp(op) => format!("'{}'", op.symbol()),
        TokenKind::Tilde => "'~'".into(),
        TokenKind::AndAnd => "'&&'".into(),
        TokenKind::OrOr => "'||'".into(),
        TokenKind::Bang => "'!'".into(),
        TokenKind::Str(_) => "a string".into(),
        TokenKind::Int(_) | TokenKind::Float(_) => "a number".into(),
        TokenKind::Word(w) => format!("'{w}'"),
    }
}

struct Parser<'s> {
    src: &'s str,
    tokens: Vec<Token>,
    at: usize,
}

fn is_word(t: Option<&Token>, word: &str) -> bool {
    matches!(t, Some(Token { kind: TokenKind::Word(w), .. }) if w == word)
}

impl Parser<'_> {
    fn err(&self, at: usize, message: impl Into<String>) -> FilterError {
        FilterError::at(self.src, at, message)
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    /// Where an error about a missing token points: the next token, or the end.
    fn here(&self) -> usize {
        self.peek().map_or(self.src.len(), |t| t.start)
    }

    fn or(&mut self) -> Result<Node, FilterError> {
        let mut left = self.and()?;
        while matches!(self.peek().map(|t| &t.kind), Some(TokenKind::OrOr)) || is_word(self.peek(), "or") {
            self.at += 1;
            let right = self.and()?;
            left = Node::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Node, FilterError> {
        let mut left = self.unary()?;
        while matches!(self.peek().map(|t| &t.kind), Some(TokenKind::AndAnd)) || is_word(self.peek(), "and") {
            self.at += 1;
            let right = self.unary()?;
            left = Node::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, FilterError> {
        if matches!(self.peek().map(|t| &t.kind), Some(TokenKind::Bang)) || is_word(self.peek(), "not") {
            self.at += 1;
            return Ok(Node::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, FilterError> {
        let Some(token) = self.peek().cloned() else {
            return Err(self.err(self.src.len(), "expected a field, '(' or '!' here"));
        };
        self.at += 1;
        match &token.kind {
            TokenKind::LParen => {
                let inner = self.or()?;
                match self.peek() {
                    Some(Token {
                        kind: TokenKind::RParen,
                        ..
                    }) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err(self.err(
                        self.here(),
                        format!("'(' at column {} is not closed", self.column(token.start)),
                    )),
                }
            }
            TokenKind::Word(w) if w == "true" => Ok(Node::Const(true)),
            TokenKind::Word(w) if w == "false" => Ok(Node::Const(false)),
            TokenKind::Word(w) => {
                let (field, kind) = self.resolve_field(w, token.start)?;
                self.test(field, kind, &token)
            }
            other => Err(self.err(
                token.start,
                format!("expected a field, '(' or '!' but found {}", describe(other)),
            )),
        }
    }

    fn column(&self, byte: usize) -> usize {
        FilterError::at(self.src, byte, "").column + 1
    }

    fn resolve_field(&self, word: &str, at: usize) -> Result<(FieldRef, FieldKind), FilterError> {
        if let Some((b, def)) = fields::builtin(word)
            && b != Builtin::Json
        {
            return Ok((FieldRef::Builtin(b), def.kind));
        }
        if let Some(rest) = word.strip_prefix("json")
            && (rest.is_empty() || rest.starts_with(['.', '[']))
        {
            let path = json::parse_path(rest).map_err(|(offset, message)| self.err(at + 4 + offset, message))?;
            return Ok((FieldRef::Json(path), FieldKind::Dynamic));
        }
        if let Some(def) = fields::app_field(word) {
            return Ok((FieldRef::App(word.to_owned()), def.kind));
        }
        let mut message = format!("unknown field '{word}'");
        let close: Vec<_> = fields::complete(word.get(..2).unwrap_or(word))
            .into_iter()
            .map(|d| d.name)
            .collect();
        if !close.is_empty() {
            message.push_str(&format!(" (did you mean {}?)", close.join(", ")));
        }
        Err(self.err(at, message))
    }

    /// What follows a field: an operator and a value, or nothing (a truth test).
    fn test(&mut self, field: FieldRef, kind: FieldKind, field_token: &Token) -> Result<Node, FilterError> {
        let next = self.peek().cloned();
        let op_kind = next.as_ref().map(|t| &t.kind);
        let word = match op_kind {
            Some(TokenKind::Word(w)) => Some(w.as_str()),
            _ => None,
        };
        let test = |op| Node::Test(Box::new(Test { field, kind, op }));
        if let Some(op) = match op_kind {
            Some(TokenKind::Cmp(op)) => Some(*op),
            _ => word.and_then(CmpOp::from_word),
        } {
            self.at += 1;
            let value = self.value()?;
            let lit = self.convert(kind, &value, field_token)?;
            self.check_cmp(kind, op, &lit, next.as_ref().map_or(0, |t| t.start))?;
            return Ok(test(Op::Cmp(op, lit)));
        }
        match (op_kind, word) {
            (_, Some("contains")) => {
                self.at += 1;
                let value = self.value()?;
                let needle = self.text_operand(kind, &value, "contains", field_token)?;
                Ok(test(Op::Contains(Box::new(Finder::new(&needle).into_owned()))))
            }
            (Some(TokenKind::Tilde), _) | (_, Some("matches")) => {
                self.at += 1;
                let value = self.value()?;
                let pattern = self.text_operand(kind, &value, "matches", field_token)?;
                let pattern =
                    String::from_utf8(pattern).map_err(|_| self.err(value.start, "a pattern must be UTF-8"))?;
                let regex = regex::bytes::RegexBuilder::new(&pattern)
                    .size_limit(1 << 22)
                    .build()
                    .map_err(|e| self.err(value.start, format!("bad regular expression: {}", first_line(&e))))?;
                Ok(test(Op::Matches(Box::new(regex))))
            }
            (_, Some("in")) => {
                self.at += 1;
                let set = self.set(kind, field_token)?;
                Ok(test(Op::In(set)))
            }
            (_, Some("not")) if is_word(self.tokens.get(self.at + 1), "in") => {
                self.at += 2;
                let set = self.set(kind, field_token)?;
                Ok(Node::Not(Box::new(test(Op::In(set)))))
            }
            _ => Ok(test(Op::Truth)),
        }
    }

    fn value(&mut self) -> Result<Token, FilterError> {
        match self.peek().cloned() {
            Some(t)
                if matches!(
                    t.kind,
                    TokenKind::Str(_) | TokenKind::Int(_) | TokenKind::Float(_) | TokenKind::Word(_)
                ) =>
            {
                self.at += 1;
                Ok(t)
            }
            Some(t) => Err(self.err(t.start, format!("expected a value but found {}", describe(&t.kind)))),
            None => Err(self.err(self.src.len(), "expected a value after the operator")),
        }
    }

    fn set(&mut self, kind: FieldKind, field_token: &Token) -> Result<Vec<SetItem>, FilterError> {
        match self.peek() {
            Some(Token {
                kind: TokenKind::LBrace,
                ..
            }) => self.at += 1,
            _ => return Err(self.err(self.here(), "expected '{' after 'in'")),
        }
        let open = self.at;
        let mut items = Vec::new();
        loop {
            match self.peek().map(|t| t.kind.clone()) {
                Some(TokenKind::RBrace) => {
                    self.at += 1;
                    break;
                }
                Some(TokenKind::Comma) if !items.is_empty() => {
                    self.at += 1;
                    continue;
                }
                None => {
                    let at = self.tokens.get(open.saturating_sub(1)).map_or(0, |t| t.start);
                    return Err(self.err(at, "'{' is not closed by '}'"));
                }
                Some(_) => {}
            }
            let value = self.value()?;
            let lit = self.convert(kind, &value, field_token)?;
            if matches!(self.peek().map(|t| &t.kind), Some(TokenKind::DotDot)) {
                let dots = self.peek().map_or(0, |t| t.start);
                self.at += 1;
                let hi_token = self.value()?;
                let hi = self.convert(kind, &hi_token, field_token)?;
                match (lit, hi) {
                    (Lit::Num(lo), Lit::Num(hi)) => items.push(SetItem::Range(lo, hi)),
                    (Lit::Opcode(lo), Lit::Opcode(hi)) => {
                        items.push(SetItem::Range(Num::Int(lo.into()), Num::Int(hi.into())))
                    }
                    _ => return Err(self.err(dots, "a range needs numbers on both sides")),
                }
            } else {
                items.push(SetItem::One(lit));
            }
        }
        Ok(items)
    }

    /// The operand of `contains`/`matches`: a string (or bare word) on a text-like field.
    fn text_operand(
        &self,
        kind: FieldKind,
        value: &Token,
        op: &str,
        field_token: &Token,
    ) -> Result<Vec<u8>, FilterError> {
        if !matches!(
            kind,
            FieldKind::Str | FieldKind::Bytes | FieldKind::Finding | FieldKind::Dynamic
        ) {
            return Err(self.err(
                field_token.start,
                format!(
                    "'{op}' needs a text field; {} is {}",
                    field_name(field_token),
                    kind_words(kind)
                ),
            ));
        }
        match &value.kind {
            TokenKind::Str(bytes) => Ok(bytes.clone()),
            TokenKind::Word(w) => Ok(w.clone().into_bytes()),
            _ => Err(self.err(value.start, format!("'{op}' needs a string in double quotes"))),
        }
    }

    fn check_cmp(&self, kind: FieldKind, op: CmpOp, lit: &Lit, at: usize) -> Result<(), FilterError> {
        let ordered = matches!(op, CmpOp::Lt | CmpOp::Le | CmpOp::Gt | CmpOp::Ge);
        if ordered
            && (matches!(kind, FieldKind::Bool | FieldKind::Dir | FieldKind::Finding)
                || matches!(lit, Lit::Bool(_) | Lit::Null))
        {
            return Err(self.err(
                at,
                format!("'{}' compares numbers or text; use '==' or '!='", op.symbol()),
            ));
        }
        Ok(())
    }

    /// Converts a literal to the field's type, or says why it cannot be one.
    fn convert(&self, kind: FieldKind, value: &Token, field_token: &Token) -> Result<Lit, FilterError> {
        let name = field_name(field_token);
        let at = value.start;
        let word = match &value.kind {
            TokenKind::Word(w) => Some(w.as_str()),
            _ => None,
        };
        let text = match &value.kind {
            TokenKind::Str(b) => Some(b.clone()),
            TokenKind::Word(w) => Some(w.clone().into_bytes()),
            _ => None,
        };
        let num = match value.kind {
            TokenKind::Int(i) => Some(Num::Int(i)),
            TokenKind::Float(f) => Some(Num::Float(f)),
            _ => None,
        };
        let boolean = match word {
            Some("true") => Some(true),
            Some("false") => Some(false),
            _ => None,
        };
        match kind {
            FieldKind::Int | FieldKind::Float => num
                .map(Lit::Num)
                .ok_or_else(|| self.err(at, format!("{name} is a number; compare it with a number"))),
            FieldKind::Bool => match (boolean, num) {
                (Some(b), _) => Ok(Lit::Bool(b)),
                (_, Some(Num::Int(0))) => Ok(Lit::Bool(false)),
                (_, Some(Num::Int(1))) => Ok(Lit::Bool(true)),
                _ => Err(self.err(at, format!("{name} is true or false"))),
            },
            FieldKind::Str | FieldKind::Bytes => text
                .map(Lit::Bytes)
                .ok_or_else(|| self.err(at, format!("{name} is text; put the value in double quotes"))),
            FieldKind::Opcode => {
                if let Some(Num::Int(n)) = num {
                    return u8::try_from(n)
                        .ok()
                        .filter(|n| *n < 16)
                        .map(Lit::Opcode)
                        .ok_or_else(|| self.err(at, "an opcode is a number from 0 to 15"));
                }
                let name = text.as_deref().and_then(|t| std::str::from_utf8(t).ok()).unwrap_or("");
                opcode_by_name(name).map(Lit::Opcode).ok_or_else(|| {
                    self.err(
                        at,
                        "expected an opcode: text, binary, ping, pong, close, continuation, reserved-N or 0-15",
                    )
                })
            }
            FieldKind::Dir => match text.as_deref() {
                Some(b"c2s") => Ok(Lit::Dir(Direction::ClientToServer)),
                Some(b"s2c") => Ok(Lit::Dir(Direction::ServerToClient)),
                _ => Err(self.err(at, "expected a direction: c2s or s2c")),
            },
            FieldKind::Finding => {
                let slug = text.as_deref().and_then(|t| std::str::from_utf8(t).ok()).unwrap_or("");
                FindingKind::ALL
                    .iter()
                    .find(|k| k.slug() == slug)
                    .map(|k| Lit::Finding(*k))
                    .ok_or_else(|| {
                        self.err(
                            at,
                            format!(
                                "no finding is called '{slug}' (see the findings list: e.g. invalid-utf8, tcp-gap)"
                            ),
                        )
                    })
            }
            FieldKind::Dynamic => Ok(match (boolean, num, word) {
                (Some(b), _, _) => Lit::Bool(b),
                (_, Some(n), _) => Lit::Num(n),
                (_, _, Some("null")) => Lit::Null,
                _ => Lit::Bytes(text.unwrap_or_default()),
            }),
        }
    }
}

fn field_name(token: &Token) -> String {
    match &token.kind {
        TokenKind::Word(w) => w.clone(),
        _ => "the field".to_owned(),
    }
}

fn kind_words(kind: FieldKind) -> &'static str {
    match kind {
        FieldKind::Int | FieldKind::Float => "a number",
        FieldKind::Bool => "true or false",
        FieldKind::Str | FieldKind::Bytes => "text",
        FieldKind::Opcode => "an opcode",
        FieldKind::Dir => "a direction",
        FieldKind::Finding => "a finding",
        FieldKind::Dynamic => "a value",
    }
}

fn first_line(e: &regex::Error) -> String {
    let text = e.to_string();
    // The regex crate's message repeats the pattern with a caret; the last line says why.
    text.lines()
        .rev()
        .find(|l| l.trim_start().starts_with("error:"))
        .map_or(text.clone(), |l| {
            l.trim_start().trim_start_matches("error:").trim().to_owned()
        })
}

/// An opcode's value by its name (`text`, `reserved-3`…).
pub fn opcode_by_name(name: &str) -> Option<u8> {
    Some(match name {
        "continuation" => 0,
        "text" => 1,
        "binary" => 2,
        "close" => 8,
        "ping" => 9,
        "pong" => 10,
        _ => {
            let n: u8 = name.strip_prefix("reserved-")?.parse().ok()?;
            if matches!(n, 3..=7 | 11..=15) {
                n
            } else {
                return None;
            }
        }
    })
}
