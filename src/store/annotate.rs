//! What other events say about a stored message: its ping/pong round trip and the findings
//! that point at it. Built from the store's RTT samples and findings, kept up to date as
//! they grow, and used by the table's RTT column, its sort and the display filter.

use rustc_hash::FxHashMap;

use crate::analysis::event::{ConnId, Direction};
use crate::analysis::findings::FindingKind;
use crate::query::{ConnFacts, MessageView};
use crate::store::Store;

/// Per-message extras. `refresh` takes in what arrived since the last call.
#[derive(Default)]
pub struct Annotations {
    /// RTT by (connection, direction, message time): a ping at its time, its pong at its own.
    rtt_at: FxHashMap<(ConnId, u8, i64), f64>,
    rtts_seen: usize,
    findings: FxHashMap<u32, Vec<FindingKind>>,
    /// The message each placed finding points at, by index into `Store::findings`.
    finding_message: FxHashMap<usize, u32>,
    findings_seen: usize,
    /// Findings whose message has not arrived yet.
    pending: Vec<usize>,
    /// Messages by (connection, direction) in stream order, to place findings.
    by_stream: FxHashMap<(ConnId, u8), Vec<(u64, u32)>>,
    messages_seen: usize,
    conn_facts: Vec<ConnFacts>,
}

impl Annotations {
    /// Takes in the store's new messages, RTT samples, findings and connections.
    pub fn refresh(&mut self, store: &Store) {
        for (i, m) in store.messages.iter().enumerate().skip(self.messages_seen) {
            self.by_stream
                .entry((m.conn, m.dir.index() as u8))
                .or_default()
                .push((m.stream_offset, i as u32));
        }
        self.messages_seen = store.messages.len();
        for r in store.rtts.iter().skip(self.rtts_seen) {
            let pong_dir = match r.ping_dir {
                Direction::ClientToServer => Direction::ServerToClient,
                Direction::ServerToClient => Direction::ClientToServer,
            };
            let ms = r.rtt_ms().max(0.0);
            self.rtt_at
                .insert((r.conn, r.ping_dir.index() as u8, r.ping_ts.nanos), ms);
            self.rtt_at
                .insert((r.conn, pong_dir.index() as u8, r.pong_ts.nanos), ms);
        }
        self.rtts_seen = store.rtts.len();
        // Findings may point at messages that arrive later: those wait in `pending` until
        // their message exists or their connection has ended.
        self.pending.extend(self.findings_seen..store.findings.len());
        self.findings_seen = store.findings.len();
        let mut still = Vec::new();
        for index in std::mem::take(&mut self.pending) {
            let Some(f) = store.findings.get(index).map(|r| &r.finding) else {
                continue;
            };
            let (Some(conn), Some(dir), Some(offset)) = (f.conn, f.dir, f.stream_offset) else {
                continue;
            };
            let ended = store.connection(conn).is_some_and(|c| c.end.is_some());
            let list = self.by_stream.get(&(conn, dir.index() as u8));
            let at = list.map_or(0, |l| l.partition_point(|&(o, _)| o < offset));
            // The message a finding points at: the first of its connection and direction
            // that starts at or after the finding's stream offset (the message a gap cut
            // into, or the first after it), else (once the connection has ended) the last
            // one before it.
            let message = match list.and_then(|l| l.get(at)) {
                Some(&(_, m)) => Some(m),
                None if ended => list.and_then(|l| l.last()).map(|&(_, m)| m),
                None => {
                    still.push(index);
                    continue;
                }
            };
            if let Some(m) = message {
                self.findings.entry(m).or_default().push(f.kind);
                self.finding_message.insert(index, m);
            }
        }
        self.pending = still;
        while self.conn_facts.len() < store.connections.len() {
            let Some(c) = store.connections.get(self.conn_facts.len()) else {
                break;
            };
            self.conn_facts.push(ConnFacts::from_info(&c.info));
        }
    }

    /// The round trip of a ping or pong (`None` for other messages and unanswered pings).
    pub fn rtt_ms(&self, store: &Store, message: u32) -> Option<f64> {
        let m = store.messages.get(message as usize)?;
        if !m.opcode.is_control() {
            return None;
        }
        self.rtt_at.get(&(m.conn, m.dir.index() as u8, m.ts.nanos)).copied()
    }

    /// The message the finding `index` (into `Store::findings`) points at, once placed.
    pub fn message_of_finding(&self, index: usize) -> Option<u32> {
        self.finding_message.get(&index).copied()
    }

    pub fn findings(&self, message: u32) -> &[FindingKind] {
        self.findings.get(&message).map_or(&[], Vec::as_slice)
    }

    /// Everything the display filter can ask about a stored message.
    pub fn view<'a>(&'a self, store: &'a Store, message: u32) -> Option<MessageView<'a>> {
        let m = store.messages.get(message as usize)?;
        let capture_start = store.capture_start().unwrap_or(m.ts);
        Some(MessageView {
            rtt_ms: self.rtt_ms(store, message),
            findings: self.findings(message),
            connection: self.conn_facts.get(m.conn as usize),
            ..MessageView::new(m.facts, store.payload(m), capture_start)
        })
    }
}
