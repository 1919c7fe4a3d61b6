//! Tests of `stream`.
use super::*;
use crate::analysis::event::OwnedMessage;
use crate::analysis::ws::mask::apply_mask;

#[derive(Default)]
struct Out {
    frames: Vec<(FrameHeader, u64)>,
    messages: Vec<OwnedMessage>,
    findings: Vec<(FindingKind, String)>,
}

impl StreamOutput for Out {
    fn frame(&mut self, _ts: Timestamp, header: &FrameHeader, offset: u64) {
        self.frames.push((*header, offset));
    }
    fn message(&mut self, m: &MessageEvent<'_>) {
        self.messages.push(OwnedMessage::from(m));
    }
    fn finding(&mut self, kind: FindingKind, _ts: Timestamp, _o: Option<u64>, detail: String) {
        self.findings.push((kind, detail));
    }
}

impl Out {
    fn kinds(&self) -> Vec<&'static str> {
        self.findings.iter().map(|(k, _)| k.slug()).collect()
    }
}

fn frame(fin: bool, opcode: OpCode, key: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = FrameHeader::new(fin, opcode, key, payload.len() as u64).to_bytes();
    let mut body = payload.to_vec();
    if let Some(k) = key {
        apply_mask(&mut body, k, 0);
    }
    out.extend_from_slice(&body);
    out
}

const KEY: Option<[u8; 4]> = Some([0xa1, 0xb2, 0xc3, 0xd4]);

fn client() -> StreamDecoder {
    StreamDecoder::synced(
        0,
        Direction::ClientToServer,
        Compression::NotNegotiated,
        StreamLimits::default(),
    )
}

fn feed_bytewise(d: &mut StreamDecoder, bytes: &[u8], out: &mut Out) {
    for (i, b) in bytes.iter().enumerate() {
        d.on_data(Timestamp::ZERO, i as u64, std::slice::from_ref(b), out);
    }
}

#[test]
fn joins_fragments_around_an_interleaved_ping_even_byte_by_byte() {
    let mut wire = frame(false, OpCode::Text, KEY, b"Hel");
    wire.extend(frame(true, OpCode::Ping, KEY, b"p1"));
    wire.extend(frame(false, OpCode::Continuation, KEY, b"lo "));
    wire.extend(frame(true, OpCode::Continuation, KEY, b""));
    let mut d = client();
    let mut out = Out::default();
    feed_bytewise(&mut d, &wire, &mut out);
    assert_eq!(out.messages.len(), 2);
    assert_eq!(out.messages[0].opcode, OpCode::Ping);
    assert_eq!(out.messages[0].payload, b"p1");
    assert_eq!(out.messages[1].opcode, OpCode::Text);
    assert_eq!(out.messages[1].payload, b"Hello ");
    assert_eq!(out.messages[1].frames, 3);
    assert_eq!(out.messages[1].wire_len, (wire.len() - 8) as u64);
    assert_eq!(out.frames.len(), 4);
    assert!(out.findings.is_empty(), "{:?}", out.findings);
}

#[test]
fn unmasks_a_one_mebibyte_frame_split_anywhere() {
    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
    let wire = frame(true, OpCode::Binary, KEY, &payload);
    let mut d = client();
    let mut out = Out::default();
    let mut offset = 0;
    for piece in wire.chunks(1448) {
        d.on_data(Timestamp::ZERO, offset, piece, &mut out);
        offset += piece.len() as u64;
    }
    assert_eq!(out.messages.len(), 1);
    assert_eq!(out.messages[0].payload, payload);
    assert_eq!(
        out.frames[0].0.length_encoding,
        crate::analysis::ws::frame::LengthEncoding::Extended64
    );
}

