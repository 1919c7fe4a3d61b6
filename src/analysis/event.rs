//! The one event type that live and sniffed traffic both produce, and the sink that receives it.

use core::net::SocketAddr;
use std::borrow::Cow;
use std::ops::Deref;

use crate::analysis::findings::Finding;
use crate::analysis::http::Handshake;
use crate::analysis::time::Timestamp;
use crate::analysis::ws::frame::{FrameHeader, OpCode};

/// Connection number, in the order connections were recognised as WebSocket.
pub type ConnId = u32;

/// Which way bytes travel on a WebSocket connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }

    pub fn opposite(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// 0 for client→server, 1 for server→client: an index into per-direction arrays.
    pub fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }
}

/// A WebSocket connection, announced once before any event that names it.
#[derive(Clone, Debug, PartialEq)]
pub struct ConnectionInfo {
    pub conn: ConnId,
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// `None` when the capture starts after the upgrade (found by frame heuristics).
    pub handshake: Option<Handshake>,
    pub first_ts: Timestamp,
    /// Set when the connection ran over TLS (wss://).
    pub tls: Option<TlsInfo>,
    /// The HTTP/2 stream that carries it (RFC 8441); `client`/`server` are then the TCP
    /// endpoints of the HTTP/2 connection, which may carry several WebSocket streams.
    pub h2_stream: Option<u32>,
}

/// The TLS facts of a connection or flow (`"tls"` in JSON Lines).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsInfo {
    /// "1.2", "1.3"; `None` when no ServerHello was captured.
    pub version: Option<String>,
    /// IANA name, e.g. "TLS_AES_128_GCM_SHA256".
    pub cipher_suite: Option<String>,
    pub sni: Option<String>,
    /// The protocol the server chose (ALPN).
    pub alpn: Option<String>,
    pub decrypted: bool,
    /// TLS 1.3 0-RTT: "accepted" or "rejected" when the client sent early data.
    pub early_data: Option<&'static str>,
    /// The ClientHello's random: names the connection's lines in a key log.
    pub client_random: Option<[u8; 32]>,
}

impl TlsInfo {
    /// "TLS 1.3 TLS_AES_128_GCM_SHA256  SNI host  ALPN -  decrypted" (and "  0-RTT accepted"
    /// or "rejected" when the client sent early data): for the report and the window's
    /// tooltips.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "TLS {} {}  SNI {}  ALPN {}  {}",
            self.version.as_deref().unwrap_or("?"),
            self.cipher_suite.as_deref().unwrap_or("?"),
            self.sni.as_deref().unwrap_or("-"),
            self.alpn.as_deref().unwrap_or("-"),
            if self.decrypted { "decrypted" } else { "not decrypted" }
        );
        if let Some(early) = self.early_data {
            text.push_str("  0-RTT ");
            text.push_str(early);
        }
        text
    }
}

/// A flow worth listing that carries no WebSocket connection (a TLS connection without a
/// key, an HTTPS page load, …): a `flow` record in JSON Lines.
#[derive(Clone, Debug, PartialEq)]
pub struct FlowInfo {
    pub client: SocketAddr,
    pub server: SocketAddr,
    /// "tls", "http", "http2" or "tcp".
    pub protocol: &'static str,
    pub tls: Option<TlsInfo>,
    /// Why it is not a WebSocket connection.
    pub reason: String,
    pub first_ts: Timestamp,
    pub last_ts: Timestamp,
    /// A plain request on this HTTP/2 stream (the connection's other streams are listed
    /// on their own).
    pub h2_stream: Option<u32>,
    /// A connection attempt that got no connection (refused or unanswered SYN): the
    /// attempts from this client port so far, this one included.
    pub attempts: Option<u32>,
}

/// How a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionEnd {
    /// Both sides sent a close frame (or the TCP connection closed after one did).
    Closed,
    /// TCP FIN without a WebSocket close handshake.
    TcpClosed,
    /// TCP RST.
    Reset,
    /// The capture ended while the connection was open.
    CaptureEnded,
    /// The flow table was full and this flow was evicted.
    Evicted,
}

