//! The `analyze --jsonl` record format (docs/jsonl-format.md): one JSON object per line, streaming.
//!
//! Records are written by hand rather than through serde derive so that a message costs one
//! base64 pass straight into the output buffer and no intermediate allocation.

use std::io::{self, Write};

use base64::Engine as _;

use crate::analysis::app::{AppRttSample, AppSettings, AppTracker, Decoded};
use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Direction, Event, EventSink, FlowInfo, MessageEvent, RttSample, TcpHealth,
    TlsInfo,
};
use crate::analysis::findings::Finding;
use crate::analysis::time::Timestamp;

/// Writes events as JSON Lines. IO errors are remembered; the first one is returned by `finish`.
pub struct JsonlWriter<W: Write> {
    out: W,
    error: Option<io::Error>,
    b64: Vec<u8>,
    /// Application protocol decoding (issue 16): `app` on messages, `app_rtt` records.
    app: AppTracker,
}

impl<W: Write> JsonlWriter<W> {
    pub fn new(out: W) -> Self {
        JsonlWriter {
            out,
            error: None,
            b64: Vec::new(),
            app: AppTracker::default(),
        }
    }

    /// Application decoding as the user chose ("decode as" rules, or none at all).
    pub fn with_app_settings(mut self, settings: AppSettings) -> Self {
        self.app = AppTracker::new(settings);
        self
    }

    /// Flushes and returns the first write error, if any (e.g. a closed pipe).
    pub fn finish(mut self) -> io::Result<W> {
        if let Some(err) = self.error.take() {
            return Err(err);
        }
        self.out.flush()?;
        Ok(self.out)
    }

    pub fn failed(&self) -> bool {
        self.error.is_some()
    }

    fn write_record(&mut self, record: impl FnOnce(&mut W, &mut Vec<u8>) -> io::Result<()>) {
        if self.error.is_some() {
            return;
        }
        if let Err(err) = record(&mut self.out, &mut self.b64) {
            self.error = Some(err);
        }
    }
}

/// Writes a JSON string (quoted and escaped).
fn json_str(out: &mut impl Write, s: &str) -> io::Result<()> {
    serde_json::to_writer(out, s).map_err(io::Error::other)
}

fn json_opt_str(out: &mut impl Write, s: Option<&str>) -> io::Result<()> {
    match s {
        Some(s) => json_str(out, s),
        None => out.write_all(b"null"),
    }
}

fn write_connection(out: &mut impl Write, c: &ConnectionInfo) -> io::Result<()> {
    write!(
        out,
        "{{\"type\":\"connection\",\"conn\":{},\"client\":\"{}\",\"server\":\"{}\",\"ts\":{},\"handshake\":",
        c.conn, c.client, c.server, c.first_ts
    )?;
    match &c.handshake {
        None => out.write_all(b"null")?,
        Some(hs) => {
            out.write_all(b"{\"path\":")?;
            json_opt_str(out, hs.path())?;
            write!(
                out,
                ",\"status\":{},\"http_version\":\"{}\",\"subprotocol\":",
                hs.response.status,
                hs.http_version()
            )?;
            json_opt_str(out, hs.subprotocol.as_deref())?;
            out.write_all(b",\"extensions\":[")?;
            for (i, ext) in hs.extensions.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                json_str(out, &ext.to_string())?;
            }
            out.write_all(b"],\"accept_valid\":")?;
            match hs.accept_valid() {
                Some(v) => write!(out, "{v}")?,
                None => out.write_all(b"null")?,
            }
            out.write_all(b",\"offered_subprotocols\":")?;
            serde_json::to_writer(&mut *out, &hs.offered_subprotocols).map_err(io::Error::other)?;
            out.write_all(b",\"offered_extensions\":[")?;
            for (i, ext) in hs.offered_extensions.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                json_str(out, &ext.to_string())?;
            }
            out.write_all(b"]}")?;
        }
    }
    if let Some(tls) = &c.tls {
        out.write_all(b",\"tls\":")?;
        write_tls(out, tls)?;
    }
    if let Some(stream) = c.h2_stream {
        write!(out, ",\"h2_stream\":{stream}")?;
    }
    out.write_all(b"}\n")
}

/// `{"version":"1.3","cipher_suite":"TLS_AES_128_GCM_SHA256","sni":…,"alpn":…,"decrypted":true}`
fn write_tls(out: &mut impl Write, tls: &TlsInfo) -> io::Result<()> {
    out.write_all(b"{\"version\":")?;
    json_opt_str(out, tls.version.as_deref())?;
    out.write_all(b",\"cipher_suite\":")?;
    json_opt_str(out, tls.cipher_suite.as_deref())?;
    out.write_all(b",\"sni\":")?;
    json_opt_str(out, tls.sni.as_deref())?;
    out.write_all(b",\"alpn\":")?;
    json_opt_str(out, tls.alpn.as_deref())?;
    write!(out, ",\"decrypted\":{}", tls.decrypted)?;
    // Only when the client sent 0-RTT data, so other records keep their shape.
    if let Some(early) = tls.early_data {
        write!(out, ",\"early_data\":\"{early}\"")?;
    }
    out.write_all(b"}")
}

