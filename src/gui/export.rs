//! File → Export: the shown messages through the same writers as `analyze --jsonl/--csv/
//! --har` (the store replays them as events), and a connection's transcript ("follow
//! WebSocket stream") as text.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::analysis::event::{ConnId, EventSink};
use crate::analysis::ws::close::describe_close;
use crate::analysis::ws::frame::OpCode;
use crate::export::csv::CsvWriter;
use crate::export::har::HarWriter;
use crate::export::jsonl::JsonlWriter;
use crate::gui::commands::ExportFormat;
use crate::store::Store;
use crate::store::replay::replay;

impl ExportFormat {
    pub fn label(self) -> &'static str {
        match self {
            ExportFormat::JsonLines => "JSON Lines (analyze --jsonl records)…",
            ExportFormat::Csv => "CSV (one row per message)…",
            ExportFormat::Har => "HAR 1.2 (Chrome's _webSocketMessages)…",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::JsonLines => "jsonl",
            ExportFormat::Csv => "csv",
            ExportFormat::Har => "har",
        }
    }
}

/// Writes the messages `rows` (indices into the store, in the order given) to `path` as
/// `format`. Returns a line for the status bar.
pub fn export_messages(store: &Store, rows: &[u32], format: ExportFormat, path: &Path) -> std::io::Result<String> {
    let file = BufWriter::new(std::fs::File::create(path)?);
    let partial = match format {
        ExportFormat::JsonLines => {
            let mut w = JsonlWriter::new(file);
            let partial = replay(store, rows, &mut w);
            w.finish()?;
            partial
        }
        ExportFormat::Csv => {
            let start = store.capture_start().unwrap_or_default();
            let mut w = CsvWriter::new(file, start);
            let partial = replay(store, rows, &mut w);
            w.finish()?;
            partial
        }
        ExportFormat::Har => {
            let mut w = HarWriter::new();
            let partial = replay(store, rows, &mut w as &mut dyn EventSink);
            w.write(file)?;
            partial
        }
    };
    let mut text = format!("exported {} messages to {}", rows.len(), path.display());
    if partial > 0 {
        text.push_str(&format!(" ({partial} payloads kept only in part by the memory budget)"));
    }
    Ok(text)
}

/// One line of a connection's transcript.
pub struct TranscriptLine {
    pub message: u32,
    pub client_to_server: bool,
    /// `12.345678 s  c2s  text  5 B`
    pub head: String,
    pub body: String,
}

/// A connection's messages (among `rows`) as a transcript: both directions interleaved in
/// time order, text as text, binary as hex, closes with their code and name.
pub fn transcript(store: &Store, rows: &[u32], conn: ConnId) -> Vec<TranscriptLine> {
    let start = store.connection(conn).map(|c| c.info.first_ts);
    let mut lines: Vec<TranscriptLine> = rows
        .iter()
        .filter_map(|&i| store.messages.get(i as usize).map(|m| (i, m)))
        .filter(|(_, m)| m.conn == conn)
        .map(|(i, m)| {
            let payload = store.payload(m);
            let body = match m.opcode {
                OpCode::Close => describe_close(m.close_code, &m.close_reason(payload).unwrap_or_default()),
                OpCode::Text => String::from_utf8_lossy(payload).into_owned(),
                // Ping payloads are often short words ("rtt-1", "keepalive").
                OpCode::Ping | OpCode::Pong => match std::str::from_utf8(payload) {
                    Ok(text) if !text.chars().any(char::is_control) => format!("\"{text}\""),
                    _ => crate::export::copy_as::hex(payload),
                },
                _ => crate::export::copy_as::hex(payload),
            };
            let mut body = body;
            if !m.payload_fully_kept() {
                body.push_str(&format!(" … ({} of {} bytes kept)", m.kept_len, m.len));
            }
            TranscriptLine {
                message: i,
                client_to_server: m.dir == crate::analysis::event::Direction::ClientToServer,
                head: format!(
                    "{:>12.6} s  {}  {}  {}",
                    start.map_or(0.0, |s| m.ts.millis_since(s) / 1000.0),
                    m.dir.as_str(),
                    m.opcode.name(),
                    crate::gui::format::bytes(m.len)
                ),
                body,
            }
        })
        .collect();
    lines.sort_by_key(|l| (store.messages.get(l.message as usize).map(|m| m.ts), l.message));
    lines
}

/// The transcript as plain text, for saving.
pub fn transcript_text(store: &Store, conn: ConnId, lines: &[TranscriptLine]) -> String {
    let mut out = String::new();
    if let Some(c) = store.connection(conn) {
        out.push_str(&format!(
            "WebSocket connection {conn}: {} → {} ({})\n\n",
            c.info.client,
            c.info.server,
            crate::export::copy_as::connection_url(&c.info)
        ));
    }
    for l in lines {
        out.push_str(&l.head);
        out.push('\n');
        for body_line in l.body.lines() {
            out.push_str("    ");
            out.push_str(body_line);
            out.push('\n');
        }
    }
    out
}

/// Writes `text` to `path`.
pub fn save_text(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::File::create(path)?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

/// Writes the packets of the connections that `rows` belong to, from the capture file
/// `source`, to `to` as pcapng, with the TLS key log lines that decrypt them (from
/// `keylog_file` and the source's own Decryption Secrets Blocks). Returns a status line.
pub fn export_connections_pcapng(
    store: &Store,
    rows: &[u32],
    source: &Path,
    keylog_file: Option<&Path>,
    to: &Path,
) -> Result<String, String> {
    use crate::capture::subset::{KeptConnection, write_connections};
    let mut conns: Vec<ConnId> = rows
        .iter()
        .filter_map(|&i| store.messages.get(i as usize).map(|m| m.facts.conn))
        .collect();
    conns.sort_unstable();
    conns.dedup();
    let kept: Vec<KeptConnection> = conns
        .iter()
        .filter_map(|&c| store.connections.get(c as usize))
        .map(|c| KeptConnection {
            client: c.info.client,
            server: c.info.server,
            first_ts: c.info.first_ts,
            last_ts: c.last_ts,
            client_random: c.info.tls.as_ref().and_then(|t| t.client_random),
        })
        .collect();
    if kept.is_empty() {
        return Err("no connection is shown".to_owned());
    }
    let mut keylog = crate::capture::offline::tls_secrets_text(source);
    if let Some(file) = keylog_file {
        // A key log that cannot be read only means no keys from it: the packets still go.
        keylog.extend_from_slice(&std::fs::read(file).unwrap_or_default());
    }
    let summary = write_connections(source, &kept, &keylog, to)?;
    let keys = match summary.key_lines {
        0 => String::new(),
        n => format!(" and {n} TLS key log line{}", if n == 1 { "" } else { "s" }),
    };
    Ok(format!(
        "saved {} packets of {} connection{}{keys} to {}",
        summary.packets_written,
        kept.len(),
        if kept.len() == 1 { "" } else { "s" },
        to.display()
    ))
}
