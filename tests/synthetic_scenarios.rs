//! Captures built segment by segment: lossy links, mid-stream starts, snap-length cuts,
//! sequence wrap, port reuse, permessage-deflate corners and hostile inputs.

mod common;

use common::*;
use framescope::analysis::event::ConnectionEnd;
use framescope::analysis::ws::deflate::MessageDeflater;
use framescope::analysis::ws::frame::OpCode;
use framescope::analysis::{AnalyzerConfig, Direction};
use framescope::export::pcap_writer::{Sender, TcpFlags};

/// Texts of varied sizes: some fit one segment, some span several.
fn texts(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let len = [12, 300, 2500, 999, 1, 4100][i % 6];
            let mut t = format!("message {i}: ").into_bytes();
            t.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, len));
            t
        })
        .collect()
}

/// A connection through its upgrade (offering and accepting `extensions`).
fn upgraded(client: &str, server: &str, extensions: Option<&str>) -> Conversation {
    let mut conv = Conversation::new(client, server, 1, 2);
    conv.open();
    conv.send(Sender::Client, &upgrade_request(extensions));
    conv.send(Sender::Server, &upgrade_response(extensions));
    conv
}

/// A clean session: handshake, each text sent by the client and echoed by the server, close.
fn echo_session(conv: &mut Conversation, msgs: &[Vec<u8>]) {
    conv.open();
    conv.send(Sender::Client, &upgrade_request(None));
    conv.send(Sender::Server, &upgrade_response(None));
    for m in msgs {
        conv.send(Sender::Client, &ws_frame(true, false, OpCode::Text, CLIENT_KEY, m));
        conv.send(Sender::Server, &ws_frame(true, false, OpCode::Text, None, m));
    }
    conv.send(
        Sender::Client,
        &ws_frame(true, false, OpCode::Close, CLIENT_KEY, &1000u16.to_be_bytes()),
    );
    conv.send(
        Sender::Server,
        &ws_frame(true, false, OpCode::Close, None, &1000u16.to_be_bytes()),
    );
    conv.close();
}

#[test]
fn a_clean_session_decodes_exactly_and_ends_closed() {
    let msgs = texts(12);
    let mut conv = Conversation::new("10.0.0.1:40000", "10.0.0.2:8080", 1000, 5000);
    echo_session(&mut conv, &msgs);
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    assert_eq!(data_payloads(&sink, Direction::ClientToServer), msgs);
    assert_eq!(data_payloads(&sink, Direction::ServerToClient), msgs);
    assert_eq!(sink.ends, vec![(0, ConnectionEnd::Closed)]);
    assert!(sink.findings.is_empty(), "{:?}", slugs(&sink));
}

#[test]
fn reordering_duplicates_and_retransmissions_change_nothing() {
    let msgs = texts(18);
    let mut conv = Conversation::new("10.0.0.1:40001", "10.0.0.2:8080", u32::MAX - 3000, 7);
    echo_session(&mut conv, &msgs);
    let mut segs = conv.segs.clone();
    // Swap neighbours every 5 segments, duplicate every 7th, retransmit every 11th later on.
    for i in (4..segs.len() - 2).step_by(5) {
        segs.swap(i, i + 1);
    }
    let mut perturbed = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        perturbed.push(s.clone());
        if i % 7 == 3 {
            perturbed.push(s.clone());
        }
        if i % 11 == 5 && !s.payload.is_empty() && i + 3 < segs.len() {
            let mut late = s.clone();
            late.ts = segs[i + 3].ts;
            perturbed.push(late);
        }
    }
    conv.segs = perturbed;
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    assert_eq!(data_payloads(&sink, Direction::ClientToServer), msgs);
    assert_eq!(data_payloads(&sink, Direction::ServerToClient), msgs);
    assert!(sink.findings.is_empty(), "{:?}", slugs(&sink));
}

