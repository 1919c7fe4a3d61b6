//! Application decoding for the window (issue 16): each connection's messages are decoded
//! lazily — when a row is drawn, the display filter reads an app field, the text filter looks
//! for a summary, or the plots want round trips — and cached.
//!
//! Decoders keep state per connection (MQTT packets split across messages, Socket.IO binary
//! attachments joined to their event), and only per connection, so each connection decodes
//! its own messages in arrival order, up to the one asked for: showing row 90 000 of one
//! connection never decodes another connection, and sorting or filtering the table cannot
//! change what a message decodes to.

use rustc_hash::FxHashMap;

use crate::analysis::app::tracker::{AppMessage, AppOutput};
use crate::analysis::app::{AppRttSample, AppSettings, ConnApp, DecodeAs, Decoded, Hints, ProtoSchema, Protocol};
use crate::analysis::event::{ConnId, ConnectionInfo};
use crate::analysis::findings::Finding;
use crate::gui::settings::DecodeRule;
use crate::store::{MessageRow, Store};

/// Decoded trees kept in memory at most (estimated bytes). Past it only the protocol and
/// summary of new messages are kept; the detail pane decodes a message again when it is
/// selected, and the protocol tab says the cap bit.
pub const MAX_KEPT_FIELD_BYTES: usize = 128 << 20;

/// Messages of each connection decoded to find out what it carries (`any_protocol`).
const SNIFF_MESSAGES: usize = 4;

/// One connection's decoder and how far it got.
struct ConnDecode {
    app: ConnApp,
    /// The connection's messages (store indices, ascending).
    messages: Vec<u32>,
    /// `messages[..done]` have been decoded.
    done: usize,
}

/// The cached decoding of every connection in the store, under the user's "decode as" rules.
#[derive(Default)]
pub struct AppDecodeCache {
    rules: Vec<DecodeRule>,
    /// Compiled `.proto` message types per rule (same order as `rules`).
    schemas: Vec<Option<ProtoSchema>>,
    conns: FxHashMap<ConnId, ConnDecode>,
    /// `store.messages[..listed]` are in their connection's `messages`.
    listed: usize,
    decoded: FxHashMap<u32, Decoded>,
    findings: FxHashMap<u32, Vec<Finding>>,
    /// Request/answer round trips found so far, with the answering message.
    pub rtts: Vec<(u32, AppRttSample)>,
    kept_bytes: usize,
    /// Messages whose decoded tree was not kept (the memory cap bit).
    pub trees_not_kept: u64,
    /// Changes whenever the rules change (everything decoded is forgotten).
    pub generation: u64,
    /// Some connection was found to carry a recognised protocol.
    found_protocol: bool,
}

impl AppDecodeCache {
    /// Replaces the "decode as" rules; what was decoded under the old ones is forgotten.
    pub fn set_rules(&mut self, rules: Vec<DecodeRule>, schemas: Vec<Option<ProtoSchema>>) {
        let generation = self.generation + 1;
        *self = AppDecodeCache {
            rules,
            schemas,
            generation,
            ..AppDecodeCache::default()
        };
    }

    pub fn rules(&self) -> &[DecodeRule] {
        &self.rules
    }

    /// The protocol the user chose for this connection, if any.
    pub fn rule_for(&self, info: &ConnectionInfo) -> Option<&DecodeRule> {
        self.rule_index(info).and_then(|i| self.rules.get(i))
    }

    fn rule_index(&self, info: &ConnectionInfo) -> Option<usize> {
        let path = info.handshake.as_ref().and_then(|h| h.path()).unwrap_or("");
        let server = info.server.to_string();
        self.rules.iter().position(|r| r.server == server && r.path == path)
    }

    /// The decoded message, decoding its connection up to it if needed. `None` for messages
    /// of connections without a recognised protocol and for control messages.
    pub fn get(&mut self, store: &Store, index: u32) -> Option<&Decoded> {
        self.decode_upto(store, index);
        self.decoded.get(&index)
    }

    /// The one-line summary of a message (`PUBLISH sensors/t1 q1 #12`).
    pub fn summary(&mut self, store: &Store, index: u32) -> Option<&str> {
        self.get(store, index).map(|d| d.summary.as_str())
    }

    /// The decoded message with its whole tree: from the cache, or decoded again (its
    /// connection from the start) when the memory cap kept only its summary.
    pub fn full(&mut self, store: &Store, index: u32) -> Option<Decoded> {
        let d = self.get(store, index)?.clone();
        if !d.fields.is_null() {
            return Some(d);
        }
        let row = store.messages.get(index as usize)?;
        let mut app = self.new_conn_app(store, row.conn)?;
        let mut out = AppOutput::default();
        let mut last = None;
        for (i, m) in store.messages.iter().enumerate().take(index as usize + 1) {
            if m.conn == row.conn {
                last = app.decode(&app_message(store, m), &mut out);
                out.clear();
                if i == index as usize {
                    break;
                }
            }
        }
        last
    }

    /// Application findings about a message (malformed data, capped round-trip tables).
    pub fn findings(&mut self, store: &Store, index: u32) -> &[Finding] {
        self.decode_upto(store, index);
        self.findings.get(&index).map_or(&[][..], Vec::as_slice)
    }

    /// The protocol a connection was found to carry, once decoding got that far.
    pub fn protocol_of(&self, conn: ConnId) -> Option<Protocol> {
        self.conns.get(&conn).and_then(|c| c.app.protocol())
    }

