//! HTTP/2 that breaks the rules, built frame by frame (no peer sends these on purpose): the
//! RFC 8441 violations are findings on the right connection, and the caps — a CONTINUATION
//! flood, an HPACK table-size bomb, a 16 MiB frame — are `h2-limit` findings, with the
//! streams beside them still decoded.

mod common;

use common::{Conversation, analyze_packets, slugs, ws_frame};
use framescope::analysis::event::CollectSink;
use framescope::analysis::h2::frame::{
    CONTINUATION, DATA, FLAG_END_HEADERS, FLAG_END_STREAM, HEADERS, PREFACE, SETTINGS, SETTINGS_ENABLE_CONNECT_PROTOCOL,
};
use framescope::analysis::ws::frame::OpCode;
use framescope::analysis::{AnalyzerConfig, Direction};
use framescope::export::pcap_writer::Sender;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = (payload.len() as u32).to_be_bytes();
    let mut v = vec![len[1], len[2], len[3], kind, flags];
    v.extend_from_slice(&stream.to_be_bytes());
    v.extend_from_slice(payload);
    v
}

/// A header list as HPACK literals without indexing, names and values as plain strings.
fn block(fields: &[(&str, &str)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (name, value) in fields {
        out.push(0x00);
        for s in [name, value] {
            assert!(s.len() < 127);
            out.push(s.len() as u8);
            out.extend_from_slice(s.as_bytes());
        }
    }
    out
}

fn settings(connect_protocol: bool) -> Vec<u8> {
    let mut payload = Vec::new();
    if connect_protocol {
        payload.extend_from_slice(&SETTINGS_ENABLE_CONNECT_PROTOCOL.to_be_bytes());
        payload.extend_from_slice(&1u32.to_be_bytes());
    }
    frame(SETTINGS, 0, 0, &payload)
}

fn connect(path: &str, version: bool) -> Vec<u8> {
    let mut fields = vec![
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "http"),
        (":path", path),
        (":authority", "localhost"),
    ];
    if version {
        fields.push(("sec-websocket-version", "13"));
    }
    block(&fields)
}

/// An h2c conversation: the client's preface and SETTINGS, then `steps` in order.
fn run(server_settings: Vec<u8>, steps: &[(Sender, Vec<u8>)]) -> CollectSink {
    let mut c = Conversation::new("10.0.0.1:40000", "10.0.0.2:8080", 1000, 9000);
    c.open();
    let mut hello = PREFACE.to_vec();
    hello.extend(settings(false));
    c.send(Sender::Client, &hello);
    c.send(Sender::Server, &server_settings);
    for (sender, bytes) in steps {
        c.send(*sender, bytes);
    }
    c.close();
    analyze_packets(&c.packets(), AnalyzerConfig::default())
}

fn kinds_on(sink: &CollectSink, conn: Option<u32>) -> Vec<&'static str> {
    sink.findings
        .iter()
        .filter(|f| f.conn == conn)
        .map(|f| f.kind.slug())
        .collect()
}