#[test]
fn a_lost_segment_is_a_gap_and_decoding_resumes_after_it() {
    let msgs = texts(12);
    let mut conv = Conversation::new("10.0.0.1:40002", "10.0.0.2:8080", 1, 2);
    echo_session(&mut conv, &msgs);
    // Drop the middle segment of the client's 2500-byte message (it spans three segments).
    let target = msgs[2].clone();
    let first = conv
        .segs
        .iter()
        .position(|s| s.sender == Sender::Client && s.payload.len() == 1000 && s.payload.contains(&(b'c' ^ 0x56)))
        .expect("segment of message 2");
    conv.segs.remove(first + 1);
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    let c2s = data_payloads(&sink, Direction::ClientToServer);
    let mut expected = msgs.clone();
    expected.retain(|m| *m != target);
    assert_eq!(c2s, expected, "only the damaged message is missing");
    assert_eq!(data_payloads(&sink, Direction::ServerToClient), msgs);
    assert_eq!(slugs(&sink), vec!["tcp-gap", "message-damaged"]);
    assert!(
        sink.findings[0].detail.starts_with("1000 bytes"),
        "{}",
        sink.findings[0].detail
    );
}

#[test]
fn a_capture_that_starts_mid_stream_finds_frames_and_invents_nothing() {
    let mut conv = upgraded("192.0.2.1:50999", "192.0.2.2:12345", None);
    conv.send(
        Sender::Server,
        &ws_frame(false, false, OpCode::Text, None, b"start of a message "),
    );
    let cut = conv.segs.len();
    conv.send(
        Sender::Server,
        &ws_frame(true, false, OpCode::Continuation, None, b"whose start was not captured"),
    );
    conv.send(
        Sender::Client,
        &ws_frame(true, false, OpCode::Text, CLIENT_KEY, b"first whole message"),
    );
    conv.send(Sender::Server, &ws_frame(true, false, OpCode::Text, None, b"reply one"));
    conv.send(
        Sender::Server,
        &ws_frame(true, false, OpCode::Binary, None, &[1, 2, 3, 4]),
    );
    conv.send(Sender::Client, &ws_frame(true, false, OpCode::Ping, CLIENT_KEY, b"p"));
    conv.send(Sender::Server, &ws_frame(true, false, OpCode::Pong, None, b"p"));
    conv.segs.drain(..cut);
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    assert_eq!(sink.connections.len(), 1);
    let c = &sink.connections[0];
    assert!(c.handshake.is_none());
    assert_eq!(c.client.port(), 50999, "the masking side is the client");
    assert_eq!(
        data_payloads(&sink, Direction::ClientToServer),
        vec![b"first whole message".to_vec()]
    );
    assert_eq!(
        data_payloads(&sink, Direction::ServerToClient),
        vec![b"reply one".to_vec(), vec![1, 2, 3, 4]]
    );
    assert_eq!(sink.rtts.len(), 1);
    assert_eq!(slugs(&sink), vec!["message-start-not-captured"]);
}

#[test]
fn snap_length_cuts_are_reported_and_no_payload_is_invented() {
    let mut conv = upgraded("10.0.0.1:40003", "10.0.0.2:8080", None);
    // Small frames fit below the snap length; the 900-byte one does not.
    conv.send(Sender::Server, &ws_frame(true, false, OpCode::Text, None, b"short one"));
    conv.send(Sender::Server, &ws_frame(true, false, OpCode::Text, None, &[b'x'; 900]));
    conv.send(Sender::Server, &ws_frame(true, false, OpCode::Text, None, b"short two"));
    conv.close();
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("snap.pcap");
    write_pcap(&path, &conv.packets(), 300);
    let (sink, summary) = analyze_file(&path);
    assert!(summary.snap_cut_packets >= 1);
    assert_eq!(
        data_payloads(&sink, Direction::ServerToClient),
        vec![b"short one".to_vec(), b"short two".to_vec()],
        "the cut message is not reported, the frame boundary is kept"
    );
    assert_eq!(slugs(&sink), vec!["truncated-packet", "message-damaged"]);
    // At 96 bytes even the handshake is cut: whatever is reported must be exact.
    write_pcap(&path, &conv.packets(), 96);
    let (sink, _) = analyze_file(&path);
    for m in data_payloads(&sink, Direction::ServerToClient) {
        assert!(m == b"short one" || m == b"short two", "{m:?}");
    }
}

