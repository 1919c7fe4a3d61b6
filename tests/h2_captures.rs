//! The HTTP/2 captures of `captures/` (Hypercorn serving RFC 8441 WebSockets, a client on the
//! `h2` and `wsproto` libraries): framescope's HTTP/2 frame reader and HPACK decoder read every
//! header block of both directions, over h2c and (decrypted by `TlsSession`) over TLS.

use std::collections::BTreeMap;
use std::path::Path;

use framescope::analysis::Direction;
use framescope::analysis::Timestamp;
use framescope::analysis::findings::FindingKind;
use framescope::analysis::h2::frame::{
    self, BlockOutcome, FrameEvent, FrameReader, HeaderBlock, SETTINGS_ENABLE_CONNECT_PROTOCOL,
};
use framescope::analysis::h2::hpack::Decoder;
use framescope::analysis::tls::{KeyLog, TlsLimits, TlsOutput, TlsSession};
use framescope::analysis::ws::frame::FrameHeader as WsHeader;
use framescope::analysis::ws::mask::apply_mask;

mod common;

/// Each direction's TCP payload in capture order (loopback: no loss, no reordering), the
/// client being the side that sent the first payload.
fn tcp_streams(pcap: &Path) -> [Vec<u8>; 2] {
    let mut file = pcap::Capture::from_file(pcap).unwrap();
    let mut client_port = None;
    let mut streams = [Vec::new(), Vec::new()];
    while let Ok(p) = file.next_packet() {
        let Ok(sliced) = etherparse::SlicedPacket::from_ethernet(p.data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Tcp(tcp)) = sliced.transport else {
            continue;
        };
        let payload = tcp.payload();
        if payload.is_empty() {
            continue;
        }
        let client = *client_port.get_or_insert(tcp.source_port());
        streams[usize::from(tcp.source_port() != client)].extend_from_slice(payload);
    }
    streams
}

#[derive(Default)]
struct Plain {
    streams: [Vec<u8>; 2],
    findings: Vec<FindingKind>,
}

impl TlsOutput for Plain {
    fn plaintext(&mut self, dir: Direction, _: Timestamp, offset: u64, bytes: &[u8]) {
        assert_eq!(offset, self.streams[dir.index()].len() as u64);
        self.streams[dir.index()].extend_from_slice(bytes);
    }
    fn plaintext_gap(&mut self, _: Direction, _: Timestamp, _: u64, _: u64) {
        panic!("no loss on lo");
    }
    fn finding(&mut self, _: Direction, kind: FindingKind, _: Timestamp, _: Option<u64>, _: String) {
        self.findings.push(kind);
    }
}

/// What one direction's HTTP/2 frames said.
#[derive(Default, Debug)]
struct Seen {
    headers: BTreeMap<u32, Vec<(String, String)>>,
    data: BTreeMap<u32, Vec<u8>>,
    settings: Vec<(u16, u32)>,
    end_stream: Vec<u32>,
}

fn read_h2(bytes: &[u8]) -> Seen {
    let mut reader = FrameReader::new();
    let mut block = HeaderBlock::default();
    let mut hpack = Decoder::new();
    let mut seen = Seen::default();
    reader.push(bytes, &mut |ev| match ev {
        FrameEvent::Frame { header, payload } => {
            if header.kind == frame::SETTINGS && !header.has(frame::FLAG_ACK) {
                seen.settings.extend(frame::settings(payload));
            }
            if let BlockOutcome::Complete { first, block } = block.push(&header, payload) {
                let fields = hpack.decode(block).expect("header block");
                let text = fields
                    .into_iter()
                    .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
                    .collect();
                seen.headers.insert(first.stream_id, text);
                if first.has(frame::FLAG_END_STREAM) {
                    seen.end_stream.push(first.stream_id);
                }
            }
        }
        FrameEvent::Data { header, piece, .. } => {
            seen.data.entry(header.stream_id).or_default().extend_from_slice(piece);
        }
        FrameEvent::Oversized { header } => panic!("oversized {header:?}"),
    });
    seen
}