impl ConnectionEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectionEnd::Closed => "closed",
            ConnectionEnd::TcpClosed => "tcp-closed",
            ConnectionEnd::Reset => "reset",
            ConnectionEnd::CaptureEnded => "capture-ended",
            ConnectionEnd::Evicted => "evicted",
        }
    }
}

/// What TCP did under a connection, one entry per direction (`Direction::index`): the
/// connection's end event carries it when the source had packets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpHealth {
    pub dirs: [TcpDirHealth; 2],
}

/// One direction's TCP counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TcpDirHealth {
    /// Segments sent this way (with or without payload).
    pub segments: u64,
    /// Segments whose every byte had been received already (retransmissions the capture
    /// saw twice, spurious or not).
    pub retransmissions: u64,
    /// Payload bytes received more than once.
    pub duplicate_bytes: u64,
    /// Segments that arrived ahead of a hole (reordered, or sent after a lost one).
    pub out_of_order: u64,
    /// Holes given up on (never captured, or cut by the snap length) and their bytes.
    pub gaps: u64,
    pub gap_bytes: u64,
    /// Later copies of bytes that differed from the first (`tcp-overlap-conflict`).
    pub overlap_conflicts: u64,
    /// Zero-window periods the receiver advertised (this direction's sender had to stop:
    /// backpressure) and their total length in microseconds.
    pub zero_windows: u64,
    pub zero_window_micros: u64,
}

impl TcpDirHealth {
    /// True when nothing went wrong this way.
    pub fn is_clean(&self) -> bool {
        self.retransmissions == 0
            && self.out_of_order == 0
            && self.gaps == 0
            && self.overlap_conflicts == 0
            && self.zero_windows == 0
    }
}

/// One frame as it was on the wire (for frame anatomy and frame tables).
#[derive(Clone, Debug, PartialEq)]
pub struct FrameEvent {
    pub conn: ConnId,
    pub dir: Direction,
    pub ts: Timestamp,
    pub header: FrameHeader,
    /// Offset of the frame's first header byte in the direction's TCP byte stream.
    pub stream_offset: u64,
}

/// A message's facts: everything about one whole message (unmasked, joined, inflated;
/// control frames are messages too) except its payload bytes. Small and `Copy`: events, the
/// window's store, exports and tests all carry this one type, with the payload held beside
/// it (borrowed in events, in an arena in the store, owned in `OwnedMessage`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MessageFacts {
    pub conn: ConnId,
    pub dir: Direction,
    /// Time of the packet that completed the message.
    pub ts: Timestamp,
    /// Time of the packet that carried the first frame header.
    pub first_ts: Timestamp,
    pub opcode: OpCode,
    pub frames: u32,
    pub compressed: bool,
    /// Bytes on the wire: every frame's header, mask and payload.
    pub wire_len: u64,
    /// Decoded payload length (the payload is exactly this long unless `truncated`).
    pub len: u64,
    /// True when a size cap cut the payload (a finding says so too).
    pub truncated: bool,
    /// False when an RSV1 message could not be inflated: the payload is then the raw bytes.
    pub decoded: bool,
    /// A close message's status code, when its body has one. Its reason is the rest of the
    /// body: see [`MessageFacts::close_reason`].
    pub close_code: Option<u16>,
    /// Offset of the first frame in the direction's TCP byte stream.
    pub stream_offset: u64,
}

