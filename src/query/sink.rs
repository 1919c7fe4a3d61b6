//! `analyze --filter`: an [`EventSink`] that passes on only the messages a filter matches,
//! like tshark's `-Y`, with what belongs to them.
//!
//! What is passed on:
//! - each matching message;
//! - the connection record of a connection, just before its first matching message (a
//!   connection with no matching message is not printed);
//! - the findings on a matching message (same connection and direction, at or after the
//!   message's first byte in the stream since the previous message; a `pong-missing` on a
//!   ping), just before it (`pong-missing`: when it comes);
//! - an RTT sample when its ping or its pong matches;
//! - the end of a printed connection.
//!
//! Connection-level findings (handshake, TCP) and findings on no message are left out.
//!
//! Order: the analyzer reports a message's own findings before it, but its RTT and a
//! `pong-missing` after it. When the filter reads `rtt_ms` or `finding`, pings wait (with
//! everything after them, to keep the output in order) until their pong, their
//! `pong-missing`, or their connection's end; pongs wait for the next event. At most
//! [`MAX_HELD_RECORDS`] records or [`MAX_HELD_BYTES`] payload bytes wait: past that the
//! oldest waiting ping is decided without an RTT (counted in [`FilterSink::forced`]).

use std::collections::VecDeque;

use crate::analysis::Timestamp;
use crate::analysis::app::{AppSettings, AppTracker, Decoded};
use crate::analysis::event::{
    ConnId, ConnectionEnd, ConnectionInfo, Direction, Event, EventSink, MessageEvent, OwnedMessage, RttSample,
    TcpHealth,
};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::ws::frame::OpCode;
use crate::query::{AppFields, ConnFacts, Filter, MessageView};

/// Most records held back behind a ping waiting for its pong.
pub const MAX_HELD_RECORDS: usize = 65_536;
/// Most payload bytes held back behind a ping waiting for its pong.
pub const MAX_HELD_BYTES: usize = 64 << 20;
/// Findings remembered per connection and direction until the message they concern.
const LOOK_BEHIND_FINDINGS: usize = 64;
/// Ping outcomes remembered per connection and direction (the analyzer keeps 64 outstanding).
const PINGS_REMEMBERED: usize = 64;

struct ConnSlot {
    info: ConnectionInfo,
    facts: ConnFacts,
    announced: bool,
    /// Findings since the last message, per direction.
    recent: [VecDeque<Finding>; 2],
    /// Recent pings per direction: time and whether they matched (decided ones only).
    pings: [VecDeque<(Timestamp, bool)>; 2],
}

enum Decision {
    Waiting,
    Print,
    Drop,
}

/// A message held back, with what was learnt about it.
struct Held {
    message: OwnedMessage,
    /// Its application-protocol value (issue 16), decoded when it arrived.
    app: Option<Decoded>,
    findings: Vec<Finding>,
    rtt_ms: Option<f64>,
    decision: Decision,
}

enum Record {
    Message(Box<Held>),
    Rtt(RttSample),
    Anomaly(Finding),
    Ended {
        conn: ConnId,
        ts: Timestamp,
        how: ConnectionEnd,
        tcp: Option<TcpHealth>,
    },
}

/// Filters analyzer events into `inner`.
pub struct FilterSink<'s, S: EventSink + ?Sized> {
    inner: &'s mut S,
    filter: Filter,
    capture_start: Timestamp,
    /// Whether messages must wait for later events (the filter reads `rtt_ms` or `finding`).
    hold: bool,
    conns: Vec<ConnSlot>,
    queue: VecDeque<Record>,
    held_bytes: usize,
    /// The last pong decided as it arrived, and whether it was printed (its RTT sample
    /// follows it).
    last_pong: Option<(ConnId, Direction, Timestamp, bool)>,
    seen: u64,
    matched: u64,
    forced: u64,
    /// Application decoding (issue 16): sees every message, so stateful protocols (MQTT
    /// version, Socket.IO attachments) decode right whatever the filter drops.
    app: Box<AppTracker>,
}

impl<'s, S: EventSink + ?Sized> FilterSink<'s, S> {
    /// `capture_start` is the capture's first packet time (the origin of `time`).
    pub fn new(inner: &'s mut S, filter: Filter, capture_start: Timestamp) -> Self {
        FilterSink {
            inner,
            hold: filter.needs_later_events(),
            filter,
            capture_start,
            conns: Vec::new(),
            queue: VecDeque::new(),
            held_bytes: 0,
            last_pong: None,
            seen: 0,
            matched: 0,
            forced: 0,
            app: Box::default(),
        }
    }

