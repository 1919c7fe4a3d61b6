//! Per-connection application decoding: picks each connection's protocol (forced, by
//! subprotocol, by path, by content), keeps its state, pairs requests with answers, and turns
//! decoder complaints into located findings.

use rustc_hash::FxHashMap;

use crate::analysis::app::detect::{self, DecodeAs, Hints};
use crate::analysis::app::engineio::{self, EioState};
use crate::analysis::app::mqtt::{self, MqttState};
use crate::analysis::app::rtt::{AppRttSample, PairResult, PairTable};
use crate::analysis::app::signalr::{self, SignalRState};
use crate::analysis::app::wamp::{self, WampEncoding};
use crate::analysis::app::{
    AppFinding, DecodeCtx, Decoded, PairOp, ProtoSchema, Protocol, actioncable, binary, graphql, jsonrpc, protobuf,
    sockjs, stomp, util,
};
use crate::analysis::event::{ConnId, ConnectionInfo, Direction, MessageEvent};
use crate::analysis::findings::{Finding, FindingKind};
use crate::analysis::time::Timestamp;
use crate::analysis::ws::frame::OpCode;

/// Data messages of a connection whose content is checked for a known protocol before the
/// connection is taken for plain traffic (keeps decoding nearly free on other captures).
pub const SNIFF_MESSAGES: u32 = 32;
/// Application findings of one kind per connection; the rest are counted in one
/// `finding-limit` finding.
pub const MAX_FINDINGS_PER_KIND: u32 = 100;

/// What the user chose.
#[derive(Clone, Debug, Default)]
pub struct AppSettings {
    /// "Decode as" rules, first match wins; they override every automatic choice.
    pub decode_as: Vec<DecodeAs>,
    /// No application decoding at all.
    pub disabled: bool,
    /// Message types for protobuf messages, from the user's `.proto` files.
    pub proto: Option<ProtoSchema>,
}

/// The state of the protocol a connection was found to carry.
#[derive(Debug)]
enum State {
    EngineIo(EioState),
    Mqtt(MqttState),
    SignalR(SignalRState),
    Wamp(WampEncoding),
    /// Protocols that keep no state between messages.
    Plain(Protocol),
}

impl State {
    fn new(p: Protocol, hints: &Hints) -> State {
        match p {
            Protocol::EngineIo | Protocol::SocketIo => {
                State::EngineIo(EioState::new(detect::eio_version(hints.path.as_deref())))
            }
            Protocol::Mqtt => State::Mqtt(MqttState::default()),
            Protocol::SignalR => State::SignalR(SignalRState::default()),
            Protocol::Wamp => State::Wamp(WampEncoding::from_subprotocol(hints.subprotocol.as_deref())),
            other => State::Plain(other),
        }
    }
}

#[derive(Debug)]
enum Mode {
    Sniffing { left: u32 },
    Known(Box<State>),
    Off,
}

/// One connection's application decoding.
#[derive(Debug)]
pub struct ConnApp {
    conn: ConnId,
    hints: Hints,
    mode: Mode,
    pairs: PairTable,
    finding_counts: Vec<(FindingKind, u32)>,
    proto: Option<ProtoSchema>,
}

/// What decoding a message produced besides its value.
#[derive(Debug, Default)]
pub struct AppOutput {
    pub findings: Vec<Finding>,
    pub rtts: Vec<AppRttSample>,
}

impl AppOutput {
    pub fn is_empty(&self) -> bool {
        self.findings.is_empty() && self.rtts.is_empty()
    }

    pub fn clear(&mut self) {
        self.findings.clear();
        self.rtts.clear();
    }
}

/// One message as the decoders need it.
#[derive(Clone, Copy, Debug)]
pub struct AppMessage<'a> {
    pub dir: Direction,
    pub ts: Timestamp,
    pub opcode: OpCode,
    pub payload: &'a [u8],
    /// False when the payload is not the message's exact bytes (cut by a cap or not inflated).
    pub complete: bool,
    pub stream_offset: Option<u64>,
}

impl ConnApp {
    pub fn new(conn: ConnId, hints: Hints, settings: &AppSettings) -> ConnApp {
        let forced = settings
            .decode_as
            .iter()
            .find(|r| r.matches(&hints))
            .map(|r| r.protocol);
        let chosen = forced
            .or_else(|| hints.subprotocol.as_deref().and_then(detect::by_subprotocol))
            .or_else(|| hints.path.as_deref().and_then(detect::by_path));
        let mode = match chosen {
            _ if settings.disabled => Mode::Off,
            Some(p) => Mode::Known(Box::new(State::new(p, &hints))),
            None => Mode::Sniffing { left: SNIFF_MESSAGES },
        };
        ConnApp {
            conn,
            hints,
            mode,
            pairs: PairTable::default(),
            finding_counts: Vec::new(),
            proto: settings.proto.clone(),
        }
    }