impl MessageFacts {
    /// A whole message sent as one unmasked frame (as a server sends it), decoded and
    /// uncompressed: the starting point for sources without frames (HAR files) and for tests,
    /// which change what differs with struct update syntax.
    pub fn one_frame(conn: ConnId, dir: Direction, opcode: OpCode, ts: Timestamp, len: u64) -> MessageFacts {
        let header_len = match len {
            0..=125 => 2,
            126..=65_535 => 4,
            _ => 10,
        };
        MessageFacts {
            conn,
            dir,
            ts,
            first_ts: ts,
            opcode,
            frames: 1,
            compressed: false,
            wire_len: len + header_len,
            len,
            truncated: false,
            decoded: true,
            close_code: None,
            stream_offset: 0,
        }
    }

    /// A close message's reason, read from its payload (bytes after the status code);
    /// invalid UTF-8 is shown with replacement characters (a finding reports it).
    pub fn close_reason<'p>(&self, payload: &'p [u8]) -> Option<Cow<'p, str>> {
        self.close_code?;
        Some(String::from_utf8_lossy(payload.get(2..).unwrap_or(&[])))
    }
}

/// A message as the analyzer reports it: its facts and borrowed payload bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MessageEvent<'a> {
    pub facts: MessageFacts,
    /// The decoded payload (exactly `len` bytes unless `truncated`).
    pub payload: &'a [u8],
    /// For a compressed message, its payload as sent (frames joined, unmasked, still
    /// compressed, without the `00 00 ff ff` tail): for teaching views, not for exports.
    pub compressed_payload: Option<&'a [u8]>,
}

impl MessageEvent<'_> {
    pub fn close_reason(&self) -> Option<Cow<'_, str>> {
        self.facts.close_reason(self.payload)
    }
}

impl Deref for MessageEvent<'_> {
    type Target = MessageFacts;

    fn deref(&self) -> &MessageFacts {
        &self.facts
    }
}

/// One ping matched with its pong.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RttSample {
    pub conn: ConnId,
    pub ping_dir: Direction,
    pub ping_ts: Timestamp,
    pub pong_ts: Timestamp,
}

impl RttSample {
    pub fn rtt_ms(&self) -> f64 {
        self.pong_ts.millis_since(self.ping_ts)
    }
}

/// Everything the analyzer reports, in causal order.
#[derive(Debug)]
pub enum Event<'a> {
    Connection(&'a ConnectionInfo),
    Frame(&'a FrameEvent),
    Message(&'a MessageEvent<'a>),
    Rtt(RttSample),
    Anomaly(&'a Finding),
    ConnectionEnded {
        conn: ConnId,
        ts: Timestamp,
        how: ConnectionEnd,
        /// The TCP connection's counters, when the source had packets.
        tcp: Option<&'a TcpHealth>,
    },
    /// A flow that ended without carrying a WebSocket connection but is worth listing.
    Flow(&'a FlowInfo),
}

/// Receives events. Payload slices borrow the analyzer's buffers: copy what you keep.
pub trait EventSink {
    fn event(&mut self, event: Event<'_>);

    /// The source has handed over everything it has for now (a live tap calls this after
    /// each read or write it analysed): a sink that batches should pass on what it holds, so
    /// a person watching sees it without waiting for more traffic. Sources that run to the
    /// end of a file need not call it.
    fn pause(&mut self) {}
}

/// Collects owned copies of events: for tests and small captures.
#[derive(Default, Debug)]
pub struct CollectSink {
    pub connections: Vec<ConnectionInfo>,
    pub frames: Vec<FrameEvent>,
    pub messages: Vec<OwnedMessage>,
    pub rtts: Vec<RttSample>,
    pub findings: Vec<Finding>,
    pub ends: Vec<(ConnId, ConnectionEnd)>,
    /// The TCP counters of connections whose end carried them.
    pub tcp: Vec<(ConnId, TcpHealth)>,
    pub flows: Vec<FlowInfo>,
}

/// An owned copy of a [`MessageEvent`] (without the compressed bytes).
#[derive(Clone, Debug, PartialEq)]
pub struct OwnedMessage {
    pub facts: MessageFacts,
    pub payload: Vec<u8>,
}

impl OwnedMessage {
    pub fn close_reason(&self) -> Option<Cow<'_, str>> {
        self.facts.close_reason(&self.payload)
    }
}

impl Deref for OwnedMessage {
    type Target = MessageFacts;

    fn deref(&self) -> &MessageFacts {
        &self.facts
    }
}

impl From<&MessageEvent<'_>> for OwnedMessage {
    fn from(m: &MessageEvent<'_>) -> Self {
        OwnedMessage {
            facts: m.facts,
            payload: m.payload.to_vec(),
        }
    }
}

impl CollectSink {
    /// Findings of one kind, by slug.
    pub fn findings_of(&self, slug: &str) -> Vec<&Finding> {
        self.findings.iter().filter(|f| f.kind.slug() == slug).collect()
    }
}

/// Passes events on with a source's connection numbers replaced by numbers in a sink that
/// several sources fill (each live session's analyzer counts its connections from 0).
/// Events naming a connection the source never announced are dropped.
pub struct Renumber<'a, S: EventSink + ?Sized> {
    pub inner: &'a mut S,
    /// The shared number of each of the source's connections, indexed by its own number.
    pub map: &'a mut Vec<ConnId>,
    /// The shared number the next announced connection gets.
    pub next: ConnId,
}

impl<S: EventSink + ?Sized> Renumber<'_, S> {
    fn shared(&self, own: ConnId) -> Option<ConnId> {
        self.map.get(own as usize).copied()
    }
}

