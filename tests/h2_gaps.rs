//! A lost TCP segment in HTTP/2: the real h2c session of `captures/` (Hypercorn and an
//! h2 + wsproto client, two WebSocket streams and a GET) replayed as small segments, then
//! every segment dropped in turn. A loss inside one DATA frame's payload keeps the frame
//! boundaries, so that stream's WebSocket decoder takes the gap and every later frame of
//! every stream still decodes; a loss across a frame header stops that direction with a
//! finding. Neither panics.

mod common;

use std::path::Path;

use common::{Conversation, analyze_packets};
use framescope::analysis::event::CollectSink;
use framescope::analysis::findings::FindingKind;
use framescope::analysis::ws::frame::OpCode;
use framescope::analysis::{AnalyzerConfig, Direction};
use framescope::export::pcap_writer::Sender;

/// The TCP payloads of a one-connection capture in order, each with its sender (the
/// client being the side that sent the first payload).
fn payloads(pcap: &Path) -> Vec<(Sender, Vec<u8>)> {
    let mut file = pcap::Capture::from_file(pcap).expect("open the capture");
    let mut client_port = None;
    let mut out = Vec::new();
    while let Ok(p) = file.next_packet() {
        let Ok(sliced) = etherparse::SlicedPacket::from_ethernet(p.data) else {
            continue;
        };
        let Some(etherparse::TransportSlice::Tcp(tcp)) = sliced.transport else {
            continue;
        };
        if tcp.payload().is_empty() {
            continue;
        }
        let client = *client_port.get_or_insert(tcp.source_port());
        let sender = if tcp.source_port() == client {
            Sender::Client
        } else {
            Sender::Server
        };
        out.push((sender, tcp.payload().to_vec()));
    }
    out
}

/// Per WebSocket connection and direction: its data messages and whether its close came.
fn outcome(sink: &CollectSink) -> Vec<(usize, Direction, usize, bool)> {
    let mut out = Vec::new();
    for (conn, info) in sink.connections.iter().enumerate() {
        for dir in [Direction::ClientToServer, Direction::ServerToClient] {
            let of = |m: &&framescope::analysis::event::OwnedMessage| m.facts.conn == info.conn && m.facts.dir == dir;
            let data = sink
                .messages
                .iter()
                .filter(of)
                .filter(|m| matches!(m.facts.opcode, OpCode::Text | OpCode::Binary))
                .count();
            let closed = sink.messages.iter().filter(of).any(|m| m.facts.opcode == OpCode::Close);
            out.push((conn, dir, data, closed));
        }
    }
    out
}

#[test]
fn a_segment_lost_inside_a_data_frame_costs_only_that_frames_bytes() {
    let capture = common::captures_dir().join("h2c-hypercorn-two-websockets-and-get.pcap");
    let session = payloads(&capture);
    let mut conv = Conversation::new("10.0.0.1:40000", "10.0.0.2:8000", 1000, 9000);
    // Small segments, so that losses land inside frames as they would on a real network
    // with 16 KiB DATA frames and 1448-byte segments.
    conv.mss = 40;
    conv.open();
    for (sender, bytes) in &session {
        conv.send(*sender, bytes);
    }
    conv.close();
    let config = AnalyzerConfig::default();
    let baseline = analyze_packets(&conv.packets(), config);
    let expected = outcome(&baseline);
    assert_eq!(baseline.connections.len(), 2, "two WebSocket streams");
    assert!(
        expected.iter().all(|&(_, _, data, closed)| data >= 2 && closed),
        "{expected:?}"
    );

    // Losses in the handshakes (the preface, the CONNECT requests and their answers) are
    // another matter: only segments after both streams carried a message are dropped.
    let established = baseline
        .connections
        .iter()
        .filter_map(|c| {
            baseline
                .messages
                .iter()
                .find(|m| m.facts.conn == c.conn)
                .map(|m| m.facts.ts)
        })
        .max()
        .expect("messages on both streams");
    let all = conv.segs.clone();
    let (mut kept_going, mut stopped) = (0, 0);
    for (i, seg) in all.iter().enumerate() {
        // Every third segment: about 340 losses, each a whole analysis.
        if seg.payload.is_empty() || seg.ts <= established || i % 3 != 0 {
            continue;
        }
        conv.segs = all
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, s)| s.clone())
            .collect();
        let damaged = analyze_packets(&conv.packets(), config);
        let lost_boundaries = damaged
            .findings
            .iter()
            .any(|f| f.kind == FindingKind::TcpGap && f.detail.contains("not decoded"));
        if lost_boundaries {
            stopped += 1;
            continue;
        }
        kept_going += 1;
        let got = outcome(&damaged);
        assert_eq!(got.len(), expected.len(), "segment {i}: the same WebSocket connections");
        for (g, e) in got.iter().zip(&expected) {
            // The message the lost bytes belonged to may be damaged or, when the loss took
            // a WebSocket frame header, skipped while the decoder finds the next frame;
            // every later one decodes, up to the close.
            assert!(g.2 + 2 >= e.2, "segment {i}: {g:?} against {e:?}");
            assert!(g.3, "segment {i}: the close after the loss still decodes: {g:?}");
        }
        assert!(
            damaged.findings.iter().any(|f| f.kind == FindingKind::TcpGap),
            "segment {i}: the loss is reported"
        );
    }
    // Most of an h2c session's bytes are DATA payload (WebSocket frames, the GET's body):
    // 1,009 of 1,023 losses kept going when every segment was tried.
    assert!(
        kept_going >= 100,
        "losses inside DATA frames: {kept_going}, across boundaries: {stopped}"
    );
    assert!(
        stopped >= 1,
        "losses across frame headers are still possible: {stopped}"
    );
}