    /// The protocol this connection was found to carry, once known.
    pub fn protocol(&self) -> Option<Protocol> {
        match &self.mode {
            Mode::Known(state) => Some(match state.as_ref() {
                State::EngineIo(_) => Protocol::SocketIo,
                State::Mqtt(_) => Protocol::Mqtt,
                State::SignalR(_) => Protocol::SignalR,
                State::Wamp(_) => Protocol::Wamp,
                State::Plain(p) => *p,
            }),
            _ => None,
        }
    }

    /// Decodes one message. Control messages and incomplete payloads give `None` (an
    /// incomplete one also resets MQTT's held bytes, whose stream lost its sync).
    pub fn decode(&mut self, m: &AppMessage<'_>, out: &mut AppOutput) -> Option<Decoded> {
        let binary_message = match m.opcode {
            OpCode::Text => false,
            OpCode::Binary => true,
            _ => return None,
        };
        if let Mode::Sniffing { left } = &mut self.mode {
            match detect::by_content(m.dir, binary_message, m.payload) {
                Some(p) => self.mode = Mode::Known(Box::new(State::new(p, &self.hints))),
                None => {
                    *left = left.saturating_sub(1);
                    if *left == 0 {
                        self.mode = Mode::Off;
                    }
                    return None;
                }
            }
        }
        let Mode::Known(state) = &mut self.mode else {
            return None;
        };
        if !m.complete {
            if let State::Mqtt(st) = state.as_mut() {
                // The held bytes of a split packet cannot be joined across a loss.
                st.drop_held(m.dir);
            }
            return None;
        }
        let mut findings: Vec<AppFinding> = Vec::new();
        let mut pairs: Vec<PairOp> = Vec::new();
        let decoded = {
            let mut c = ctx(self.conn, m, &mut findings, &mut pairs);
            let schema = self.proto.as_ref().and_then(|p| p.for_dir(m.dir));
            decode_with(state, binary_message, m.payload, schema, &mut c)
        };
        for f in findings {
            self.push_finding(m, f, out);
        }
        for op in pairs {
            match self.pairs.apply(self.conn, m.dir, m.ts, op) {
                PairResult::Nothing => {}
                PairResult::Sample(s) => out.rtts.push(s),
                PairResult::Dropped(n) => self.push_finding(
                    m,
                    AppFinding {
                        kind: FindingKind::AppRttLimit,
                        detail: format!(
                            "{n} request(s) dropped unanswered: more than {} outstanding",
                            crate::analysis::app::rtt::MAX_OUTSTANDING_PER_CONN
                        ),
                    },
                    out,
                ),
            }
        }
        decoded
    }

    fn push_finding(&mut self, m: &AppMessage<'_>, f: AppFinding, out: &mut AppOutput) {
        let count = match self.finding_counts.iter_mut().find(|(k, _)| *k == f.kind) {
            Some((_, n)) => {
                *n = n.saturating_add(1);
                *n
            }
            None => {
                self.finding_counts.push((f.kind, 1));
                1
            }
        };
        let (kind, detail) = match count {
            n if n <= MAX_FINDINGS_PER_KIND => (f.kind, f.detail),
            n if n == MAX_FINDINGS_PER_KIND + 1 => (
                FindingKind::FindingLimit,
                format!(
                    "more than {MAX_FINDINGS_PER_KIND} {} findings; the rest are not reported",
                    f.kind.slug()
                ),
            ),
            _ => return,
        };
        out.findings.push(Finding {
            kind,
            conn: Some(self.conn),
            dir: Some(m.dir),
            ts: m.ts,
            stream_offset: m.stream_offset,
            detail,
        });
    }
}

fn ctx<'a>(
    conn: ConnId,
    m: &AppMessage<'_>,
    findings: &'a mut Vec<AppFinding>,
    pairs: &'a mut Vec<PairOp>,
) -> DecodeCtx<'a> {
    DecodeCtx {
        conn,
        dir: m.dir,
        ts: m.ts,
        findings,
        pairs,
    }
}

fn decode_with(
    state: &mut State,
    binary_message: bool,
    payload: &[u8],
    schema: Option<&prost_reflect::MessageDescriptor>,
    c: &mut DecodeCtx<'_>,
) -> Option<Decoded> {
    match state {
        State::EngineIo(st) => engineio::decode(st, binary_message, payload, c),
        State::Mqtt(st) => {
            if !binary_message {
                c.finding(
                    FindingKind::MqttMalformed,
                    "MQTT over WebSocket must use binary messages",
                );
            }
            mqtt::decode(st, payload, c)
        }
        State::SignalR(st) => signalr::decode(st, binary_message, payload, c),
        State::Wamp(enc) => wamp::decode(*enc, binary_message, payload, c),
        State::Plain(p) => {
            let text = if binary_message { None } else { util::utf8(payload) };
            match (*p, text) {
                (Protocol::Stomp, _) => stomp::decode(payload, c),
                (Protocol::GraphQl, Some(t)) => graphql::decode(t, c),
                (Protocol::JsonRpc, Some(t)) => jsonrpc::decode(t, c),
                (Protocol::ActionCable, Some(t)) => actioncable::decode(t, c),
                (Protocol::SockJs, Some(t)) => sockjs::decode(t, c),
                // Binary encodings live in binary messages; text beside them is left alone.
                (p @ (Protocol::MsgPack | Protocol::Cbor), _) if binary_message => binary::decode(p, payload, c),
                (Protocol::Protobuf, _) if binary_message => match schema {
                    Some(desc) => protobuf::decode_with_schema(desc, payload, c),
                    None => protobuf::decode(payload, c),
                },
                _ => None,
            }
        }
    }
}

