//! What the window and exports read: connections, a compact message index, a payload arena,
//! frames, findings and RTT samples. Filled from analysis events; knows nothing of egui.

mod annotate;
mod arena;
mod filter;
pub mod replay;
pub mod sort;

pub use annotate::Annotations;

pub use arena::PayloadArena;
pub use filter::{CompiledFilter, Filter, OpcodeFilter};

use crate::analysis::Timestamp;
use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Event, EventSink, FlowInfo, FrameEvent, MessageEvent, MessageFacts,
    RttSample, TcpHealth,
};
use crate::analysis::findings::Finding;
use crate::analysis::ws::frame::OpCode;

/// One message in the index: its facts plus where its bytes are (about 100 bytes; the
/// payload lives in the arena).
#[derive(Clone, Debug, PartialEq)]
pub struct MessageRow {
    pub facts: MessageFacts,
    /// Where the payload starts in the arena, and how many bytes were kept.
    pub payload_at: u64,
    pub kept_len: u32,
    /// Index of the message's first frame in `Store::frames`.
    pub first_frame: Option<u32>,
    /// Where a compressed message's bytes as sent are in the arena, and how many were kept.
    pub compressed_at: Option<(u64, u32)>,
}

impl MessageRow {
    pub fn payload_fully_kept(&self) -> bool {
        u64::from(self.kept_len) == self.len
    }
}

impl std::ops::Deref for MessageRow {
    type Target = MessageFacts;

    fn deref(&self) -> &MessageFacts {
        &self.facts
    }
}

/// Per-direction counters of a connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DirCounters {
    pub messages: u64,
    pub wire_bytes: u64,
    pub decoded_bytes: u64,
}

/// A connection with what happened on it.
#[derive(Clone, Debug)]
pub struct ConnectionEntry {
    pub info: ConnectionInfo,
    pub counters: [DirCounters; 2],
    pub last_ts: Timestamp,
    pub end: Option<ConnectionEnd>,
    /// What TCP did under the connection (packet sources only).
    pub tcp: Option<TcpHealth>,
    /// The first close code seen from each side.
    pub close_codes: [Option<u16>; 2],
    pub findings: u32,
}

/// A finding as stored.
#[derive(Clone, Debug)]
pub struct FindingRow {
    pub finding: Finding,
}

/// Everything loaded, in arrival order.
#[derive(Default)]
pub struct Store {
    pub connections: Vec<ConnectionEntry>,
    pub messages: Vec<MessageRow>,
    pub frames: Vec<FrameEvent>,
    pub findings: Vec<FindingRow>,
    pub rtts: Vec<RttSample>,
    /// Flows that carried no WebSocket but are listed (TLS connections without a key, …).
    pub flows: Vec<FlowInfo>,
    pub arena: PayloadArena,
    /// First frame of the data message in progress per (conn, dir).
    pending_frames: Vec<[Option<u32>; 2]>,
    /// The frame of the control message about to be reported.
    control_frame: Option<u32>,
    /// Earliest and latest message time, kept as messages arrive.
    span: Option<(Timestamp, Timestamp)>,
    /// The capture's first packet, when the source knows it (the origin of `time`).
    pub first_packet: Option<Timestamp>,
    /// The earliest connection start, kept as connections arrive (`capture_start` is asked
    /// for every message a display filter examines).
    first_connection: Option<Timestamp>,
}

impl Store {
    /// A store whose arena keeps at most `payload_budget_bytes` of payload in full.
    pub fn with_payload_budget(payload_budget_bytes: u64) -> Self {
        Store {
            arena: PayloadArena::with_budget(payload_budget_bytes),
            ..Default::default()
        }
    }

    pub fn payload(&self, row: &MessageRow) -> &[u8] {
        self.arena.get(row.payload_at, row.kept_len)
    }

    /// A compressed message's bytes as sent (empty for uncompressed messages).
    pub fn compressed_payload(&self, row: &MessageRow) -> &[u8] {
        row.compressed_at.map_or(&[], |(at, len)| self.arena.get(at, len))
    }

