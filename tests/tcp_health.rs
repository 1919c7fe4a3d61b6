//! Per-connection TCP counters (retransmissions, reordering, gaps, zero-window periods):
//! exact on built conversations, equal to tshark's retransmission count on a real capture
//! with duplicated packets, and a real zero window from a Python peer that stops reading.

mod common;

use std::process::Command;

use common::{Conversation, analyze_packets, upgrade_request, upgrade_response, ws_frame};
use framescope::analysis::AnalyzerConfig;
use framescope::analysis::event::TcpHealth;
use framescope::analysis::ws::frame::OpCode;
use framescope::export::pcap_writer::Sender;

fn only_health(sink: &framescope::analysis::event::CollectSink) -> TcpHealth {
    assert_eq!(sink.tcp.len(), 1, "one connection with TCP counters: {:?}", sink.tcp);
    sink.tcp[0].1
}

/// A WebSocket session of three 2500-byte client messages (three segments each at MSS 1000)
/// and three server replies.
fn session() -> Conversation {
    let mut c = Conversation::new("10.0.0.1:40000", "10.0.0.2:80", 1000, 5000);
    c.open();
    c.send(Sender::Client, &upgrade_request(None));
    c.send(Sender::Server, &upgrade_response(None));
    for i in 0..3u8 {
        c.send(
            Sender::Client,
            &ws_frame(true, false, OpCode::Binary, Some([1, 2, 3, 4]), &[i; 2500]),
        );
        c.send(Sender::Server, &ws_frame(true, false, OpCode::Text, None, b"ok"));
    }
    c.close();
    c
}

#[test]
fn a_clean_session_counts_its_segments_and_nothing_else() {
    let mut c = session();
    let sink = analyze_packets(&c.packets(), AnalyzerConfig::default());
    let h = only_health(&sink);
    // Client: SYN, ACK, request, 3 × 3 data segments, 4 ACKs of server data, FIN.
    let client_segments = c.segs.iter().filter(|s| s.sender == Sender::Client).count() as u64;
    assert_eq!(h.dirs[0].segments, client_segments);
    assert!(h.dirs.iter().all(|d| d.is_clean()), "{h:?}");
}

#[test]
fn reordered_duplicated_and_lost_segments_are_counted_where_they_happened() {
    let mut c = session();
    // The first client message's segments: swap its 2nd and 3rd (out of order)…
    let data: Vec<usize> = c
        .segs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.sender == Sender::Client && s.payload.len() == 1000)
        .map(|(i, _)| i)
        .collect();
    c.segs.swap(data[1], data[1] + 1);
    // …send a server reply twice (a retransmission)…
    let reply = c
        .segs
        .iter()
        .position(|s| s.sender == Sender::Server && s.payload.len() == 4)
        .unwrap();
    let copy = c.segs[reply].clone();
    c.segs.insert(reply + 1, copy);
    // …and lose the middle segment of the last client message (a gap).
    let full: Vec<usize> = c
        .segs
        .iter()
        .enumerate()
        .filter(|(_, s)| s.sender == Sender::Client && s.payload.len() == 1000)
        .map(|(i, _)| i)
        .collect();
    c.segs.remove(full[full.len() - 1]);
    let sink = analyze_packets(&c.packets(), AnalyzerConfig::default());
    let h = only_health(&sink);
    let (c2s, s2c) = (h.dirs[0], h.dirs[1]);
    assert_eq!(
        c2s.out_of_order, 2,
        "the swapped segment and the one after the lost one: {c2s:?}"
    );
    assert_eq!((c2s.gaps, c2s.gap_bytes), (1, 1000));
    assert_eq!(c2s.retransmissions, 0);
    assert_eq!((s2c.retransmissions, s2c.duplicate_bytes), (1, 4));
    assert_eq!((s2c.out_of_order, s2c.gaps), (0, 0));
}

/// Counts tshark's `tcp.analysis.retransmission` packets per (source, destination).
fn tshark_retransmissions(path: &std::path::Path) -> Option<Vec<(String, String)>> {
    let out = Command::new("tshark")
        .args(["-r"])
        .arg(path)
        .args([
            "-Y",
            "tcp.analysis.retransmission && tcp.len > 0",
            "-T",
            "fields",
            "-E",
            "separator=,",
            "-e",
            "ip.src",
            "-e",
            "tcp.srcport",
            "-e",
            "ip.dst",
            "-e",
            "tcp.dstport",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f.len() == 4).then(|| (format!("{}:{}", f[0], f[1]), format!("{}:{}", f[2], f[3])))
            })
            .collect(),
    )
}

#[test]
fn retransmissions_on_a_real_any_capture_equal_tsharks_per_connection_and_direction() {
    let Some(corpus) = common::corpus_dir() else { return };
    let path = corpus.join("evsetool__cap.pcapng");
    let Some(tshark) = tshark_retransmissions(&path) else {
        common::skip_or_fail_in_ci("tshark is not installed");
        return;
    };
    assert!(
        tshark.len() >= 10,
        "the corpus says 16 retransmissions: {}",
        tshark.len()
    );
    let (sink, _) = common::analyze_file(&path);
    let mut ours_total = 0;
    for (conn, health) in &sink.tcp {
        let info = sink.connections.iter().find(|c| c.conn == *conn).unwrap();
        for (dir, (from, to)) in [(0, (info.client, info.server)), (1, (info.server, info.client))] {
            let theirs = tshark
                .iter()
                .filter(|(s, d)| *s == from.to_string() && *d == to.to_string())
                .count() as u64;
            assert_eq!(health.dirs[dir].retransmissions, theirs, "conn {conn} dir {dir}");
            ours_total += health.dirs[dir].retransmissions;
        }
    }
    assert_eq!(
        ours_total as usize,
        tshark.len(),
        "every retransmission is on a WebSocket connection"
    );
}

/// A real zero window: a Python `websockets` server with a 16 KiB receive buffer that does
/// not read for a second while the client sends 2 MiB, captured with libpcap on `lo`.
#[test]
fn a_peer_that_stops_reading_shows_as_a_zero_window_period_on_the_senders_direction() {
    let script = common::captures_dir().join("../tests/servers/slow_reader.py");
    if !common::python_has("websockets.asyncio.server") {
        common::skip_or_fail_in_ci("python3 with websockets is not installed");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let Some(packets) = common::lo::capture_lo_while(&format!("tcp port {port}"), || {
        let out = Command::new("python3")
            .arg(&script)
            .arg(port.to_string())
            .output()
            .expect("python3");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }) else {
        return;
    };
    let (log, packets) = packets;
    assert!(log.contains("received 16 messages"), "{log}");
    let sink = analyze_packets(&packets, AnalyzerConfig::default());
    let h = only_health(&sink);
    let c2s = h.dirs[0];
    assert!(c2s.zero_windows >= 1, "{c2s:?}");
    // The server slept a second before reading: most of that the client was blocked.
    assert!(c2s.zero_window_micros > 300_000, "{c2s:?}");
    assert_eq!(h.dirs[1].zero_windows, 0, "the client always read: {:?}", h.dirs[1]);
    let binary = sink
        .messages
        .iter()
        .filter(|m| m.facts.opcode == OpCode::Binary)
        .count();
    assert_eq!(binary, 16, "every message decoded despite the stall");
}
