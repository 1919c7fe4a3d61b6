//! Application protocols carried in WebSocket messages (Socket.IO, MQTT, STOMP, GraphQL,
//! JSON-RPC, SignalR, WAMP, Action Cable, SockJS, MessagePack, CBOR, protobuf): recognition,
//! one decoder per protocol, request/answer round trips. Pure: messages in, decoded values out.
//!
//! The entry point is [`AppTracker`]: fed the connection announcements and messages of one
//! analysis, it keeps each connection's per-direction state (MQTT bytes split across messages,
//! Socket.IO attachments waiting for their event, the SignalR hub encoding) and returns a
//! [`Decoded`] value per message, findings for malformed data and [`AppRttSample`]s.

pub mod actioncable;
pub mod binary;
pub mod detect;
pub mod engineio;
pub mod fuzzing;
pub mod graphql;
pub mod jsonrpc;
pub mod mqtt;
mod mqtt_props;
pub mod protobuf;
pub mod protobuf_schema;
pub mod rtt;
pub mod signalr;
pub mod sockjs;
pub mod stomp;
pub mod tracker;
mod util;
pub mod wamp;

use serde_json::Value;

use crate::analysis::event::{ConnId, Direction};
use crate::analysis::findings::FindingKind;
use crate::analysis::time::Timestamp;

pub use detect::{DecodeAs, Hints};
pub use protobuf_schema::ProtoSchema;
pub use rtt::{AppRttSample, PairOp};
pub use tracker::{AppSettings, AppTracker, ConnApp};

/// The protocol a decoded message belongs to; `id()` is the public name in JSON Lines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    SocketIo,
    EngineIo,
    Mqtt,
    Stomp,
    GraphQl,
    JsonRpc,
    SignalR,
    Wamp,
    ActionCable,
    SockJs,
    MsgPack,
    Cbor,
    Protobuf,
}

impl Protocol {
    pub const ALL: &'static [Protocol] = &[
        Protocol::SocketIo,
        Protocol::EngineIo,
        Protocol::Mqtt,
        Protocol::Stomp,
        Protocol::GraphQl,
        Protocol::JsonRpc,
        Protocol::SignalR,
        Protocol::Wamp,
        Protocol::ActionCable,
        Protocol::SockJs,
        Protocol::MsgPack,
        Protocol::Cbor,
        Protocol::Protobuf,
    ];

    /// The stable id of JSON Lines (`app.protocol`) and of filter fields (`mqtt.topic`).
    pub fn id(self) -> &'static str {
        match self {
            Protocol::SocketIo => "socketio",
            Protocol::EngineIo => "engineio",
            Protocol::Mqtt => "mqtt",
            Protocol::Stomp => "stomp",
            Protocol::GraphQl => "graphql",
            Protocol::JsonRpc => "jsonrpc",
            Protocol::SignalR => "signalr",
            Protocol::Wamp => "wamp",
            Protocol::ActionCable => "actioncable",
            Protocol::SockJs => "sockjs",
            Protocol::MsgPack => "msgpack",
            Protocol::Cbor => "cbor",
            Protocol::Protobuf => "protobuf",
        }
    }

    pub fn from_id(id: &str) -> Option<Protocol> {
        Protocol::ALL.iter().copied().find(|p| p.id().eq_ignore_ascii_case(id))
    }
}

/// One message's application-level meaning.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    pub protocol: Protocol,
    /// One line for the message table: `PUBLISH sensors/t1 q1 #12`, `EVENT /chat "message" ["hi"]`.
    pub summary: String,
    /// Named fields (a JSON object) that filters and the detail tree read.
    pub fields: Value,
}

/// A value read by a filter field path; borrowed from the decoded tree.
pub type FieldValue<'a> = &'a Value;

impl Decoded {
    pub fn new(protocol: Protocol, summary: String, fields: Value) -> Decoded {
        Decoded {
            protocol,
            summary,
            fields,
        }
    }

    /// The value at a filter path such as `mqtt.topic`, `stomp.header.destination`,
    /// `socketio.args.0` or `jsonrpc.error.code`. The first segment names the protocol: it
    /// must be this message's protocol, or a layer nested in its fields (a Socket.IO message
    /// answers `engineio.type`). Array elements are addressed by index.
    pub fn field(&self, path: &str) -> Option<FieldValue<'_>> {
        let mut parts = path.split('.');
        let first = parts.next()?;
        let mut node = if first == self.protocol.id() {
            &self.fields
        } else {
            self.fields.get(first).filter(|v| v.is_object())?
        };
        for part in parts {
            node = match node {
                Value::Object(map) => map.get(part).or_else(|| {
                    // Header names are case-insensitive in STOMP's and HTTP's sense.
                    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(part)).map(|(_, v)| v)
                })?,
                Value::Array(items) => items.get(part.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The decoded tree as indented text lines (`topic: sensors/t1`) for a detail pane.
    pub fn detail_lines(&self) -> Vec<String> {
        let mut lines = vec![format!("{}: {}", self.protocol.id(), self.summary)];
        util::tree_lines(&self.fields, 1, &mut lines);
        lines
    }
}

/// Malformed application data in one message, before the tracker adds where and when.
#[derive(Clone, Debug, PartialEq)]
pub struct AppFinding {
    pub kind: FindingKind,
    pub detail: String,
}

/// What a decoder may report besides its value: findings and request/answer pairing steps.
#[derive(Debug)]
pub struct DecodeCtx<'a> {
    pub conn: ConnId,
    pub dir: Direction,
    pub ts: Timestamp,
    pub findings: &'a mut Vec<AppFinding>,
    pub pairs: &'a mut Vec<PairOp>,
}

/// Runs `decode` with a client→server context at time zero, for the decoders' tests: its
/// result, and how many findings and pairing operations it made.
#[cfg(test)]
pub(crate) fn with_test_ctx<T>(decode: impl FnOnce(&mut DecodeCtx<'_>) -> T) -> (T, usize, usize) {
    let mut findings = Vec::new();
    let mut pairs = Vec::new();
    let mut ctx = DecodeCtx {
        conn: 0,
        dir: Direction::ClientToServer,
        ts: Timestamp::ZERO,
        findings: &mut findings,
        pairs: &mut pairs,
    };
    let out = decode(&mut ctx);
    (out, findings.len(), pairs.len())
}

impl DecodeCtx<'_> {
    pub fn finding(&mut self, kind: FindingKind, detail: impl Into<String>) {
        self.findings.push(AppFinding {
            kind,
            detail: detail.into(),
        });
    }

    /// A request in this message that an answer in the other direction will name by `id`.
    pub fn request(&mut self, protocol: Protocol, id: String, key: String) {
        self.pairs.push(PairOp::Request {
            protocol,
            id: bounded(id),
            key: bounded(key),
        });
    }

    /// An answer to a request the other direction sent with this `id`.
    pub fn response(&mut self, protocol: Protocol, id: String) {
        self.pairs.push(PairOp::Response {
            protocol,
            id: bounded(id),
        });
    }
}

/// Longest id or key kept for pairing, in bytes: bounds the outstanding table's memory
/// (1024 requests per connection) whatever a peer sends.
pub const MAX_PAIR_KEY_BYTES: usize = 256;

fn bounded(mut s: String) -> String {
    if s.len() > MAX_PAIR_KEY_BYTES {
        let keep = util::cut_str(&s, MAX_PAIR_KEY_BYTES).len();
        s.truncate(keep);
    }
    s
}
