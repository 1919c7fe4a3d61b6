//! Tests of `sink`.
use super::*;
use crate::analysis::event::{CollectSink, MessageFacts};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn ts(ms: i64) -> Timestamp {
    Timestamp::from_nanos(ms * 1_000_000)
}

fn message(dir: Direction, opcode: OpCode, at_ms: i64, offset: u64, payload: &[u8]) -> MessageEvent<'_> {
    MessageEvent {
        facts: MessageFacts {
            wire_len: payload.len() as u64 + 2,
            stream_offset: offset,
            ..MessageFacts::one_frame(0, dir, opcode, ts(at_ms), payload.len() as u64)
        },
        payload,
        compressed_payload: None,
    }
}

fn finding(kind: FindingKind, dir: Direction, at_ms: i64, offset: Option<u64>) -> Finding {
    Finding {
        kind,
        conn: Some(0),
        dir: Some(dir),
        ts: ts(at_ms),
        stream_offset: offset,
        detail: String::new(),
    }
}

/// Connection 0; an invalid-UTF-8 text (its finding first); a ping answered (RTT 1 ms)
/// with a server text between them; a ping never answered (pong-missing at the end).
fn session(sink: &mut dyn EventSink) {
    let info = ConnectionInfo {
        conn: 0,
        client: "127.0.0.1:1".parse().expect("addr"),
        server: "127.0.0.1:2".parse().expect("addr"),
        handshake: None,
        first_ts: ts(0),
        tls: None,
        h2_stream: None,
    };
    sink.event(Event::Connection(&info));
    sink.event(Event::Anomaly(&finding(FindingKind::InvalidUtf8, C2S, 1, Some(10))));
    sink.event(Event::Message(&message(C2S, OpCode::Text, 1, 10, b"\xff")));
    sink.event(Event::Message(&message(C2S, OpCode::Ping, 5, 20, b"p")));
    sink.event(Event::Message(&message(S2C, OpCode::Text, 5, 40, b"between")));
    sink.event(Event::Message(&message(S2C, OpCode::Pong, 6, 50, b"p")));
    sink.event(Event::Rtt(RttSample {
        conn: 0,
        ping_dir: C2S,
        ping_ts: ts(5),
        pong_ts: ts(6),
    }));
    sink.event(Event::Message(&message(C2S, OpCode::Ping, 7, 30, b"q")));
    sink.event(Event::Message(&message(C2S, OpCode::Text, 8, 40, b"later")));
    sink.event(Event::Anomaly(&finding(FindingKind::PongMissing, C2S, 7, None)));
    sink.event(Event::ConnectionEnded {
        conn: 0,
        ts: ts(9),
        how: ConnectionEnd::Reset,
        tcp: None,
    });
}

/// What passes the filter, as short strings in order.
fn run(expr: &str) -> Vec<String> {
    let mut out = CollectRecords::default();
    let mut sink = FilterSink::new(&mut out, Filter::compile(expr).expect("compiles"), ts(0));
    session(&mut sink);
    sink.finish();
    out.0
}

#[derive(Default)]
struct CollectRecords(Vec<String>);

impl EventSink for CollectRecords {
    fn event(&mut self, event: Event<'_>) {
        self.0.push(match event {
            Event::Connection(c) => format!("conn {}", c.conn),
            Event::Message(m) => format!("{} {} @{}", m.dir.as_str(), m.opcode.name(), m.ts.nanos / 1_000_000),
            Event::Rtt(r) => format!("rtt {}", r.rtt_ms()),
            Event::Anomaly(f) => format!("finding {}", f.kind.slug()),
            Event::ConnectionEnded { .. } => "end".to_owned(),
            Event::Frame(_) => "frame".to_owned(),
            Event::Flow(_) => "flow".to_owned(),
        });
    }
}

#[test]
fn a_finding_reported_before_its_message_is_on_that_message() {
    assert_eq!(
        run(r#"finding == "invalid-utf8""#),
        ["conn 0", "finding invalid-utf8", "c2s text @1", "end"]
    );
}

#[test]
fn a_pong_missing_reported_later_is_on_its_ping_and_keeps_the_order() {
    assert_eq!(
        run("finding == pong-missing"),
        ["conn 0", "c2s ping @7", "finding pong-missing", "end"]
    );
}

#[test]
fn rtt_is_known_on_the_ping_and_the_pong_and_later_messages_wait_in_order() {
    assert_eq!(
        run("rtt_ms > 0.5 || opcode == text"),
        [
            "conn 0",
            "finding invalid-utf8",
            "c2s text @1",
            "c2s ping @5",
            "s2c text @5",
            "s2c pong @6",
            "rtt 1",
            "c2s text @8",
            "end"
        ]
    );
}

#[test]
fn rtt_samples_follow_a_matching_ping_or_pong_even_without_rtt_in_the_filter() {
    assert_eq!(run("opcode == pong"), ["conn 0", "s2c pong @6", "rtt 1", "end"]);
    assert_eq!(
        run("opcode == ping"),
        [
            "conn 0",
            "c2s ping @5",
            "rtt 1",
            "c2s ping @7",
            "finding pong-missing",
            "end"
        ]
    );
}

#[test]
fn a_connection_without_a_match_is_not_printed_and_counts_are_kept() {
    let mut out = CollectSink::default();
    let mut sink = FilterSink::new(&mut out, Filter::compile("len > 100").expect("compiles"), ts(0));
    session(&mut sink);
    sink.finish();
    assert_eq!((sink.seen(), sink.matched()), (6, 0));
    assert!(out.connections.is_empty() && out.messages.is_empty() && out.findings.is_empty());
}
