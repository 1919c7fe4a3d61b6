//! CSV export: one row per message with the message table's columns (`analyze --csv OUT`).

use std::io::{self, Write};

use crate::analysis::Timestamp;
use crate::analysis::event::{Event, EventSink, MessageEvent};
use crate::analysis::ws::close::close_code_name;
use crate::analysis::ws::frame::OpCode;

/// The header row.
pub const COLUMNS: [&str; 13] = [
    "conn",
    "time",
    "ts",
    "dir",
    "opcode",
    "len",
    "wire_len",
    "frames",
    "compressed",
    "close_code",
    "close_reason",
    "preview",
    "decoded",
];

/// Characters of payload shown in the preview column.
pub const PREVIEW_CHARS: usize = 200;

/// Writes messages as CSV rows. IO errors are remembered; `finish` returns the first.
pub struct CsvWriter<W: Write> {
    out: ::csv::Writer<W>,
    capture_start: Timestamp,
    error: Option<io::Error>,
    rows: u64,
}

impl<W: Write> CsvWriter<W> {
    /// `capture_start` is the origin of the `time` column (the capture's first packet).
    pub fn new(out: W, capture_start: Timestamp) -> Self {
        let mut out = ::csv::Writer::from_writer(out);
        let error = out.write_record(COLUMNS).err().map(io::Error::other);
        CsvWriter {
            out,
            capture_start,
            error,
            rows: 0,
        }
    }

    /// Rows written (not counting the header).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn finish(mut self) -> io::Result<()> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        self.out.flush()
    }

    fn row(&mut self, m: &MessageEvent<'_>) -> ::csv::Result<()> {
        let time = m.ts.nanos.saturating_sub(self.capture_start.nanos) as f64 / 1e9;
        let reason = m.close_reason().unwrap_or_default();
        self.out.write_record([
            m.conn.to_string().as_str(),
            &format!("{time:.6}"),
            &m.ts.to_string(),
            m.dir.as_str(),
            &m.opcode.name(),
            &m.payload.len().to_string(),
            &m.wire_len.to_string(),
            &m.frames.to_string(),
            if m.compressed { "true" } else { "false" },
            &m.close_code.map(|c| c.to_string()).unwrap_or_default(),
            &reason,
            &preview(m),
            if m.decoded { "true" } else { "false" },
        ])
    }
}

/// What the message table's preview column shows: text as text (control characters as `·`),
/// a close as "1000 Normal Closure: reason", other bytes as hex.
pub fn preview(m: &MessageEvent<'_>) -> String {
    match (m.opcode, m.close_code) {
        (OpCode::Close, Some(code)) => {
            let name = close_code_name(code);
            match m.close_reason().filter(|r| !r.is_empty()) {
                Some(reason) => format!("{code} {name}: {}", text_preview(reason.as_bytes())),
                None => format!("{code} {name}"),
            }
        }
        (OpCode::Close, None) => "(no status code)".to_owned(),
        _ => text_preview(m.payload),
    }
}

fn text_preview(payload: &[u8]) -> String {
    let head = payload.get(..payload.len().min(PREVIEW_CHARS * 4)).unwrap_or(payload);
    let text = match std::str::from_utf8(head) {
        Ok(text) => text,
        // Cut inside a character: keep the valid part.
        Err(e) if e.error_len().is_none() && e.valid_up_to() > 0 => {
            std::str::from_utf8(head.get(..e.valid_up_to()).unwrap_or_default()).unwrap_or_default()
        }
        Err(_) => {
            let mut hex: Vec<String> = head
                .iter()
                .take(PREVIEW_CHARS / 3)
                .map(|b| format!("{b:02x}"))
                .collect();
            if payload.len() > PREVIEW_CHARS / 3 {
                hex.push("…".to_owned());
            }
            return hex.join(" ");
        }
    };
    let mut out: String = text
        .chars()
        .take(PREVIEW_CHARS)
        .map(|c| if c.is_control() { '·' } else { c })
        .collect();
    if text.chars().nth(PREVIEW_CHARS).is_some() || head.len() < payload.len() {
        out.push('…');
    }
    out
}

impl<W: Write> EventSink for CsvWriter<W> {
    fn event(&mut self, event: Event<'_>) {
        if let Event::Message(m) = event
            && self.error.is_none()
        {
            match self.row(m) {
                Ok(()) => self.rows += 1,
                Err(e) => self.error = Some(io::Error::other(e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::event::{Direction, MessageFacts};

    fn message(opcode: OpCode, payload: &[u8], close_code: Option<u16>) -> MessageEvent<'_> {
        MessageEvent {
            facts: MessageFacts {
                conn: 2,
                dir: Direction::ServerToClient,
                ts: Timestamp::from_secs_micros(100, 250_000),
                first_ts: Timestamp::from_secs_micros(100, 250_000),
                opcode,
                frames: 1,
                compressed: false,
                wire_len: payload.len() as u64 + 2,
                len: payload.len() as u64,
                truncated: false,
                decoded: true,
                close_code,
                stream_offset: 0,
            },
            payload,
            compressed_payload: None,
        }
    }

    #[test]
    fn rows_hold_the_table_columns_quoted_where_needed() {
        let mut w = CsvWriter::new(Vec::new(), Timestamp::from_secs_micros(100, 0));
        w.event(Event::Message(&message(OpCode::Text, b"a,\"b\"\nc", None)));
        w.event(Event::Message(&message(OpCode::Close, b"\x03\xe8bye", Some(1000))));
        w.event(Event::Message(&message(OpCode::Binary, &[0, 1, 0xff], None)));
        assert_eq!(w.rows(), 3);
        let CsvWriter { out, .. } = w;
        let text = String::from_utf8(out.into_inner().expect("flush")).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "conn,time,ts,dir,opcode,len,wire_len,frames,compressed,close_code,close_reason,preview,decoded",
                "2,0.250000,100.250000,s2c,text,7,9,1,false,,,\"a,\"\"b\"\"·c\",true",
                "2,0.250000,100.250000,s2c,close,5,7,1,false,1000,bye,1000 Normal Closure: bye,true",
                "2,0.250000,100.250000,s2c,binary,3,5,1,false,,,00 01 ff,true",
            ]
        );
    }

    #[test]
    fn long_text_is_cut_with_an_ellipsis() {
        let long = "é".repeat(PREVIEW_CHARS + 5);
        let p = preview(&message(OpCode::Text, long.as_bytes(), None));
        assert_eq!(p.chars().count(), PREVIEW_CHARS + 1);
        assert!(p.ends_with('…'));
    }
}