impl<S: EventSink + ?Sized> EventSink for Renumber<'_, S> {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connection(c) => {
                // Sources announce their connections in order: 0, 1, 2…
                if c.conn as usize != self.map.len() {
                    return;
                }
                self.map.push(self.next);
                let info = ConnectionInfo {
                    conn: self.next,
                    ..c.clone()
                };
                self.next += 1;
                self.inner.event(Event::Connection(&info));
            }
            Event::Frame(f) => {
                if let Some(conn) = self.shared(f.conn) {
                    self.inner.event(Event::Frame(&FrameEvent { conn, ..f.clone() }));
                }
            }
            Event::Message(m) => {
                if let Some(conn) = self.shared(m.conn) {
                    let facts = MessageFacts { conn, ..m.facts };
                    self.inner.event(Event::Message(&MessageEvent { facts, ..*m }));
                }
            }
            Event::Rtt(r) => {
                if let Some(conn) = self.shared(r.conn) {
                    self.inner.event(Event::Rtt(RttSample { conn, ..r }));
                }
            }
            Event::Anomaly(f) => match f.conn {
                None => self.inner.event(Event::Anomaly(f)),
                Some(own) => {
                    if let Some(conn) = self.shared(own) {
                        let finding = Finding {
                            conn: Some(conn),
                            ..f.clone()
                        };
                        self.inner.event(Event::Anomaly(&finding));
                    }
                }
            },
            Event::ConnectionEnded { conn, ts, how, tcp } => {
                if let Some(conn) = self.shared(conn) {
                    self.inner.event(Event::ConnectionEnded { conn, ts, how, tcp });
                }
            }
            Event::Flow(f) => self.inner.event(Event::Flow(f)),
        }
    }

    fn pause(&mut self) {
        self.inner.pause();
    }
}

impl EventSink for CollectSink {
    fn event(&mut self, event: Event<'_>) {
        match event {
            Event::Connection(c) => self.connections.push(c.clone()),
            Event::Frame(f) => self.frames.push(f.clone()),
            Event::Message(m) => self.messages.push(OwnedMessage::from(m)),
            Event::Rtt(r) => self.rtts.push(r),
            Event::Anomaly(f) => self.findings.push(f.clone()),
            Event::ConnectionEnded { conn, how, tcp, .. } => {
                self.ends.push((conn, how));
                if let Some(tcp) = tcp {
                    self.tcp.push((conn, *tcp));
                }
            }
            Event::Flow(f) => self.flows.push(f.clone()),
        }
    }
}