    /// Application decoding as the user chose ("decode as" rules, .proto message types).
    pub fn with_app_settings(mut self, settings: AppSettings) -> Self {
        self.app = Box::new(AppTracker::new(settings));
        self
    }

    /// Messages looked at.
    pub fn seen(&self) -> u64 {
        self.seen
    }

    /// Messages that matched.
    pub fn matched(&self) -> u64 {
        self.matched
    }

    /// Pings decided without waiting for their pong because too much was held back.
    pub fn forced(&self) -> u64 {
        self.forced
    }

    /// Decides everything still waiting (call at the end of the input).
    pub fn finish(&mut self) {
        for record in self.queue.iter_mut() {
            if let Record::Message(held) = record
                && matches!(held.decision, Decision::Waiting)
            {
                decide(&self.filter, &self.conns, self.capture_start, held, &mut self.matched);
            }
        }
        self.drain();
    }

    fn slot(&mut self, conn: ConnId) -> Option<&mut ConnSlot> {
        self.conns.get_mut(conn as usize)
    }

    /// Emits the connection record if it was not yet.
    fn announce(&mut self, conn: ConnId) {
        if let Some(slot) = self.conns.get_mut(conn as usize)
            && !slot.announced
        {
            slot.announced = true;
            self.inner.event(Event::Connection(&slot.info));
        }
    }

    fn on_message(&mut self, m: &MessageEvent<'_>) {
        self.seen += 1;
        let app = self.app.on_message(m);
        self.app.out.clear();
        let findings = self.take_findings(m);
        let must_wait = self.hold && matches!(m.opcode, OpCode::Ping | OpCode::Pong);
        if !must_wait && self.queue.is_empty() {
            // The common path: decide now, print straight from the analyzer's buffers.
            let kinds: Vec<FindingKind> = findings.iter().map(|f| f.kind).collect();
            let facts = MessageView {
                app: app.as_ref().map(|d| d as &dyn AppFields),
                ..self.facts(m, &kinds)
            };
            let matched = self.filter.matches(&facts);
            self.remember_ping(m, matched);
            if matched {
                self.matched += 1;
                self.announce(m.conn);
                for f in &findings {
                    self.inner.event(Event::Anomaly(f));
                }
                self.inner.event(Event::Message(m));
            }
            return;
        }
        let mut held = Held {
            message: OwnedMessage::from(m),
            app,
            findings,
            rtt_ms: None,
            decision: Decision::Waiting,
        };
        if !must_wait {
            decide(
                &self.filter,
                &self.conns,
                self.capture_start,
                &mut held,
                &mut self.matched,
            );
            let matched = matches!(held.decision, Decision::Print);
            self.remember_ping(m, matched);
        }
        self.held_bytes += held.message.payload.len();
        self.queue.push_back(Record::Message(Box::new(held)));
    }