fn write_flow(out: &mut impl Write, f: &FlowInfo) -> io::Result<()> {
    write!(
        out,
        "{{\"type\":\"flow\",\"client\":\"{}\",\"server\":\"{}\",\"ts\":{},\"end_ts\":{},\"protocol\":\"{}\",\"tls\":",
        f.client, f.server, f.first_ts, f.last_ts, f.protocol
    )?;
    match &f.tls {
        Some(tls) => write_tls(out, tls)?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"reason\":")?;
    json_str(out, &f.reason)?;
    if let Some(stream) = f.h2_stream {
        write!(out, ",\"h2_stream\":{stream}")?;
    }
    if let Some(attempts) = f.attempts {
        write!(out, ",\"attempts\":{attempts}")?;
    }
    out.write_all(b"}\n")
}

/// The `end` record: how a connection ended and, from packet sources, what TCP did under it.
fn write_end(
    out: &mut impl Write,
    conn: ConnId,
    ts: Timestamp,
    how: ConnectionEnd,
    tcp: Option<&TcpHealth>,
) -> io::Result<()> {
    write!(
        out,
        "{{\"type\":\"end\",\"conn\":{conn},\"ts\":{ts},\"how\":\"{}\",\"tcp\":",
        how.as_str()
    )?;
    match tcp {
        None => out.write_all(b"null")?,
        Some(tcp) => {
            for (dir, h) in [Direction::ClientToServer, Direction::ServerToClient]
                .iter()
                .zip(&tcp.dirs)
            {
                let open = if dir.index() == 0 { "{" } else { "," };
                write!(
                    out,
                    "{open}\"{}\":{{\"segments\":{},\"retransmissions\":{},\"duplicate_bytes\":{},\"out_of_order\":{},\"gaps\":{},\"gap_bytes\":{},\"overlap_conflicts\":{},\"zero_windows\":{},\"zero_window_ms\":{:.3}}}",
                    dir.as_str(),
                    h.segments,
                    h.retransmissions,
                    h.duplicate_bytes,
                    h.out_of_order,
                    h.gaps,
                    h.gap_bytes,
                    h.overlap_conflicts,
                    h.zero_windows,
                    h.zero_window_micros as f64 / 1000.0
                )?;
            }
            out.write_all(b"}")?;
        }
    }
    out.write_all(b"}\n")
}

fn write_message(
    out: &mut impl Write,
    b64: &mut Vec<u8>,
    m: &MessageEvent<'_>,
    app: Option<&Decoded>,
) -> io::Result<()> {
    write!(
        out,
        "{{\"type\":\"message\",\"conn\":{},\"dir\":\"{}\",\"ts\":{},\"opcode\":\"{}\",\"frames\":{},\"compressed\":{},\"wire_len\":{},\"len\":{},\"payload_b64\":\"",
        m.conn,
        m.dir.as_str(),
        m.ts,
        m.opcode.name(),
        m.frames,
        m.compressed,
        m.wire_len,
        m.payload.len()
    )?;
    b64.clear();
    b64.resize(m.payload.len().div_ceil(3) * 4, 0);
    let written = base64::engine::general_purpose::STANDARD
        .encode_slice(m.payload, b64)
        .map_err(io::Error::other)?;
    out.write_all(b64.get(..written).unwrap_or(&[]))?;
    out.write_all(b"\",\"close_code\":")?;
    match m.close_code {
        Some(code) => write!(out, "{code}")?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"close_reason\":")?;
    json_opt_str(out, m.close_reason().as_deref())?;
    write!(out, ",\"first_ts\":{}", m.first_ts)?;
    if m.truncated {
        out.write_all(b",\"truncated\":true")?;
    }
    if !m.decoded {
        out.write_all(b",\"decoded\":false")?;
    }
    if let Some(d) = app {
        write!(out, ",\"app\":{{\"protocol\":\"{}\",\"summary\":", d.protocol.id())?;
        json_str(out, &d.summary)?;
        out.write_all(b",\"fields\":")?;
        serde_json::to_writer(&mut *out, &d.fields).map_err(io::Error::other)?;
        out.write_all(b"}")?;
    }
    out.write_all(b"}\n")
}

fn write_app_rtt(out: &mut impl Write, r: &AppRttSample) -> io::Result<()> {
    write!(
        out,
        "{{\"type\":\"app_rtt\",\"conn\":{},\"protocol\":\"{}\",\"key\":",
        r.conn,
        r.protocol.id()
    )?;
    json_str(out, &r.key)?;
    writeln!(
        out,
        ",\"request_dir\":\"{}\",\"request_ts\":{},\"response_ts\":{},\"rtt_ms\":{:.3}}}",
        r.request_dir.as_str(),
        r.request_ts,
        r.response_ts,
        r.rtt_ms()
    )
}