#[test]
fn a_second_connection_on_the_same_ports_is_a_new_connection() {
    let mut conv = Conversation::new("10.0.0.1:40004", "10.0.0.2:8080", 10, 20);
    echo_session(&mut conv, &texts(2));
    let mut second = Conversation::new("10.0.0.1:40004", "10.0.0.2:8080", 999_999, 888_888);
    second.ts = framescope::analysis::Timestamp::from_nanos(conv.ts.nanos + 1_000_000_000);
    echo_session(&mut second, &texts(3));
    let mut packets = conv.packets();
    packets.extend(second.packets());
    let sink = analyze_packets(&packets, AnalyzerConfig::default());
    assert_eq!(sink.connections.len(), 2);
    let per_conn = |id| {
        sink.messages
            .iter()
            .filter(|m| m.conn == id && m.opcode == OpCode::Text)
            .count()
    };
    assert_eq!((per_conn(0), per_conn(1)), (4, 6));
}

fn deflate_message(d: &mut MessageDeflater, data: &[u8]) -> Vec<u8> {
    d.compress_message(data).expect("deflate")
}

#[test]
fn compressed_fragmented_messages_with_context_takeover_inflate() {
    let ext = "permessage-deflate; client_max_window_bits";
    let mut conv = Conversation::new("10.0.0.1:40005", "10.0.0.2:9000", 1, 2);
    conv.open();
    conv.send(Sender::Client, &upgrade_request(Some(ext)));
    conv.send(
        Sender::Server,
        &upgrade_response(Some("permessage-deflate; client_max_window_bits=12")),
    );
    let mut server_deflate = MessageDeflater::new(6, false);
    let texts: Vec<Vec<u8>> = (0..4)
        .map(|i| format!("{{\"seq\":{i},\"data\":\"{}\"}}", "x".repeat(2000)).into_bytes())
        .collect();
    for (i, t) in texts.iter().enumerate() {
        let z = deflate_message(&mut server_deflate, t);
        if i == 2 {
            // RSV1 on the first fragment only; the last fragment is empty.
            let (a, b) = z.split_at(z.len() / 2);
            let mut wire = ws_frame(false, true, OpCode::Text, None, a);
            wire.extend(ws_frame(false, false, OpCode::Continuation, None, b));
            wire.extend(ws_frame(true, false, OpCode::Continuation, None, b""));
            conv.send(Sender::Server, &wire);
        } else {
            conv.send(Sender::Server, &ws_frame(true, true, OpCode::Text, None, &z));
        }
    }
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    assert_eq!(data_payloads(&sink, Direction::ServerToClient), texts);
    let m = &sink.messages[2];
    assert!(m.compressed);
    assert_eq!(m.frames, 3);
    assert!(
        sink.messages[3].wire_len < 40,
        "context takeover makes the repeat tiny: {}",
        sink.messages[3].wire_len
    );
    assert!(sink.findings.is_empty(), "{:?}", slugs(&sink));
}

#[test]
fn a_lost_compressed_message_never_yields_wrong_text_after_it() {
    let mut conv = upgraded("10.0.0.1:40011", "10.0.0.2:9000", Some("permessage-deflate"));
    let mut d = MessageDeflater::new(6, false);
    let texts: Vec<Vec<u8>> = vec![
        b"alpha bravo charlie delta echo foxtrot".to_vec(),
        (0..3000u32)
            .flat_map(|i| format!("{} ", i * 7919 % 10007).into_bytes())
            .collect(),
        b"golf hotel india juliet kilo lima".to_vec(),
        b"alpha bravo charlie delta echo foxtrot golf hotel india".to_vec(),
    ];
    for t in &texts {
        let z = deflate_message(&mut d, t);
        conv.send(Sender::Server, &ws_frame(true, true, OpCode::Text, None, &z));
    }
    // Lose a middle segment of the second (multi-segment) compressed message.
    let second_start = conv
        .segs
        .iter()
        .position(|s| s.payload.len() == 1000)
        .expect("long message");
    conv.segs.remove(second_start + 1);
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    let s2c: Vec<_> = sink
        .messages
        .iter()
        .filter(|m| m.dir == Direction::ServerToClient)
        .collect();
    assert_eq!(s2c[0].payload, texts[0]);
    for m in &s2c[1..] {
        // Every later message is either exactly right or explicitly not decoded.
        assert!(
            !m.decoded || texts.contains(&m.payload),
            "invented text: {:?}",
            String::from_utf8_lossy(&m.payload)
        );
    }
    let last = s2c.last().expect("last message");
    assert!(!last.decoded, "the last message refers back into the lost one's window");
    assert!(slugs(&sink).contains(&"inflate-failed"), "{:?}", slugs(&sink));
}

