//! Which messages the tables and plots show: direction, opcode group, connection, size, text.

use regex::bytes::Regex;

use crate::analysis::event::{ConnId, Direction};
use crate::analysis::ws::close::describe_close;
use crate::analysis::ws::frame::OpCode;
use crate::store::{MessageRow, Store};

/// Opcode choices of the filter bar ("control" groups close, ping and pong).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum OpcodeFilter {
    #[default]
    All,
    Data,
    Text,
    Binary,
    Control,
    Close,
    Ping,
    Pong,
}

impl OpcodeFilter {
    pub const ALL: [OpcodeFilter; 8] = [
        OpcodeFilter::All,
        OpcodeFilter::Data,
        OpcodeFilter::Text,
        OpcodeFilter::Binary,
        OpcodeFilter::Control,
        OpcodeFilter::Close,
        OpcodeFilter::Ping,
        OpcodeFilter::Pong,
    ];

    pub fn label(self) -> &'static str {
        match self {
            OpcodeFilter::All => "all opcodes",
            OpcodeFilter::Data => "data",
            OpcodeFilter::Text => "text",
            OpcodeFilter::Binary => "binary",
            OpcodeFilter::Control => "control",
            OpcodeFilter::Close => "close",
            OpcodeFilter::Ping => "ping",
            OpcodeFilter::Pong => "pong",
        }
    }

    pub fn matches(self, op: OpCode) -> bool {
        match self {
            OpcodeFilter::All => true,
            OpcodeFilter::Data => !op.is_control(),
            OpcodeFilter::Text => op == OpCode::Text,
            OpcodeFilter::Binary => op == OpCode::Binary,
            OpcodeFilter::Control => op.is_control(),
            OpcodeFilter::Close => op == OpCode::Close,
            OpcodeFilter::Ping => op == OpCode::Ping,
            OpcodeFilter::Pong => op == OpCode::Pong,
        }
    }
}

/// The filter bar's state.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Filter {
    pub dir: Option<Direction>,
    pub opcode: OpcodeFilter,
    pub conn: Option<ConnId>,
    pub min_len: Option<u64>,
    pub max_len: Option<u64>,
    /// Text to find in payloads (a regular expression when `regex` is set).
    pub text: String,
    pub regex: bool,
}

/// A filter ready to test messages (the regex compiled once).
pub struct CompiledFilter<'f> {
    filter: &'f Filter,
    regex: Option<Regex>,
    needle: Option<memchr::memmem::Finder<'f>>,
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        *self == Filter::default()
    }

    /// Compiles the text part; a bad regular expression is an error to show inline.
    pub fn compile(&self) -> Result<CompiledFilter<'_>, String> {
        let (regex, needle) = if self.text.is_empty() {
            (None, None)
        } else if self.regex {
            (Some(Regex::new(&self.text).map_err(|e| e.to_string())?), None)
        } else {
            (None, Some(memchr::memmem::Finder::new(self.text.as_bytes())))
        };
        Ok(CompiledFilter {
            filter: self,
            regex,
            needle,
        })
    }
}