fn header<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
}

/// The first WebSocket frame of a DATA stream, unmasked.
fn first_ws_payload(data: &[u8]) -> Vec<u8> {
    let h = WsHeader::parse(data).expect("frame header");
    let start = usize::from(h.header_len);
    let mut payload = data[start..start + h.payload_len as usize].to_vec();
    if let Some(mask) = h.mask {
        apply_mask(&mut payload, mask, 0);
    }
    payload
}

fn check(client_bytes: &[u8], server_bytes: &[u8], scheme: &str) {
    assert_eq!(&client_bytes[..24], frame::PREFACE);
    let client = read_h2(&client_bytes[24..]);
    let server = read_h2(server_bytes);
    assert!(
        server.settings.contains(&(SETTINGS_ENABLE_CONNECT_PROTOCOL, 1)),
        "{:?}",
        server.settings
    );
    for (stream, path) in [(1, "/ws?stream=a"), (3, "/ws?stream=b")] {
        let req = &client.headers[&stream];
        assert_eq!(header(req, ":method"), Some("CONNECT"));
        assert_eq!(header(req, ":protocol"), Some("websocket"));
        assert_eq!(header(req, ":scheme"), Some(scheme));
        assert_eq!(header(req, ":path"), Some(path));
        assert_eq!(header(req, "sec-websocket-version"), Some("13"));
        assert_eq!(header(&server.headers[&stream], ":status"), Some("200"));
    }
    let get = &client.headers[&5];
    assert_eq!(
        (header(get, ":method"), header(get, ":path")),
        (Some("GET"), Some("/hello"))
    );
    assert!(client.end_stream.contains(&5));
    assert_eq!(header(&server.headers[&5], "content-type"), Some("text/plain"));
    assert_eq!(server.data[&5], b"hello over HTTP/2\n");
    // DATA on the WebSocket streams carries WebSocket frames: masked from the client.
    assert_eq!(first_ws_payload(&client.data[&1]), b"hello on stream a");
    assert_eq!(first_ws_payload(&client.data[&3]), b"hello on stream b");
    assert_eq!(first_ws_payload(&server.data[&1]), b"hello on stream a");
}

#[test]
fn h2c_prior_knowledge_headers_and_websocket_streams_are_read() {
    let pcap = common::captures_dir().join("h2c-hypercorn-two-websockets-and-get.pcap");
    let [client, server] = tcp_streams(&pcap);
    check(&client, &server, "http");
}

#[test]
fn h2_over_tls_decrypts_and_its_header_blocks_decode() {
    let dir = common::captures_dir();
    let pcap = dir.join("h2-tls-hypercorn-two-websockets-and-get.pcap");
    let keys = KeyLog::from_text(&std::fs::read(dir.join("h2-tls-hypercorn-two-websockets-and-get.keys")).unwrap());
    let [client, server] = tcp_streams(&pcap);
    let mut session = TlsSession::new(TlsLimits::default());
    let mut plain = Plain::default();
    // Interleave as the peers did: the whole client flight first is fine for TLS 1.3 only
    // if keys are known, which they are.
    session.push(
        Direction::ClientToServer,
        0,
        &client[..517.min(client.len())],
        Timestamp::ZERO,
        &keys,
        &mut plain,
    );
    session.push(
        Direction::ServerToClient,
        0,
        &server,
        Timestamp::ZERO,
        &keys,
        &mut plain,
    );
    session.push(
        Direction::ClientToServer,
        517,
        &client[517..],
        Timestamp::ZERO,
        &keys,
        &mut plain,
    );
    session.finish(Timestamp::ZERO, &mut plain);
    assert!(plain.findings.is_empty(), "{:?}", plain.findings);
    let facts = session.facts();
    assert_eq!(facts.alpn.as_deref(), Some("h2"));
    assert_eq!(facts.alpn_offered, ["h2"]);
    check(&plain.streams[0], &plain.streams[1], "https");
}