#[test]
fn a_small_compressed_message_lost_whole_does_not_shift_later_text() {
    let mut conv = Conversation::new("10.0.0.1:40012", "10.0.0.2:9000", 1, 2);
    conv.mss = 65_000;
    conv.open();
    conv.send(Sender::Client, &upgrade_request(Some("permessage-deflate")));
    conv.send(Sender::Server, &upgrade_response(Some("permessage-deflate")));
    let mut d = MessageDeflater::new(6, false);
    let long: Vec<u8> = (0..400u32)
        .flat_map(|i| format!("word{} ", i % 97).into_bytes())
        .collect();
    let texts = [
        long.clone(),
        b"a short message that gets lost".to_vec(),
        long[100..700].to_vec(),
    ];
    for t in &texts {
        let z = deflate_message(&mut d, t);
        conv.send(Sender::Server, &ws_frame(true, true, OpCode::Text, None, &z));
    }
    // Drop the segment that carries the whole second message.
    let lost = conv
        .segs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.sender == Sender::Server && !s.payload.is_empty())
        .map(|(i, _)| i)
        .nth(2)
        .expect("second message segment");
    conv.segs.remove(lost);
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    let s2c: Vec<_> = sink
        .messages
        .iter()
        .filter(|m| m.dir == Direction::ServerToClient)
        .collect();
    assert_eq!(s2c.len(), 2, "{:?}", slugs(&sink));
    assert_eq!(s2c[0].payload, texts[0]);
    let third = s2c[1];
    assert!(
        !third.decoded || third.payload == texts[2],
        "wrong text after a lost compressed message: {:?}",
        String::from_utf8_lossy(&third.payload[..40.min(third.payload.len())])
    );
}

#[test]
fn a_deflate_bomb_stops_at_the_cap_with_a_finding() {
    let mut conv = upgraded("10.0.0.1:40006", "10.0.0.2:9000", Some("permessage-deflate"));
    let bomb_plain = vec![b'A'; 8 << 20];
    let z = deflate_message(&mut MessageDeflater::new(9, false), &bomb_plain);
    assert!(z.len() * 1000 < bomb_plain.len(), "a 1000:1 bomb ({} bytes)", z.len());
    conv.send(Sender::Server, &ws_frame(true, true, OpCode::Text, None, &z));
    conv.send(
        Sender::Server,
        &ws_frame(true, false, OpCode::Text, None, b"after the bomb"),
    );
    let mut config = AnalyzerConfig::default();
    config.stream.max_inflated_bytes = 1 << 20;
    let sink = analyze_packets(&conv.packets(), config);
    assert_eq!(slugs(&sink), vec!["inflate-limit"]);
    let bomb = &sink.messages[0];
    assert!(bomb.truncated);
    assert_eq!(bomb.payload.len(), 1 << 20);
    assert_eq!(sink.messages[1].payload, b"after the bomb");
}

#[test]
fn rsv1_without_a_captured_handshake_is_tried_and_reported_when_it_fails() {
    let mut conv = upgraded("10.0.0.1:40007", "10.0.0.2:9000", Some("permessage-deflate"));
    let mut d = MessageDeflater::new(6, false);
    let one = deflate_message(&mut d, b"repeat repeat repeat repeat");
    let two = deflate_message(&mut d, b"repeat repeat repeat repeat");
    let cut = conv.segs.len();
    conv.send(Sender::Server, &ws_frame(true, true, OpCode::Text, None, &one));
    conv.send(
        Sender::Client,
        &ws_frame(true, false, OpCode::Text, CLIENT_KEY, b"hello"),
    );
    conv.send(Sender::Server, &ws_frame(true, true, OpCode::Text, None, &two));
    conv.segs.drain(..cut);
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    let s2c: Vec<_> = sink
        .messages
        .iter()
        .filter(|m| m.dir == Direction::ServerToClient)
        .collect();
    assert_eq!(s2c.len(), 2);
    assert_eq!(
        s2c[0].payload, b"repeat repeat repeat repeat",
        "a fresh context inflates the first"
    );
    assert!(s2c[1].decoded && s2c[1].payload == b"repeat repeat repeat repeat");
    assert!(sink.findings.is_empty(), "{:?}", slugs(&sink));
}