#[test]
fn rfc_8441_violations_are_findings_and_the_stream_still_decodes() {
    let mask = Some([1, 2, 3, 4]);
    let sink = run(
        // The server never enables extended CONNECT.
        settings(false),
        &[
            // Stream 1: extended CONNECT without sec-websocket-version.
            (
                Sender::Client,
                frame(HEADERS, FLAG_END_HEADERS, 1, &connect("/ws", false)),
            ),
            // Stream 3: a GET with :protocol.
            (
                Sender::Client,
                frame(
                    HEADERS,
                    FLAG_END_HEADERS | FLAG_END_STREAM,
                    3,
                    &block(&[
                        (":method", "GET"),
                        (":protocol", "websocket"),
                        (":scheme", "http"),
                        (":path", "/x"),
                    ]),
                ),
            ),
            (
                Sender::Server,
                frame(HEADERS, FLAG_END_HEADERS, 1, &block(&[(":status", "200")])),
            ),
            (
                Sender::Server,
                frame(
                    HEADERS,
                    FLAG_END_HEADERS | FLAG_END_STREAM,
                    3,
                    &block(&[(":status", "404")]),
                ),
            ),
            (
                Sender::Client,
                frame(DATA, 0, 1, &ws_frame(true, false, OpCode::Text, mask, b"hi from 1")),
            ),
            (
                Sender::Server,
                frame(DATA, 0, 1, &ws_frame(true, false, OpCode::Text, None, b"hi back")),
            ),
        ],
    );
    assert_eq!(sink.connections.len(), 1);
    let conn = &sink.connections[0];
    assert_eq!(conn.h2_stream, Some(1));
    let hs = conn.handshake.as_ref().expect("handshake");
    assert!(hs.http2);
    assert_eq!(hs.response.status, 200);
    let mut on_conn = kinds_on(&sink, Some(0));
    on_conn.sort();
    assert_eq!(
        on_conn,
        ["bad-handshake", "h2-connect-not-enabled"],
        "{:#?}",
        sink.findings
    );
    assert_eq!(kinds_on(&sink, None), ["h2-protocol-without-connect"]);
    assert_eq!(
        common::data_payloads(&sink, Direction::ClientToServer),
        [b"hi from 1".to_vec()]
    );
    assert_eq!(
        common::data_payloads(&sink, Direction::ServerToClient),
        [b"hi back".to_vec()]
    );
    // The GET is a flow of its own on stream 3.
    let get = sink.flows.iter().find(|f| f.h2_stream == Some(3)).expect("GET flow");
    assert!(get.reason.contains("GET /x answered 404"), "{}", get.reason);
}

#[test]
fn a_continuation_flood_is_cut_at_the_cap_and_reported() {
    let mut flood = frame(HEADERS, 0, 1, &connect("/ws", true));
    for _ in 0..40 {
        flood.extend(frame(CONTINUATION, 0, 1, &[0u8; 16384]));
    }
    flood.extend(frame(CONTINUATION, FLAG_END_HEADERS, 1, &[]));
    let sink = run(settings(true), &[(Sender::Client, flood)]);
    assert!(sink.connections.is_empty());
    let s = slugs(&sink);
    assert!(s.contains(&"h2-limit"), "{s:?}");
    let detail = &sink
        .findings
        .iter()
        .find(|f| f.kind.slug() == "h2-limit")
        .expect("limit")
        .detail;
    assert!(detail.contains("CONTINUATION flood"), "{detail}");
}

#[test]
fn an_hpack_table_size_bomb_is_a_finding_and_later_streams_of_the_other_side_decode() {
    // The server's first block asks for a 4 GiB table; the client's own streams still open.
    let bomb = frame(
        HEADERS,
        FLAG_END_HEADERS,
        1,
        &[0x3f, 0xe0, 0xff, 0xff, 0xff, 0x0f, 0x88],
    );
    let sink = run(
        settings(true),
        &[
            (
                Sender::Client,
                frame(HEADERS, FLAG_END_HEADERS, 1, &connect("/ws", true)),
            ),
            (Sender::Server, bomb),
        ],
    );
    let limit = sink
        .findings
        .iter()
        .find(|f| f.kind.slug() == "h2-limit")
        .expect("h2-limit");
    assert!(limit.detail.contains("table size update"), "{}", limit.detail);
    assert_eq!(limit.dir, Some(Direction::ServerToClient));
    // No response was decoded: the CONNECT is listed as unanswered, not a connection.
    assert!(sink.connections.is_empty());
    let flow = sink.flows.iter().find(|f| f.h2_stream == Some(1)).expect("stream flow");
    assert!(flow.reason.contains("got no response"), "{}", flow.reason);
}

#[test]
fn a_16_mib_frame_is_skipped_as_a_finding_without_holding_it() {
    // A HEADERS frame claiming 16 MiB - 1 bytes, of which 64 KiB arrive.
    let mut huge = vec![0xff, 0xff, 0xff, HEADERS, FLAG_END_HEADERS, 0, 0, 0, 1];
    huge.extend(std::iter::repeat_n(0u8, 64 * 1024));
    let sink = run(settings(true), &[(Sender::Client, huge)]);
    let limit = sink
        .findings
        .iter()
        .find(|f| f.kind.slug() == "h2-limit")
        .expect("h2-limit");
    assert!(limit.detail.contains("16777215 bytes"), "{}", limit.detail);
    assert!(sink.connections.is_empty());
}