/// Application decoding for every connection of one analysis.
#[derive(Debug, Default)]
pub struct AppTracker {
    pub settings: AppSettings,
    conns: FxHashMap<ConnId, ConnApp>,
    /// Findings and round trips of the last message decoded; the caller drains them.
    pub out: AppOutput,
}

impl AppTracker {
    pub fn new(settings: AppSettings) -> AppTracker {
        AppTracker {
            settings,
            conns: FxHashMap::default(),
            out: AppOutput::default(),
        }
    }

    pub fn on_connection(&mut self, c: &ConnectionInfo) {
        let hints = Hints {
            subprotocol: c.handshake.as_ref().and_then(|h| h.subprotocol.clone()),
            path: c.handshake.as_ref().and_then(|h| h.path().map(str::to_owned)),
            server_port: Some(c.server.port()),
        };
        self.conns.insert(c.conn, ConnApp::new(c.conn, hints, &self.settings));
    }

    /// Decodes a message; findings and round trips it produced are added to `self.out`.
    pub fn on_message(&mut self, m: &MessageEvent<'_>) -> Option<Decoded> {
        let app = self.conns.get_mut(&m.conn)?;
        if matches!(app.mode, Mode::Off) {
            return None;
        }
        let msg = AppMessage {
            dir: m.dir,
            ts: m.ts,
            opcode: m.opcode,
            payload: m.payload,
            complete: !m.truncated && m.decoded,
            stream_offset: Some(m.stream_offset),
        };
        app.decode(&msg, &mut self.out)
    }

    /// Forgets a connection that ended (its unanswered requests are dropped silently).
    pub fn on_end(&mut self, conn: ConnId) {
        self.conns.remove(&conn);
    }

    pub fn protocol_of(&self, conn: ConnId) -> Option<Protocol> {
        self.conns.get(&conn).and_then(ConnApp::protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(dir: Direction, opcode: OpCode, payload: &[u8]) -> AppMessage<'_> {
        AppMessage {
            dir,
            ts: Timestamp::ZERO,
            opcode,
            payload,
            complete: true,
            stream_offset: None,
        }
    }

    #[test]
    fn a_connection_without_known_shapes_stops_being_sniffed() {
        let mut app = ConnApp::new(0, Hints::default(), &AppSettings::default());
        let mut out = AppOutput::default();
        for _ in 0..SNIFF_MESSAGES {
            assert!(
                app.decode(&msg(Direction::ClientToServer, OpCode::Text, b"{\"x\":1}"), &mut out)
                    .is_none()
            );
        }
        // Too late: JSON-RPC after 32 plain messages is not looked for any more.
        let rpc = br#"{"jsonrpc":"2.0","method":"m","id":1}"#;
        assert!(
            app.decode(&msg(Direction::ClientToServer, OpCode::Text, rpc), &mut out)
                .is_none()
        );
        assert!(out.is_empty());
    }

    #[test]
    fn malformed_data_findings_are_capped_per_kind_with_one_limit_finding() {
        let settings = AppSettings {
            decode_as: vec![DecodeAs::parse("jsonrpc").unwrap()],
            ..AppSettings::default()
        };
        let mut app = ConnApp::new(3, Hints::default(), &settings);
        let mut out = AppOutput::default();
        for _ in 0..MAX_FINDINGS_PER_KIND + 10 {
            app.decode(&msg(Direction::ServerToClient, OpCode::Text, b"not json"), &mut out);
        }
        let limits = out
            .findings
            .iter()
            .filter(|f| f.kind == FindingKind::FindingLimit)
            .count();
        assert_eq!(out.findings.len() as u32, MAX_FINDINGS_PER_KIND + 1);
        assert_eq!(limits, 1);
        assert!(out.findings.iter().all(|f| f.conn == Some(3)));
    }

    #[test]
    fn an_mqtt_packet_split_by_a_lost_message_is_not_joined_across_the_loss() {
        let hints = Hints {
            subprotocol: Some("mqtt".into()),
            ..Hints::default()
        };
        let mut app = ConnApp::new(0, hints, &AppSettings::default());
        let mut out = AppOutput::default();
        let c2s = Direction::ClientToServer;
        // The first half of a PINGREQ-sized PUBLISH header, then a lost message.
        app.decode(&msg(c2s, OpCode::Binary, &[0x30, 0x05, 0x00]), &mut out);
        let mut lost = msg(c2s, OpCode::Binary, &[0x01]);
        lost.complete = false;
        assert!(app.decode(&lost, &mut out).is_none());
        let d = app.decode(&msg(c2s, OpCode::Binary, &[0xc0, 0x00]), &mut out).unwrap();
        assert_eq!(d.summary, "PINGREQ");
    }
}
