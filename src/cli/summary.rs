//! The readable `analyze` report: per-connection facts, counts, RTT percentiles, findings.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::analysis::Timestamp;
use crate::analysis::app::{AppSettings, AppTracker, Protocol};
use crate::analysis::event::{
    ConnectionEnd, ConnectionInfo, Direction, Event, EventSink, FlowInfo, MessageEvent, TcpDirHealth, TcpHealth,
    TlsInfo,
};
use crate::analysis::findings::FindingKind;
use crate::analysis::latency::LatencyRecorder;
use crate::analysis::tcp::health::describe;
use crate::analysis::ws::close::close_code_name;
use crate::analysis::ws::frame::OpCode;

/// Findings of one kind kept with their text; the rest are only counted.
const EXAMPLES_PER_KIND: usize = 3;
/// Flows without a WebSocket kept for the report (the rest are counted).
const MAX_LISTED_FLOWS: usize = 1000;

#[derive(Default)]
struct DirStats {
    messages: u64,
    frames: u64,
    wire_bytes: u64,
    payload_bytes: u64,
    by_opcode: BTreeMap<OpCode, u64>,
    compressed: u64,
    close: Option<(Option<u16>, String)>,
}

#[derive(Default)]
struct FindingStats {
    count: u64,
    examples: Vec<String>,
}

struct ConnSummary {
    info: ConnectionInfo,
    dirs: [DirStats; 2],
    rtt: LatencyRecorder,
    findings: BTreeMap<FindingKind, FindingStats>,
    last_ts: Timestamp,
    end: Option<ConnectionEnd>,
    tcp: Option<TcpHealth>,
    /// Messages decoded per application protocol.
    app_messages: BTreeMap<Protocol, u64>,
    /// Application round trips per (protocol, key); at most `MAX_APP_KEYS` keys, the rest
    /// grouped under "(other keys)".
    app_rtt: BTreeMap<(Protocol, String), LatencyRecorder>,
}

/// Round-trip keys (methods, events, topics) listed per connection in the report.
const MAX_APP_KEYS: usize = 64;

/// Aggregates events into a report. Memory grows with connections, not with messages.
#[derive(Default)]
pub struct SummarySink {
    /// Indexed by connection id (ids are given out in order from 0).
    conns: Vec<ConnSummary>,
    global_findings: BTreeMap<FindingKind, FindingStats>,
    messages: u64,
    /// Flows listed without a WebSocket connection (TLS without a key, …).
    flows: Vec<FlowInfo>,
    /// Application protocol decoding (issue 16), for protocol counts and round trips.
    app: AppTracker,
}

impl SummarySink {
    pub fn with_app_settings(settings: AppSettings) -> Self {
        SummarySink {
            app: AppTracker::new(settings),
            ..SummarySink::default()
        }
    }
}

fn note_finding(map: &mut BTreeMap<FindingKind, FindingStats>, kind: FindingKind, text: String) {
    let entry = map.entry(kind).or_default();
    entry.count += 1;
    if entry.examples.len() < EXAMPLES_PER_KIND {
        entry.examples.push(text);
    }
}