    fn facts<'a>(&'a self, m: &MessageEvent<'a>, kinds: &'a [FindingKind]) -> MessageView<'a> {
        MessageView {
            findings: kinds,
            connection: self.conns.get(m.conn as usize).map(|s| &s.facts),
            ..MessageView::from_event(m, self.capture_start)
        }
    }

    fn remember_ping(&mut self, m: &MessageEvent<'_>, matched: bool) {
        if m.opcode == OpCode::Pong {
            self.last_pong = Some((m.conn, m.dir, m.ts, matched));
        }
        if m.opcode != OpCode::Ping {
            return;
        }
        if let Some(slot) = self.slot(m.conn) {
            let pings = &mut slot.pings[m.dir.index()];
            if pings.len() >= PINGS_REMEMBERED {
                pings.pop_front();
            }
            pings.push_back((m.ts, matched));
        }
    }

    /// The findings seen since the previous message of this direction that concern `m`.
    fn take_findings(&mut self, m: &MessageEvent<'_>) -> Vec<Finding> {
        let Some(slot) = self.conns.get_mut(m.conn as usize) else {
            return Vec::new();
        };
        let recent = &mut slot.recent[m.dir.index()];
        let mut mine = Vec::new();
        let mut rest = VecDeque::new();
        for f in recent.drain(..) {
            match f.stream_offset {
                Some(at) if at >= m.stream_offset => mine.push(f),
                // Before a control message, an earlier finding may concern the data message
                // whose fragments the control message interrupts: keep it for that one.
                Some(_) if m.opcode.is_control() => rest.push_back(f),
                _ => {}
            }
        }
        *recent = rest;
        mine
    }

    fn on_finding(&mut self, f: &Finding) {
        let (Some(conn), Some(dir)) = (f.conn, f.dir) else {
            return;
        };
        if f.kind == FindingKind::PongMissing {
            self.on_pong_missing(conn, dir, f);
            return;
        }
        if f.stream_offset.is_none() {
            return;
        }
        if let Some(slot) = self.slot(conn) {
            let recent = &mut slot.recent[dir.index()];
            if recent.len() >= LOOK_BEHIND_FINDINGS {
                recent.pop_front();
            }
            recent.push_back(f.clone());
        }
    }

    fn on_pong_missing(&mut self, conn: ConnId, dir: Direction, f: &Finding) {
        // A ping still waiting takes it and is decided without an RTT.
        for record in self.queue.iter_mut() {
            if let Record::Message(held) = record
                && matches!(held.decision, Decision::Waiting)
                && is_ping(&held.message, conn, dir, f.ts)
            {
                held.findings.push(f.clone());
                decide(&self.filter, &self.conns, self.capture_start, held, &mut self.matched);
                return;
            }
        }
        // A ping decided earlier: the finding is printed when the ping was.
        let printed = self
            .conns
            .get(conn as usize)
            .and_then(|s| s.pings[dir.index()].iter().find(|(ts, _)| *ts == f.ts))
            .is_some_and(|(_, matched)| *matched);
        if printed {
            self.queue.push_back(Record::Anomaly(f.clone()));
        }
    }

    fn on_rtt(&mut self, r: RttSample) {
        let rtt_ms = r.rtt_ms();
        let mut ping_printed = None;
        let mut pong_printed = None;
        for record in self.queue.iter_mut() {
            let Record::Message(held) = record else {
                continue;
            };
            let waiting = matches!(held.decision, Decision::Waiting);
            if ping_printed.is_none() && waiting && is_ping(&held.message, r.conn, r.ping_dir, r.ping_ts) {
                held.rtt_ms = Some(rtt_ms);
                decide(&self.filter, &self.conns, self.capture_start, held, &mut self.matched);
                ping_printed = Some(matches!(held.decision, Decision::Print));
            } else if waiting
                && held.message.opcode == OpCode::Pong
                && held.message.conn == r.conn
                && held.message.dir == r.ping_dir.opposite()
                && held.message.ts == r.pong_ts
            {
                held.rtt_ms = Some(rtt_ms);
                decide(&self.filter, &self.conns, self.capture_start, held, &mut self.matched);
                pong_printed = Some(matches!(held.decision, Decision::Print));
            }
        }
        // Pings and pongs decided without waiting (the filter does not read rtt_ms).
        let remembered = || {
            self.conns
                .get(r.conn as usize)
                .and_then(|s| s.pings[r.ping_dir.index()].iter().find(|(ts, _)| *ts == r.ping_ts))
                .is_some_and(|(_, matched)| *matched)
        };
        let ping = ping_printed.unwrap_or_else(remembered);
        let pong = pong_printed.unwrap_or(self.last_pong_printed(r));
        if ping || pong {
            self.queue.push_back(Record::Rtt(r));
        }
    }

    /// Whether the pong just reported (decided at once, so not in the queue) was printed:
    /// it is the message the analyzer reported right before this sample.
    fn last_pong_printed(&self, r: RttSample) -> bool {
        self.last_pong.is_some_and(|(conn, dir, ts, printed)| {
            printed && conn == r.conn && dir == r.ping_dir.opposite() && ts == r.pong_ts
        })
    }

    /// Pongs wait only for the sample that comes right after them.
    fn settle_pongs(&mut self, event: &Event<'_>) {
        let rtt_for = |held: &Held| match event {
            Event::Rtt(r) => held.message.conn == r.conn && held.message.ts == r.pong_ts,
            _ => false,
        };
        for record in self.queue.iter_mut() {
            if let Record::Message(held) = record
                && matches!(held.decision, Decision::Waiting)
                && held.message.opcode == OpCode::Pong
                && !rtt_for(held)
            {
                decide(&self.filter, &self.conns, self.capture_start, held, &mut self.matched);
            }
        }
    }

    fn on_ended(&mut self, conn: ConnId, ts: Timestamp, how: ConnectionEnd, tcp: Option<TcpHealth>) {
        for record in self.queue.iter_mut() {
            if let Record::Message(held) = record
                && matches!(held.decision, Decision::Waiting)
                && held.message.conn == conn
            {
                decide(&self.filter, &self.conns, self.capture_start, held, &mut self.matched);
            }
        }
        self.queue.push_back(Record::Ended { conn, ts, how, tcp });
    }

    /// Passes on the decided records at the front of the queue.
    fn drain(&mut self) {
        while let Some(front) = self.queue.front() {
            if let Record::Message(held) = front
                && matches!(held.decision, Decision::Waiting)
            {
                let too_much = self.queue.len() > MAX_HELD_RECORDS || self.held_bytes > MAX_HELD_BYTES;
                if !too_much {
                    return;
                }
                self.forced += 1;
                if let Some(Record::Message(held)) = self.queue.front_mut() {
                    decide(&self.filter, &self.conns, self.capture_start, held, &mut self.matched);
                }
            }
            let Some(record) = self.queue.pop_front() else {
                return;
            };
            self.emit(record);
        }
    }

    fn emit(&mut self, record: Record) {
        match record {
            Record::Message(held) => {
                self.held_bytes = self.held_bytes.saturating_sub(held.message.payload.len());
                if matches!(held.decision, Decision::Print) {
                    self.announce(held.message.conn);
                    for f in &held.findings {
                        if f.kind != FindingKind::PongMissing {
                            self.inner.event(Event::Anomaly(f));
                        }
                    }
                    let event = MessageEvent {
                        facts: held.message.facts,
                        payload: &held.message.payload,
                        compressed_payload: None,
                    };
                    self.inner.event(Event::Message(&event));
                    for f in held.findings.iter().filter(|f| f.kind == FindingKind::PongMissing) {
                        self.inner.event(Event::Anomaly(f));
                    }
                }
            }
            Record::Rtt(r) => {
                self.announce(r.conn);
                self.inner.event(Event::Rtt(r));
            }
            Record::Anomaly(f) => {
                if let Some(conn) = f.conn {
                    self.announce(conn);
                }
                self.inner.event(Event::Anomaly(&f));
            }
            Record::Ended { conn, ts, how, tcp } => {
                if self.conns.get(conn as usize).is_some_and(|s| s.announced) {
                    self.inner.event(Event::ConnectionEnded {
                        conn,
                        ts,
                        how,
                        tcp: tcp.as_ref(),
                    });
                }
            }
        }
    }
}