    /// Decodes every connection up to the end of the store, or until `deadline`; true when
    /// everything loaded so far is decoded (the round-trip plot needs all of it).
    pub fn decode_all(&mut self, store: &Store, deadline: std::time::Instant) -> bool {
        self.list(store);
        let mut ids: Vec<ConnId> = self.conns.keys().copied().collect();
        ids.sort_unstable();
        for conn in ids {
            while let Some(c) = self.conns.get(&conn) {
                let Some(&next) = c.messages.get(c.done) else { break };
                let upto = c
                    .messages
                    .get(c.done + 1023)
                    .or(c.messages.last())
                    .copied()
                    .unwrap_or(next);
                self.decode_upto(store, upto);
                if std::time::Instant::now() >= deadline {
                    return self.all_done();
                }
            }
        }
        self.all_done()
    }

    /// Whether some connection carries a recognised protocol. Decodes the first few messages
    /// of connections not looked at yet, until `deadline`, so the answer comes without
    /// decoding whole captures (the summary column is shown only then).
    pub fn any_protocol(&mut self, store: &Store, deadline: std::time::Instant) -> bool {
        if self.found_protocol {
            return true;
        }
        self.list(store);
        let unsniffed: Vec<u32> = self
            .conns
            .values()
            .filter(|c| c.done < c.messages.len().min(SNIFF_MESSAGES))
            .filter_map(|c| c.messages.get(SNIFF_MESSAGES - 1).or(c.messages.last()).copied())
            .collect();
        for upto in unsniffed {
            self.decode_upto(store, upto);
            if std::time::Instant::now() >= deadline {
                break;
            }
        }
        self.found_protocol = self.conns.values().any(|c| c.app.protocol().is_some());
        self.found_protocol
    }

    fn all_done(&self) -> bool {
        self.conns.values().all(|c| c.done >= c.messages.len())
    }

    /// Files the store's new messages under their connections.
    fn list(&mut self, store: &Store) {
        while let Some(m) = store.messages.get(self.listed) {
            let index = self.listed as u32;
            self.listed += 1;
            if !self.conns.contains_key(&m.conn) {
                let Some(app) = self.new_conn_app(store, m.conn) else {
                    continue;
                };
                self.conns.insert(
                    m.conn,
                    ConnDecode {
                        app,
                        messages: Vec::new(),
                        done: 0,
                    },
                );
            }
            if let Some(c) = self.conns.get_mut(&m.conn) {
                c.messages.push(index);
            }
        }
    }

    fn new_conn_app(&self, store: &Store, conn: ConnId) -> Option<ConnApp> {
        let info = &store.connection(conn)?.info;
        let hints = Hints {
            subprotocol: info.handshake.as_ref().and_then(|h| h.subprotocol.clone()),
            path: info.handshake.as_ref().and_then(|h| h.path().map(str::to_owned)),
            server_port: Some(info.server.port()),
        };
        let mut settings = AppSettings::default();
        if let Some(i) = self.rule_index(info)
            && let Some(rule) = self.rules.get(i)
        {
            match Protocol::from_id(&rule.protocol) {
                Some(protocol) => settings.decode_as.push(DecodeAs {
                    server_port: None,
                    path_prefix: None,
                    protocol,
                }),
                // "none": the user turned decoding off for this connection.
                None => settings.disabled = true,
            }
            settings.proto = self.schemas.get(i).cloned().flatten();
        }
        Some(ConnApp::new(conn, hints, &settings))
    }

    /// Decodes the message's connection up to and including it.
    fn decode_upto(&mut self, store: &Store, index: u32) {
        if (index as usize) >= self.listed {
            self.list(store);
        }
        let Some(row) = store.messages.get(index as usize) else {
            return;
        };
        let Some(c) = self.conns.get_mut(&row.conn) else {
            return;
        };
        if c.messages.get(c.done).is_none_or(|&next| next > index) {
            return;
        }
        let mut out = AppOutput::default();
        while let Some(&i) = c.messages.get(c.done) {
            if i > index {
                break;
            }
            c.done += 1;
            let Some(m) = store.messages.get(i as usize) else {
                continue;
            };
            let decoded = c.app.decode(&app_message(store, m), &mut out);
            if !out.findings.is_empty() {
                self.findings.entry(i).or_default().append(&mut out.findings);
            }
            self.rtts.extend(out.rtts.drain(..).map(|r| (i, r)));
            if let Some(mut d) = decoded {
                let size = d.summary.len() + estimate_json_bytes(&d.fields);
                if self.kept_bytes + size > MAX_KEPT_FIELD_BYTES {
                    d.fields = serde_json::Value::Null;
                    self.trees_not_kept += 1;
                } else {
                    self.kept_bytes += size;
                }
                self.decoded.insert(i, d);
            }
        }
    }
}

/// A stored message as the decoders take it.
fn app_message<'s>(store: &'s Store, m: &MessageRow) -> AppMessage<'s> {
    AppMessage {
        dir: m.dir,
        ts: m.ts,
        opcode: m.opcode,
        payload: store.payload(m),
        complete: !m.truncated && m.decoded && m.payload_fully_kept(),
        stream_offset: Some(m.stream_offset),
    }
}

/// A rough size of a decoded tree in memory (for the cache's cap, not an exact count).
fn estimate_json_bytes(v: &serde_json::Value) -> usize {
    use serde_json::Value;
    match v {
        Value::Null | Value::Bool(_) | Value::Number(_) => 16,
        Value::String(s) => 24 + s.len(),
        Value::Array(a) => 24 + a.iter().map(estimate_json_bytes).sum::<usize>(),
        Value::Object(o) => {
            48 + o
                .iter()
                .map(|(k, v)| 24 + k.len() + estimate_json_bytes(v))
                .sum::<usize>()
        }
    }
}