impl CompiledFilter<'_> {
    pub fn matches(&self, row: &MessageRow, payload: &[u8]) -> bool {
        self.matches_besides_text(row) && self.text_matches(row, payload)
    }

    /// Direction, opcode, connection and size: everything but the text.
    pub fn matches_besides_text(&self, row: &MessageRow) -> bool {
        let f = self.filter;
        f.dir.is_none_or(|d| d == row.dir)
            && f.opcode.matches(row.opcode)
            && f.conn.is_none_or(|c| c == row.conn)
            && f.min_len.is_none_or(|m| row.len >= m)
            && f.max_len.is_none_or(|m| row.len <= m)
    }

    /// True when there is text to look for.
    pub fn has_text(&self) -> bool {
        self.needle.is_some() || self.regex.is_some()
    }

    /// The text looked for in something the window shows beside the payload (the
    /// application summary).
    pub fn text_in(&self, shown: &str) -> bool {
        self.has_text() && self.found(shown.as_bytes())
    }

    fn found(&self, hay: &[u8]) -> bool {
        self.needle.as_ref().is_none_or(|n| n.find(hay).is_some())
            && self.regex.as_ref().is_none_or(|r| r.is_match(hay))
    }

    /// The text is looked for in the payload and, for a close, in what the table shows for
    /// it ("1000 Normal Closure — bye"), so `1000` and `Normal` find close frames.
    fn text_matches(&self, row: &MessageRow, payload: &[u8]) -> bool {
        let found = |hay: &[u8]| self.found(hay);
        found(payload)
            || (row.opcode == OpCode::Close && {
                let reason = row.close_reason(payload).unwrap_or_default();
                found(describe_close(row.close_code, &reason).as_bytes())
            })
    }

    /// Indices of the matching messages among `store.messages[from..upto]`, appended to `out`.
    pub fn extend_matches(&self, store: &Store, from: usize, upto: usize, out: &mut Vec<u32>) {
        for (i, row) in store.messages.iter().enumerate().take(upto).skip(from) {
            if self.matches(row, store.payload(row)) {
                out.push(i as u32);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Timestamp;
    use crate::analysis::event::MessageFacts;

    fn row(dir: Direction, opcode: OpCode, len: u64) -> MessageRow {
        MessageRow {
            facts: MessageFacts {
                wire_len: len + 2,
                ..MessageFacts::one_frame(0, dir, opcode, Timestamp::ZERO, len)
            },
            payload_at: 0,
            kept_len: len as u32,
            first_frame: None,
            compressed_at: None,
        }
    }

    #[test]
    fn combines_direction_opcode_size_and_text() {
        let f = Filter {
            dir: Some(Direction::ServerToClient),
            opcode: OpcodeFilter::Data,
            min_len: Some(3),
            text: "ell".into(),
            ..Filter::default()
        };
        let c = f.compile().expect("compiles");
        assert!(c.matches(&row(Direction::ServerToClient, OpCode::Text, 5), b"hello"));
        assert!(!c.matches(&row(Direction::ClientToServer, OpCode::Text, 5), b"hello"));
        assert!(!c.matches(&row(Direction::ServerToClient, OpCode::Ping, 5), b"hello"));
        assert!(!c.matches(&row(Direction::ServerToClient, OpCode::Text, 2), b"he"));
        assert!(!c.matches(&row(Direction::ServerToClient, OpCode::Text, 5), b"world"));
    }

    #[test]
    fn control_groups_close_ping_and_pong_and_regex_errors_are_reported() {
        for op in [OpCode::Close, OpCode::Ping, OpCode::Pong] {
            assert!(OpcodeFilter::Control.matches(op));
        }
        assert!(!OpcodeFilter::Control.matches(OpCode::Text));
        let bad = Filter {
            text: "(".into(),
            regex: true,
            ..Filter::default()
        };
        assert!(bad.compile().is_err());
        let re = Filter {
            text: r"^\{.*\}$".into(),
            regex: true,
            ..Filter::default()
        };
        let c = re.compile().expect("regex");
        assert!(c.matches(&row(Direction::ClientToServer, OpCode::Text, 2), b"{}"));
    }

    #[test]
    fn text_finds_close_frames_by_code_and_name_as_the_table_shows_them() {
        let mut close = row(Direction::ServerToClient, OpCode::Close, 5);
        close.facts.close_code = Some(1000);
        let payload = [0x03, 0xe8, b'b', b'y', b'e'];
        for text in ["1000", "Normal", "bye"] {
            let f = Filter {
                text: text.into(),
                ..Filter::default()
            };
            assert!(f.compile().expect("compiles").matches(&close, &payload), "{text}");
        }
        let f = Filter {
            text: "1001".into(),
            ..Filter::default()
        };
        assert!(!f.compile().expect("compiles").matches(&close, &payload));
    }
}