#[test]
fn a_million_one_byte_fragments_join_into_one_message() {
    let mut conv = Conversation::new("10.0.0.1:40008", "10.0.0.2:9000", 1, 2);
    conv.mss = 65_000;
    conv.open();
    conv.send(Sender::Client, &upgrade_request(None));
    conv.send(Sender::Server, &upgrade_response(None));
    let n = 1_000_000;
    let mut wire = Vec::with_capacity(n * 3);
    wire.extend(ws_frame(false, false, OpCode::Binary, None, &[0]));
    for i in 1..n - 1 {
        wire.extend(ws_frame(false, false, OpCode::Continuation, None, &[(i % 251) as u8]));
    }
    wire.extend(ws_frame(true, false, OpCode::Continuation, None, &[7]));
    conv.send(Sender::Server, &wire);
    let packets = conv.packets();
    let mut analyzer = framescope::analysis::Analyzer::new(AnalyzerConfig::default());
    let mut sink = framescope::analysis::event::CollectSink::default();
    for (ts, data) in &packets {
        analyzer.push_packet(*ts, framescope::analysis::link::LinkType::Ethernet, data, &mut sink);
    }
    analyzer.finish(&mut sink);
    assert_eq!(sink.messages.len(), 1);
    assert_eq!(sink.messages[0].frames, n as u32);
    assert_eq!(sink.messages[0].payload.len(), n);
    assert_eq!(sink.messages[0].payload[1000], (1000 % 251) as u8);
}

#[test]
fn a_length_of_2_to_the_63_is_a_finding_within_the_caps() {
    let mut conv = upgraded("10.0.0.1:40009", "10.0.0.2:9000", None);
    let mut wire = vec![0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0];
    wire.extend(vec![0xab; 300_000]);
    conv.send(Sender::Server, &wire);
    let mut config = AnalyzerConfig::default();
    config.stream.max_message_bytes = 100_000;
    let mut analyzer = framescope::analysis::Analyzer::new(config);
    let mut sink = CountSink::default();
    for (ts, data) in &conv.packets() {
        analyzer.push_packet(*ts, framescope::analysis::link::LinkType::Ethernet, data, &mut sink);
    }
    analyzer.finish(&mut sink);
    assert_eq!(sink.messages, 0);
    assert_eq!(
        sink.findings,
        vec!["length-msb-set", "message-limit", "message-incomplete"]
    );
}

#[test]
fn a_hundred_thousand_half_open_flows_stay_within_the_flow_cap() {
    let mut analyzer = framescope::analysis::Analyzer::new(AnalyzerConfig {
        max_flows: 50_000,
        ..AnalyzerConfig::default()
    });
    let mut sink = CountSink::default();
    let mut synth = framescope::export::pcap_writer::TcpSessionSynth::new(
        "10.0.0.1:1".parse().expect("addr"),
        "10.0.0.2:80".parse().expect("addr"),
        1,
        1,
    );
    let mut peak = 0;
    for i in 0..100_000u32 {
        let src = std::net::SocketAddr::from(([10, 1, (i >> 16) as u8, (i >> 8) as u8], (i & 0xff) as u16 + 1024));
        synth = framescope::export::pcap_writer::TcpSessionSynth::new(src, "10.0.0.2:80".parse().expect("addr"), i, 0);
        let pkt = synth.packet(Sender::Client, i, TcpFlags::SYN, &[]).to_vec();
        let ts = framescope::analysis::Timestamp::from_secs_micros(1_700_000_000, i64::from(i));
        analyzer.push_packet(ts, framescope::analysis::link::LinkType::Ethernet, &pkt, &mut sink);
        peak = peak.max(analyzer.open_flows());
    }
    drop(synth);
    assert!(peak <= 50_000, "peak {peak}");
    assert!(analyzer.stats().flows_evicted >= 50_000);
    assert!(sink.findings.iter().all(|f| f == "flow-limit") && !sink.findings.is_empty());
    analyzer.finish(&mut sink);
    assert_eq!(sink.connections, 0);
}