fn write_rtt(out: &mut impl Write, r: &RttSample) -> io::Result<()> {
    writeln!(
        out,
        "{{\"type\":\"rtt\",\"conn\":{},\"ping_dir\":\"{}\",\"ping_ts\":{},\"pong_ts\":{},\"rtt_ms\":{:.3}}}",
        r.conn,
        r.ping_dir.as_str(),
        r.ping_ts,
        r.pong_ts,
        r.rtt_ms()
    )
}

fn write_anomaly(out: &mut impl Write, f: &Finding) -> io::Result<()> {
    out.write_all(b"{\"type\":\"anomaly\",\"conn\":")?;
    match f.conn {
        Some(c) => write!(out, "{c}")?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"dir\":")?;
    match f.dir {
        Some(d) => write!(out, "\"{}\"", d.as_str())?,
        None => out.write_all(b"null")?,
    }
    write!(out, ",\"ts\":{},\"kind\":\"{}\",\"detail\":", f.ts, f.kind.slug())?;
    json_str(out, &f.detail)?;
    if let Some(offset) = f.stream_offset {
        write!(out, ",\"offset\":{offset}")?;
    }
    out.write_all(b"}\n")
}

impl<W: Write> EventSink for JsonlWriter<W> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connection(c) => {
                self.app.on_connection(c);
                self.write_record(|out, _| write_connection(out, c))
            }
            Event::Message(m) => {
                let app = self.app.on_message(m);
                self.write_record(|out, b64| write_message(out, b64, m, app.as_ref()));
                if !self.app.out.is_empty() {
                    let extra = std::mem::take(&mut self.app.out);
                    for f in &extra.findings {
                        self.write_record(|out, _| write_anomaly(out, f));
                    }
                    for r in &extra.rtts {
                        self.write_record(|out, _| write_app_rtt(out, r));
                    }
                }
            }
            Event::ConnectionEnded { conn, ts, how, tcp } => {
                self.app.on_end(conn);
                self.write_record(|out, _| write_end(out, conn, ts, how, tcp));
            }
            Event::Rtt(r) => self.write_record(|out, _| write_rtt(out, &r)),
            Event::Anomaly(f) => self.write_record(|out, _| write_anomaly(out, f)),
            Event::Flow(f) => self.write_record(|out, _| write_flow(out, f)),
            Event::Frame(_) => {}
        }
    }
}

/// Puts `"capture":FILE,` first in every record written through it (records are objects,
/// one per line), so the records of many captures can share one stream. With no name it
/// passes bytes through untouched.
pub struct CaptureTag<W: Write> {
    out: W,
    /// `{"capture":"FILE",` — replaces each line's opening brace.
    prefix: Option<Vec<u8>>,
    at_line_start: bool,
}

impl<W: Write> CaptureTag<W> {
    pub fn new(out: W, capture: Option<&str>) -> Self {
        let prefix = capture.map(|name| {
            let mut prefix = b"{\"capture\":".to_vec();
            // A string always serialises.
            let _ = serde_json::to_writer(&mut prefix, name);
            prefix.push(b',');
            prefix
        });
        CaptureTag {
            out,
            prefix,
            at_line_start: true,
        }
    }
}

impl<W: Write> Write for CaptureTag<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let Some(prefix) = &self.prefix else {
            return self.out.write(buf);
        };
        let mut rest = buf;
        while !rest.is_empty() {
            if self.at_line_start {
                if rest.first() == Some(&b'{') {
                    self.out.write_all(prefix)?;
                    rest = rest.get(1..).unwrap_or_default();
                }
                self.at_line_start = false;
                continue;
            }
            match memchr::memchr(b'\n', rest) {
                Some(end) => {
                    let (line, tail) = rest.split_at(end + 1);
                    self.out.write_all(line)?;
                    rest = tail;
                    self.at_line_start = true;
                }
                None => {
                    self.out.write_all(rest)?;
                    rest = &[];
                }
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_capture_tag_opens_every_record_however_the_writes_are_cut() {
        let mut out = Vec::new();
        {
            let mut tag = CaptureTag::new(&mut out, Some("a \"b\".pcap"));
            // A record cut mid-way, two in one write, then one cut right after its newline.
            tag.write_all(b"{\"type\":").unwrap();
            tag.write_all(b"\"x\"}\n{\"type\":\"y\"}\n{").unwrap();
            tag.write_all(b"\"type\":\"z\"}\n").unwrap();
        }
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"capture\":\"a \\\"b\\\".pcap\",\"type\":\"x\"}\n\
             {\"capture\":\"a \\\"b\\\".pcap\",\"type\":\"y\"}\n\
             {\"capture\":\"a \\\"b\\\".pcap\",\"type\":\"z\"}\n"
        );
        for line in text.lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["capture"], "a \"b\".pcap");
        }
        let mut plain = Vec::new();
        CaptureTag::new(&mut plain, None)
            .write_all(b"{\"type\":\"x\"}\n")
            .unwrap();
        assert_eq!(plain, b"{\"type\":\"x\"}\n");
    }
}