impl EventSink for SummarySink {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connection(info) => {
                let index = info.conn as usize;
                if self.conns.len() != index {
                    return;
                }
                self.conns.push(ConnSummary {
                    info: info.clone(),
                    dirs: Default::default(),
                    rtt: LatencyRecorder::default(),
                    findings: BTreeMap::new(),
                    last_ts: info.first_ts,
                    end: None,
                    tcp: None,
                    app_messages: BTreeMap::new(),
                    app_rtt: BTreeMap::new(),
                });
                self.app.on_connection(info);
            }
            Event::Frame(_) => {}
            Event::Message(m) => {
                self.messages += 1;
                if let Some(c) = self.conns.get_mut(m.conn as usize) {
                    c.last_ts = c.last_ts.max(m.ts);
                    let d = &mut c.dirs[m.dir.index()];
                    d.messages += 1;
                    d.frames += u64::from(m.frames);
                    d.wire_bytes += m.wire_len;
                    d.payload_bytes += m.payload.len() as u64;
                    d.compressed += u64::from(m.compressed);
                    *d.by_opcode.entry(m.opcode).or_insert(0) += 1;
                    if m.opcode == OpCode::Close && d.close.is_none() {
                        d.close = Some((m.close_code, m.close_reason().unwrap_or_default().into_owned()));
                    }
                }
                self.note_app(m);
            }
            Event::Rtt(r) => {
                if let Some(c) = self.conns.get_mut(r.conn as usize) {
                    c.rtt.record_ms(r.rtt_ms());
                }
            }
            Event::Anomaly(f) => {
                let where_ = f.dir.map_or(String::new(), |d| format!("{} ", d.as_str()));
                let text = format!("{where_}@{}: {}", f.ts, f.detail);
                match f.conn.and_then(|c| self.conns.get_mut(c as usize)) {
                    Some(c) => note_finding(&mut c.findings, f.kind, text),
                    None => note_finding(&mut self.global_findings, f.kind, text),
                }
            }
            Event::ConnectionEnded { conn, ts, how, tcp } => {
                self.app.on_end(conn);
                if let Some(c) = self.conns.get_mut(conn as usize) {
                    c.end = Some(how);
                    c.tcp = tcp.copied();
                    c.last_ts = c.last_ts.max(ts);
                }
            }
            Event::Flow(f) => {
                if self.flows.len() < MAX_LISTED_FLOWS {
                    self.flows.push(f.clone());
                }
            }
        }
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn close_text(close: &Option<(Option<u16>, String)>) -> String {
    match close {
        None => "-".to_owned(),
        Some((None, _)) => "(no code)".to_owned(),
        Some((Some(code), reason)) if reason.is_empty() => {
            format!("{code} {}", close_code_name(*code))
        }
        Some((Some(code), reason)) => format!("{code} {} \"{reason}\"", close_code_name(*code)),
    }
}

impl SummarySink {
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    pub fn message_count(&self) -> u64 {
        self.messages
    }

    fn note_app(&mut self, m: &MessageEvent<'_>) {
        let decoded = self.app.on_message(m);
        let out = std::mem::take(&mut self.app.out);
        let Some(c) = self.conns.get_mut(m.conn as usize) else {
            return;
        };
        if let Some(d) = decoded {
            *c.app_messages.entry(d.protocol).or_insert(0) += 1;
        }
        for f in &out.findings {
            let text = format!("{} @{}: {}", m.dir.as_str(), f.ts, f.detail);
            note_finding(&mut c.findings, f.kind, text);
        }
        for r in &out.rtts {
            let mut key = (r.protocol, r.key.clone());
            if !c.app_rtt.contains_key(&key) && c.app_rtt.len() >= MAX_APP_KEYS {
                key.1 = "(other keys)".to_owned();
            }
            c.app_rtt.entry(key).or_default().record_ms(r.rtt_ms());
        }
    }

