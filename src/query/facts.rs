//! What a filter reads about one message and its connection: a small borrowed struct, so
//! every message source (analyzer events, the window's store, a HAR) adapts in one function.

use core::net::SocketAddr;

use crate::analysis::Timestamp;
use crate::analysis::event::{ConnId, ConnectionInfo, Direction, MessageEvent};
use crate::analysis::findings::FindingKind;
use crate::analysis::ws::frame::OpCode;
use crate::query::json::Leaf;

/// Connection facts, built once per connection (endpoints rendered to text once).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConnFacts {
    /// `127.0.0.1:50432`, `[::1]:443`.
    pub client: String,
    pub server: String,
    pub client_ip: String,
    pub client_port: u16,
    pub server_ip: String,
    pub server_port: u16,
    pub path: Option<String>,
    pub host: Option<String>,
    pub subprotocol: Option<String>,
}

impl ConnFacts {
    pub fn new(client: SocketAddr, server: SocketAddr) -> ConnFacts {
        ConnFacts {
            client: client.to_string(),
            server: server.to_string(),
            client_ip: client.ip().to_string(),
            client_port: client.port(),
            server_ip: server.ip().to_string(),
            server_port: server.port(),
            ..ConnFacts::default()
        }
    }

    pub fn from_info(info: &ConnectionInfo) -> ConnFacts {
        let hs = info.handshake.as_ref();
        ConnFacts {
            path: hs.and_then(|h| h.path()).map(str::to_owned),
            host: hs
                .and_then(|h| h.request.as_ref())
                .and_then(|r| r.header("host"))
                .map(str::to_owned),
            subprotocol: hs.and_then(|h| h.subprotocol.clone()),
            ..ConnFacts::new(info.client, info.server)
        }
    }
}

/// Values of application-protocol fields (`mqtt.topic`), supplied by the decoders of
/// `analysis::app` for one message. A registered field this returns `None` for is absent.
pub trait AppFields {
    fn field(&self, name: &str) -> Option<Leaf>;
}

/// Everything a filter can ask about one message. Cheap to build: all borrowed.
#[derive(Clone, Copy)]
pub struct MessageFacts<'a> {
    pub conn: ConnId,
    pub dir: Direction,
    pub opcode: OpCode,
    /// Decoded payload length (may exceed `payload.len()` when only a prefix was kept).
    pub len: u64,
    pub wire_len: u64,
    pub frames: u32,
    pub compressed: bool,
    pub truncated: bool,
    pub decoded: bool,
    /// When the message completed.
    pub ts: Timestamp,
    /// The capture's start (its first packet): `time` is `ts` minus this.
    pub capture_start: Timestamp,
    pub close_code: Option<u16>,
    pub close_reason: Option<&'a str>,
    pub payload: &'a [u8],
    /// On a ping with its pong and on that pong.
    pub rtt_ms: Option<f64>,
    pub findings: &'a [FindingKind],
    pub connection: Option<&'a ConnFacts>,
    pub app: Option<&'a dyn AppFields>,
}

impl<'a> MessageFacts<'a> {
    /// Facts of an analyzer message; RTT, findings, connection and app fields are added by
    /// the caller when it has them.
    pub fn from_event(m: &MessageEvent<'a>, capture_start: Timestamp) -> MessageFacts<'a> {
        MessageFacts {
            conn: m.conn,
            dir: m.dir,
            opcode: m.opcode,
            len: m.payload.len() as u64,
            wire_len: m.wire_len,
            frames: m.frames,
            compressed: m.compressed,
            truncated: m.truncated,
            decoded: m.decoded,
            ts: m.ts,
            capture_start,
            close_code: m.close_code,
            close_reason: m.close_reason,
            payload: m.payload,
            rtt_ms: None,
            findings: &[],
            connection: None,
            app: None,
        }
    }

    /// Seconds since the capture's start.
    pub fn time_secs(&self) -> f64 {
        self.ts.nanos.saturating_sub(self.capture_start.nanos) as f64 / 1e9
    }
}