#[test]
fn a_capture_file_cut_mid_record_yields_what_it_holds() {
    let msgs = texts(6);
    let mut conv = Conversation::new("10.0.0.1:40010", "10.0.0.2:8080", 1, 2);
    echo_session(&mut conv, &msgs);
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("cut.pcap");
    write_pcap(&path, &conv.packets(), 65535);
    let full = std::fs::read(&path).expect("read");
    std::fs::write(&path, &full[..full.len() * 2 / 3]).expect("cut");
    let (sink, summary) = analyze_file(&path);
    let why = summary.stopped_early.expect("reported");
    assert!(why.contains("middle of a packet"), "{why}");
    let got = data_payloads(&sink, Direction::ClientToServer);
    assert!(!got.is_empty() && got.len() < msgs.len());
    assert_eq!(got[..], msgs[..got.len()]);
}

#[test]
fn files_that_are_not_captures_get_a_clear_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"this is not a capture file at all, just text").expect("write");
    let err = framescope::capture::OfflineReader::open(&text)
        .err()
        .expect("error")
        .to_string();
    assert!(err.contains("not a pcap or pcapng capture"), "{err}");
    let empty = dir.path().join("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    let err = framescope::capture::OfflineReader::open(&empty)
        .err()
        .expect("error")
        .to_string();
    assert!(err.contains("empty file"), "{err}");
    let missing = dir.path().join("missing.pcap");
    assert!(framescope::capture::OfflineReader::open(&missing).is_err());
}

#[test]
fn timestamps_that_go_backwards_are_reported_and_never_give_a_negative_rtt() {
    let mut conv = Conversation::new("10.0.0.1:40000", "10.0.0.2:8080", 1000, 5000);
    conv.open();
    conv.send(Sender::Client, &upgrade_request(None));
    conv.send(Sender::Server, &upgrade_response(None));
    conv.send(Sender::Client, &ws_frame(true, false, OpCode::Ping, CLIENT_KEY, b"p1"));
    conv.send(Sender::Server, &ws_frame(true, false, OpCode::Pong, None, b"p1"));
    conv.send(Sender::Client, &ws_frame(true, false, OpCode::Ping, CLIENT_KEY, b"p2"));
    conv.send(Sender::Server, &ws_frame(true, false, OpCode::Pong, None, b"p2"));
    let mut packets = conv.packets();
    // The last two packets (the pong "p2" and its ACK) are stamped 5 s before everything else.
    let earlier = framescope::analysis::Timestamp::from_nanos(packets[0].0.nanos - 5_000_000_000);
    let n = packets.len();
    for p in &mut packets[n - 2..] {
        p.0 = earlier;
    }
    let sink = analyze_packets(&packets, AnalyzerConfig::default());
    assert_eq!(sink.findings_of("timestamp-backwards").len(), 1, "{:?}", slugs(&sink));
    // p1 pairs normally; p2's pong is "earlier" than its ping: no RTT sample for it.
    assert_eq!(sink.rtts.len(), 1);
    assert!(sink.rtts.iter().all(|r| r.rtt_ms() >= 0.0));
}

#[test]
fn ten_thousand_pings_answered_after_all_were_sent_give_no_false_pong_missing() {
    let mut conv = Conversation::new("10.0.0.1:40000", "10.0.0.2:8080", 1000, 5000);
    conv.open();
    conv.send(Sender::Client, &upgrade_request(None));
    conv.send(Sender::Server, &upgrade_response(None));
    for i in 0..10_000u32 {
        conv.send(
            Sender::Client,
            &ws_frame(true, false, OpCode::Ping, CLIENT_KEY, &i.to_be_bytes()),
        );
    }
    for i in 0..10_000u32 {
        conv.send(
            Sender::Server,
            &ws_frame(true, false, OpCode::Pong, None, &i.to_be_bytes()),
        );
    }
    conv.close();
    let sink = analyze_packets(&conv.packets(), AnalyzerConfig::default());
    assert!(sink.findings_of("pong-missing").is_empty(), "{:?}", slugs(&sink));
    // The window is said once, and the pings it still held are paired.
    assert_eq!(sink.findings_of("ping-window").len(), 1);
    assert_eq!(sink.rtts.len(), framescope::analysis::ws::rtt::MAX_OUTSTANDING_PINGS);
}