    pub fn connection(&self, id: ConnId) -> Option<&ConnectionEntry> {
        self.connections.get(id as usize)
    }

    /// The origin of "time since capture start": the first packet when known, else the
    /// first connection's start or the first message.
    pub fn capture_start(&self) -> Option<Timestamp> {
        self.first_packet
            .or(self.first_connection)
            .or(self.span.map(|(a, _)| a))
    }

    /// Earliest and latest message time, for plots.
    pub fn time_span(&self) -> Option<(Timestamp, Timestamp)> {
        self.span
    }

    pub fn push_message(&mut self, m: &MessageEvent<'_>) {
        let (payload_at, kept_len) = self.arena.push(m.payload);
        let compressed_at = m.compressed_payload.map(|raw| self.arena.push(raw));
        self.span = Some(match self.span {
            None => (m.ts, m.ts),
            Some((a, b)) => (a.min(m.ts), b.max(m.ts)),
        });
        // A control message is its own single frame; a data message's first frame waits in
        // the pending slot, untouched by control frames between its fragments.
        let first_frame = if m.opcode.is_control() {
            self.control_frame.take()
        } else {
            self.pending_frames
                .get_mut(m.conn as usize)
                .and_then(|p| p[m.dir.index()].take())
        };
        self.messages.push(MessageRow {
            facts: m.facts,
            payload_at,
            kept_len,
            first_frame,
            compressed_at,
        });
        if let Some(c) = self.connections.get_mut(m.conn as usize) {
            let d = &mut c.counters[m.dir.index()];
            d.messages += 1;
            d.wire_bytes += m.wire_len;
            d.decoded_bytes += m.payload.len() as u64;
            c.last_ts = c.last_ts.max(m.ts);
            if m.opcode == OpCode::Close && c.close_codes[m.dir.index()].is_none() {
                c.close_codes[m.dir.index()] = Some(m.close_code.unwrap_or(1005));
            }
        }
    }

    fn push_frame(&mut self, f: &FrameEvent) {
        let index = self.frames.len() as u32;
        self.frames.push(f.clone());
        let conn = f.conn as usize;
        if self.pending_frames.len() <= conn {
            self.pending_frames.resize(conn + 1, [None, None]);
        }
        if f.header.opcode.is_control() {
            // A control message is one frame, reported right after it (even between the
            // fragments of a data message).
            self.control_frame = Some(index);
        } else if let Some(slot) = self.pending_frames.get_mut(conn) {
            let pending = &mut slot[f.dir.index()];
            if pending.is_none() || f.header.opcode != OpCode::Continuation {
                *pending = Some(index);
            }
        }
    }
}

impl EventSink for Store {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connection(info) => {
                if info.conn as usize == self.connections.len() {
                    self.first_connection = Some(self.first_connection.map_or(info.first_ts, |t| t.min(info.first_ts)));
                    self.connections.push(ConnectionEntry {
                        info: info.clone(),
                        counters: Default::default(),
                        last_ts: info.first_ts,
                        end: None,
                        tcp: None,
                        close_codes: [None, None],
                        findings: 0,
                    });
                }
            }
            Event::Frame(f) => self.push_frame(f),
            Event::Message(m) => self.push_message(m),
            Event::Rtt(r) => self.rtts.push(r),
            Event::Anomaly(f) => {
                if let Some(c) = f.conn.and_then(|c| self.connections.get_mut(c as usize)) {
                    c.findings += 1;
                }
                self.findings.push(FindingRow { finding: f.clone() });
            }
            Event::ConnectionEnded { conn, ts, how, tcp } => {
                if let Some(c) = self.connections.get_mut(conn as usize) {
                    c.end = Some(how);
                    c.tcp = tcp.copied();
                    c.last_ts = c.last_ts.max(ts);
                }
            }
            Event::Flow(f) => self.flows.push(f.clone()),
        }
    }
}
