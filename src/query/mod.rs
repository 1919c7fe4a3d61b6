//! The display filter language (`opcode == text && json.type == "order.paid"`), shared by the
//! window's filter bar and `analyze --filter`: lexer, parser with column-accurate errors,
//! evaluator over [`MessageView`], autocomplete, and a sink that filters analyzer events.
//! Pure: no IO, no egui. The reference is docs/filter-language.md.

pub mod app_fields;
mod eval;
pub mod facts;
pub mod fields;
pub mod json;
pub mod lexer;
pub mod parser;
pub mod sink;

pub use app_fields::register_app_protocol_fields;
pub use facts::{AppFields, ConnFacts, MessageView};
pub use fields::{FieldDef, FieldKind, complete, register_app_field};
pub use json::Leaf;
pub use sink::FilterSink;

use crate::query::fields::Builtin;
use crate::query::parser::{FieldRef, Node};

/// A mistake in a filter: where it is and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("column {}: {message}", column + 1)]
pub struct FilterError {
    /// Byte offset of the mistake in the expression.
    pub byte_offset: usize,
    /// Character column of the mistake, from 0 (what a text field's cursor counts).
    pub column: usize,
    pub message: String,
}

impl FilterError {
    pub(crate) fn at(src: &str, byte_offset: usize, message: impl Into<String>) -> FilterError {
        let byte_offset = byte_offset.min(src.len());
        let column = src.char_indices().take_while(|(i, _)| *i < byte_offset).count();
        FilterError {
            byte_offset,
            column,
            message: message.into(),
        }
    }

    /// The expression, a caret under the mistake and the message, for terminals:
    ///
    /// ```text
    /// len > "x"
    ///       ^ len is a number; compare it with a number
    /// ```
    pub fn render(&self, src: &str) -> String {
        format!("{src}\n{}^ {}", " ".repeat(self.column), self.message)
    }
}

/// A compiled filter: check once, then test many messages.
#[derive(Clone, Debug)]
pub struct Filter {
    root: Node,
    source: String,
}

impl Filter {
    /// Parses and checks `expr`. Application fields must be registered before.
    pub fn compile(expr: &str) -> Result<Filter, FilterError> {
        Ok(Filter {
            root: parser::parse(expr)?,
            source: expr.to_owned(),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn matches(&self, message: &MessageView<'_>) -> bool {
        eval::eval(&self.root, message)
    }

    /// True when the filter reads a field whose value the analyzer reports after the message
    /// itself (`rtt_ms`, and `finding` because `pong-missing` comes later): a streaming
    /// caller must hold such messages until those events have had their chance.
    pub fn needs_later_events(&self) -> bool {
        self.reads(|f| matches!(f, FieldRef::Builtin(Builtin::RttMs | Builtin::Finding)))
    }

    /// True when the filter reads an application protocol's field (`mqtt.topic`): a caller
    /// must run the application decoders over every message, in order.
    pub fn reads_app(&self) -> bool {
        self.reads(|f| matches!(f, FieldRef::App(_)))
    }

    /// True when the filter reads anything of the connection (endpoints, handshake).
    pub fn reads_connection(&self) -> bool {
        self.reads(|f| {
            matches!(
                f,
                FieldRef::Builtin(
                    Builtin::Client
                        | Builtin::Server
                        | Builtin::ClientIp
                        | Builtin::ClientPort
                        | Builtin::ServerIp
                        | Builtin::ServerPort
                        | Builtin::Path
                        | Builtin::Host
                        | Builtin::Subprotocol
                )
            )
        })
    }

    fn reads(&self, want: impl Fn(&FieldRef) -> bool + Copy) -> bool {
        fn walk(node: &Node, want: &dyn Fn(&FieldRef) -> bool) -> bool {
            match node {
                Node::Const(_) => false,
                Node::Not(n) => walk(n, want),
                Node::And(a, b) | Node::Or(a, b) => walk(a, want) || walk(b, want),
                Node::Test(t) => want(&t.field),
            }
        }
        walk(&self.root, &want)
    }
}

/// A completion for the word under the cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suggestions {
    /// Byte range of the expression the chosen candidate replaces.
    pub replace: std::ops::Range<usize>,
    pub candidates: Vec<String>,
}

/// What may be typed at byte `cursor` of `expr`: field names where a field goes, value words
/// (`text`, `c2s`, finding slugs) after a comparison of a field that has them.
pub fn suggest(expr: &str, cursor: usize) -> Suggestions {
    let cursor = cursor.min(expr.len());
    let before = expr.get(..cursor).unwrap_or_default();
    let word_start = before
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '[' | ']' | '"'))
        .last()
        .map_or(cursor, |(i, _)| i);
    let word = before.get(word_start..).unwrap_or_default();
    let head = before.get(..word_start).unwrap_or_default();
    // The previous two words decide: after `FIELD ==` come values, else fields.
    let prev: Vec<&str> = head.split_whitespace().rev().take(2).collect();
    let after_operator = |op: &str| {
        matches!(
            op,
            "==" | "!=" | "eq" | "ne" | "{" | "in" | "," | "<" | ">" | "<=" | ">="
        ) || op.ends_with('{')
            || op.ends_with(',')
    };
    let mut candidates = Vec::new();
    if let Some(op) = prev.first()
        && after_operator(op)
    {
        let field = head
            .split(|c: char| c.is_whitespace() || matches!(c, '(' | '!' | '&' | '|'))
            .rfind(|w| !w.is_empty() && !after_operator(w) && !w.starts_with('{'))
            .unwrap_or_default();
        let kind = fields::builtin(field)
            .map(|(_, d)| d.kind)
            .or_else(|| fields::app_field(field).map(|d| d.kind));
        if let Some(kind) = kind {
            candidates = fields::value_words(kind)
                .into_iter()
                .filter(|v| v.starts_with(word))
                .collect();
        }
    } else {
        candidates = complete(word).into_iter().map(|d| d.name.to_owned()).collect();
        if !word.is_empty() {
            for kw in ["and", "or", "not", "contains", "matches", "in", "true", "false"] {
                if kw.starts_with(word) && kw != word {
                    candidates.push(kw.to_owned());
                }
            }
        }
    }
    Suggestions {
        replace: word_start..cursor,
        candidates,
    }
}

#[cfg(test)]
mod tests;