fn is_ping(m: &OwnedMessage, conn: ConnId, dir: Direction, ts: Timestamp) -> bool {
    m.opcode == OpCode::Ping && m.conn == conn && m.dir == dir && m.ts == ts
}

/// Evaluates a held message with what is known about it now.
fn decide(filter: &Filter, conns: &[ConnSlot], capture_start: Timestamp, held: &mut Held, matched: &mut u64) {
    let kinds: Vec<FindingKind> = held.findings.iter().map(|f| f.kind).collect();
    let m = &held.message;
    let facts = MessageView {
        rtt_ms: held.rtt_ms,
        findings: &kinds,
        connection: conns.get(m.conn as usize).map(|s| &s.facts),
        app: held.app.as_ref().map(|d| d as &dyn AppFields),
        ..MessageView::new(m.facts, &m.payload, capture_start)
    };
    let hit = filter.matches(&facts);
    if hit {
        *matched += 1;
    }
    held.decision = if hit { Decision::Print } else { Decision::Drop };
}

impl<S: EventSink + ?Sized> EventSink for FilterSink<'_, S> {
    fn event(&mut self, event: Event<'_>) {
        if self.hold {
            self.settle_pongs(&event);
        }
        match event {
            Event::Connection(info) => {
                self.app.on_connection(info);
                if info.conn as usize == self.conns.len() {
                    self.conns.push(ConnSlot {
                        info: info.clone(),
                        facts: ConnFacts::from_info(info),
                        announced: false,
                        recent: Default::default(),
                        pings: Default::default(),
                    });
                }
            }
            // A filter selects messages: flows that carry none (not WebSocket) are not shown,
            // as tshark's -Y shows only matching packets.
            Event::Frame(_) | Event::Flow(_) => {}
            Event::Message(m) => self.on_message(m),
            Event::Rtt(r) => self.on_rtt(r),
            Event::Anomaly(f) => self.on_finding(f),
            Event::ConnectionEnded { conn, ts, how, tcp } => {
                self.app.on_end(conn);
                self.on_ended(conn, ts, how, tcp.copied())
            }
        }
        self.drain();
    }

    fn pause(&mut self) {
        self.inner.pause();
    }
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