    /// The report text.
    pub fn render(&self) -> String {
        let mut s = String::new();
        let findings: u64 = self
            .conns
            .iter()
            .flat_map(|c| c.findings.values())
            .chain(self.global_findings.values())
            .map(|f| f.count)
            .sum();
        let _ = writeln!(
            s,
            "WebSocket connections: {}   messages: {}   findings: {}",
            self.conns.len(),
            self.messages,
            findings
        );
        for c in &self.conns {
            let _ = writeln!(s);
            let end = match c.end {
                Some(ConnectionEnd::Closed) => "closed".to_owned(),
                Some(other) => other.as_str().to_owned(),
                None => "open".to_owned(),
            };
            let _ = writeln!(
                s,
                "#{}  {} -> {}   {}   {:.3} s",
                c.info.conn,
                c.info.client,
                c.info.server,
                end,
                c.last_ts.millis_since(c.info.first_ts) / 1000.0
            );
            if let Some(tls) = &c.info.tls {
                let _ = writeln!(s, "    {}", tls.describe());
            }
            match &c.info.handshake {
                None => {
                    let _ = writeln!(s, "    handshake: not captured (found by frame detection)");
                }
                Some(hs) => {
                    let accept = match hs.accept_valid() {
                        Some(true) => "valid",
                        Some(false) => "INVALID",
                        None => "unchecked",
                    };
                    let exts: Vec<String> = hs.extensions.iter().map(ToString::to_string).collect();
                    let _ = writeln!(
                        s,
                        "    handshake: {} {}  status {}  subprotocol {}  extensions {}  accept {accept}",
                        hs.request.as_ref().map_or("?", |r| r.method.as_str()),
                        hs.path().unwrap_or("(request not captured)"),
                        hs.response.status,
                        hs.subprotocol.as_deref().unwrap_or("-"),
                        if exts.is_empty() {
                            "-".to_owned()
                        } else {
                            exts.join(", ")
                        },
                    );
                }
            }
            for dir in [Direction::ClientToServer, Direction::ServerToClient] {
                let d = &c.dirs[dir.index()];
                // Sorted by name, as a reader scans them.
                let mut ops: Vec<String> = d.by_opcode.iter().map(|(k, v)| format!("{v} {}", k.name())).collect();
                ops.sort_by(|a, b| a.split_once(' ').map(|x| x.1).cmp(&b.split_once(' ').map(|x| x.1)));
                let _ = writeln!(
                    s,
                    "    {}: {} messages ({}) in {} frames, {} on the wire, {} decoded{}, close {}",
                    dir.as_str(),
                    d.messages,
                    if ops.is_empty() { "-".to_owned() } else { ops.join(", ") },
                    d.frames,
                    bytes(d.wire_bytes),
                    bytes(d.payload_bytes),
                    if d.compressed > 0 {
                        format!(", {} compressed", d.compressed)
                    } else {
                        String::new()
                    },
                    close_text(&d.close)
                );
            }
            if let Some(tcp) = c.tcp.as_ref().filter(|t| t.dirs.iter().all(TcpDirHealth::is_clean)) {
                let [c2s, s2c] = &tcp.dirs;
                let _ = writeln!(
                    s,
                    "    TCP: clean (c2s {} segments, s2c {} segments)",
                    c2s.segments, s2c.segments
                );
            } else if let Some(tcp) = &c.tcp {
                for dir in [Direction::ClientToServer, Direction::ServerToClient] {
                    let h = &tcp.dirs[dir.index()];
                    let _ = writeln!(s, "    TCP {}: {}", dir.as_str(), describe(h));
                }
            }
            if let Some(rtt) = c.rtt.clone().summary() {
                let _ = writeln!(
                    s,
                    "    RTT: {} samples  p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                    rtt.count, rtt.p50_ms, rtt.p95_ms, rtt.p99_ms, rtt.max_ms
                );
            }
            if !c.app_messages.is_empty() {
                let list: Vec<String> = c
                    .app_messages
                    .iter()
                    .map(|(p, n)| format!("{} ({n} message{})", p.id(), if *n == 1 { "" } else { "s" }))
                    .collect();
                let _ = writeln!(s, "    application: {}", list.join(", "));
            }
            for ((protocol, key), h) in &c.app_rtt {
                if let Some(rtt) = h.clone().summary() {
                    let _ = writeln!(
                        s,
                        "    {} round trips {key}: {} samples  p50 {:.3} ms  p95 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                        protocol.id(),
                        rtt.count,
                        rtt.p50_ms,
                        rtt.p95_ms,
                        rtt.p99_ms,
                        rtt.max_ms
                    );
                }
            }
            render_findings(&mut s, &c.findings);
        }
        if !self.flows.is_empty() {
            let _ = writeln!(s, "\nTLS flows without a WebSocket connection: {}", self.flows.len());
            for f in &self.flows {
                let tls = f.tls.as_ref().map(TlsInfo::describe).unwrap_or_default();
                let _ = writeln!(s, "    {} -> {}   {}   {tls}", f.client, f.server, f.reason);
            }
        }
        if !self.global_findings.is_empty() {
            let _ = writeln!(s, "\nOther findings (not tied to a WebSocket connection):");
            render_findings(&mut s, &self.global_findings);
        }
        s
    }
}

fn render_findings(s: &mut String, findings: &BTreeMap<FindingKind, FindingStats>) {
    for (kind, stats) in findings {
        let _ = writeln!(
            s,
            "    finding {} x{}: {}",
            kind.slug(),
            stats.count,
            kind.explanation()
        );
        for ex in &stats.examples {
            let _ = writeln!(s, "        {ex}");
        }
    }
}
