//! What a filter reads about one message and its connection: a small borrowed struct, so
//! every message source (analyzer events, the window's store, a HAR) adapts in one function.

use core::net::SocketAddr;
use core::ops::Deref;

use crate::analysis::Timestamp;
use crate::analysis::event::{ConnectionInfo, MessageEvent, MessageFacts};
use crate::analysis::findings::FindingKind;
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

/// Everything a filter can ask about one message: the message's own facts (the analyzer's
/// `MessageFacts`, read through `Deref`), its payload, and what other events and the
/// connection add. Cheap to build: all borrowed.
#[derive(Clone, Copy)]
pub struct MessageView<'a> {
    pub facts: MessageFacts,
    /// The payload (may be only a prefix of `facts.len` bytes when a store kept less).
    pub payload: &'a [u8],
    /// The capture's start (its first packet): `time` is `ts` minus this.
    pub capture_start: Timestamp,
    /// On a ping with its pong and on that pong.
    pub rtt_ms: Option<f64>,
    pub findings: &'a [FindingKind],
    pub connection: Option<&'a ConnFacts>,
    pub app: Option<&'a dyn AppFields>,
}

impl Deref for MessageView<'_> {
    type Target = MessageFacts;

    fn deref(&self) -> &MessageFacts {
        &self.facts
    }
}

impl<'a> MessageView<'a> {
    /// A message and its payload; RTT, findings, connection and app fields are added by the
    /// caller when it has them.
    pub fn new(facts: MessageFacts, payload: &'a [u8], capture_start: Timestamp) -> MessageView<'a> {
        MessageView {
            facts,
            payload,
            capture_start,
            rtt_ms: None,
            findings: &[],
            connection: None,
            app: None,
        }
    }

    pub fn from_event(m: &MessageEvent<'a>, capture_start: Timestamp) -> MessageView<'a> {
        MessageView::new(m.facts, m.payload, capture_start)
    }

    /// Seconds since the capture's start.
    pub fn time_secs(&self) -> f64 {
        self.ts.nanos.saturating_sub(self.capture_start.nanos) as f64 / 1e9
    }

    /// A close message's reason: the payload after the status code.
    pub fn close_reason_bytes(&self) -> Option<&'a [u8]> {
        self.close_code?;
        Some(self.payload.get(2..).unwrap_or_default())
    }
}