#[test]
fn reports_rule_breaking_frames_and_keeps_decoding() {
    let mut wire = frame(true, OpCode::Text, None, b"unmasked");
    wire.extend(frame(false, OpCode::Ping, KEY, b"x"));
    wire.extend(frame(true, OpCode::Reserved(3), KEY, b"r"));
    wire.extend(frame(true, OpCode::Text, KEY, &[0xff, 0xfe]));
    wire.extend(frame(true, OpCode::Close, KEY, &[0x03, 0xed])); // 1005
    wire.extend(frame(true, OpCode::Text, KEY, b"late"));
    let mut d = client();
    let mut out = Out::default();
    d.on_data(Timestamp::ZERO, 0, &wire, &mut out);
    assert_eq!(
        out.kinds(),
        vec![
            "unmasked-client-frame",
            "fragmented-control",
            "reserved-opcode",
            "invalid-utf8",
            "bad-close-code",
            "data-after-close"
        ]
    );
    assert_eq!(out.messages.len(), 6);
    assert_eq!(out.messages[4].close_code, Some(1005));
    assert_eq!(out.messages[5].payload, b"late");
}

#[test]
fn a_gap_inside_a_payload_damages_one_message_and_keeps_sync() {
    let first = frame(true, OpCode::Binary, KEY, &[1u8; 300]);
    let second = frame(true, OpCode::Text, KEY, b"after");
    let mut d = client();
    let mut out = Out::default();
    d.on_data(Timestamp::ZERO, 0, &first[..100], &mut out);
    d.on_gap(Timestamp::ZERO, 100, 50, GapReason::NotCaptured, &mut out);
    d.on_data(Timestamp::ZERO, 150, &first[150..], &mut out);
    d.on_data(Timestamp::ZERO, first.len() as u64, &second, &mut out);
    assert_eq!(out.kinds(), vec!["tcp-gap", "message-damaged"]);
    assert_eq!(out.messages.len(), 1);
    assert_eq!(out.messages[0].payload, b"after");
}

#[test]
fn a_gap_over_a_header_resyncs_on_a_later_segment() {
    let a = frame(true, OpCode::Text, KEY, b"one");
    let b = frame(true, OpCode::Text, KEY, b"two");
    let c = frame(true, OpCode::Text, KEY, b"three");
    let mut d = client();
    let mut out = Out::default();
    d.on_data(Timestamp::ZERO, 0, &a, &mut out);
    let b_at = a.len() as u64;
    d.on_gap(Timestamp::ZERO, b_at, b.len() as u64, GapReason::NotCaptured, &mut out);
    d.on_data(Timestamp::ZERO, b_at + b.len() as u64, &c, &mut out);
    let texts: Vec<_> = out.messages.iter().map(|m| m.payload.clone()).collect();
    assert_eq!(texts, vec![b"one".to_vec(), b"three".to_vec()]);
    assert!(d.is_synced());
}

#[test]
fn a_length_of_two_to_the_63_is_reported_and_bounded() {
    let mut wire = vec![0x82, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
    wire.extend(vec![0u8; 4096]);
    let limits = StreamLimits {
        max_message_bytes: 1024,
        max_inflated_bytes: 1024,
    };
    let mut d = StreamDecoder::synced(0, Direction::ClientToServer, Compression::NotNegotiated, limits);
    let mut out = Out::default();
    d.on_data(Timestamp::ZERO, 0, &wire, &mut out);
    d.finish(Timestamp::ZERO, &mut out);
    assert_eq!(
        out.kinds(),
        vec!["length-msb-set", "message-limit", "message-incomplete"]
    );
    assert!(d.message_bytes.len() <= 1024);
}

#[test]
fn closes_with_reason_and_a_one_byte_close_is_a_finding() {
    let mut payload = 4001u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"bye");
    let mut wire = frame(true, OpCode::Close, None, &payload);
    wire.extend(frame(true, OpCode::Close, None, &[7]));
    let mut d = StreamDecoder::synced(
        1,
        Direction::ServerToClient,
        Compression::NotNegotiated,
        StreamLimits::default(),
    );
    let mut out = Out::default();
    d.on_data(Timestamp::ZERO, 0, &wire, &mut out);
    assert_eq!(out.messages[0].close_code, Some(4001));
    assert_eq!(out.messages[0].close_reason().as_deref(), Some("bye"));
    assert_eq!(out.kinds(), vec!["bad-close-payload"]);
}
