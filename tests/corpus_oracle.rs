//! Every capture of `../shared/corpus` against its tshark oracle: frames, messages, text,
//! close codes and ping/pong payloads must agree wherever tshark is right.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use framescope::analysis::event::CollectSink;
use framescope::analysis::ws::frame::OpCode;
use sha2::{Digest, Sha256};

/// One oracle row (one WebSocket frame as tshark dissected it).
#[derive(Debug, Clone)]
struct OracleFrame {
    srcport: u16,
    dstport: u16,
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    payload_length: u64,
    close_code: Option<u16>,
    text_sha256: Option<String>,
    ping_pong_hex: Option<String>,
}

fn read_oracle(path: &Path) -> Vec<OracleFrame> {
    let text = std::fs::read_to_string(path).expect("oracle");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("column {name}"))
    };
    let (src, dst, fin, rsv, op, masked, len, close, sha, pp) = (
        col("srcport"),
        col("dstport"),
        col("fin"),
        col("rsv"),
        col("opcode"),
        col("masked"),
        col("payload_length"),
        col("close_code"),
        col("text_sha256"),
        col("ping_pong_hex"),
    );
    lines
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let get = |i: usize| f.get(i).copied().unwrap_or("");
            let opt = |i: usize| Some(get(i).to_owned()).filter(|s| !s.is_empty());
            OracleFrame {
                srcport: get(src).parse().expect("srcport"),
                dstport: get(dst).parse().expect("dstport"),
                fin: get(fin) == "1",
                rsv: get(rsv).parse().unwrap_or(0),
                opcode: get(op).parse().expect("opcode"),
                masked: get(masked) == "1",
                payload_length: get(len).parse().expect("len"),
                close_code: get(close).parse().ok(),
                text_sha256: opt(sha),
                ping_pong_hex: opt(pp),
            }
        })
        .collect()
}

type PortPair = (u16, u16);
/// A frame as (fin, rsv bits, opcode, masked, payload length).
type FrameShape = (bool, u8, u8, bool, u64);

/// (sender port, receiver port) of one direction of one of our connections.
fn port_pair(sink: &CollectSink, conn: u32, dir: framescope::analysis::Direction) -> PortPair {
    let c = sink
        .connections
        .iter()
        .find(|c| c.conn == conn)
        .expect("connection announced");
    let (client, server) = (c.client.port(), c.server.port());
    if dir.index() == 0 {
        (client, server)
    } else {
        (server, client)
    }
}

/// Our frames as (fin, rsv, opcode, masked, len), by (sender port, receiver port).
fn our_frames(sink: &CollectSink) -> BTreeMap<PortPair, Vec<FrameShape>> {
    let mut out: BTreeMap<PortPair, Vec<FrameShape>> = BTreeMap::new();
    for f in &sink.frames {
        let key = port_pair(sink, f.conn, f.dir);
        let h = &f.header;
        let rsv = (u8::from(h.rsv1) << 2) | (u8::from(h.rsv2) << 1) | u8::from(h.rsv3);
        out.entry(key)
            .or_default()
            .push((h.fin, rsv, h.opcode.as_u4(), h.mask.is_some(), h.payload_len));
    }
    out
}

/// Frames tshark cannot see and we can: (file, sender port, receiver port, why).
const KNOWN_EXTRA: &[(&str, u16, u16, &str)] = &[
    (
        "ndn-tools__ipv4-websocket-segmented.pcap",
        59622,
        9696,
        "closing handshake (1001 both ways) of a connection upgraded before the capture began",
    ),
    (
        "ndn-tools__ipv4-websocket-segmented.pcap",
        9696,
        59622,
        "closing handshake (1001 both ways) of a connection upgraded before the capture began",
    ),
];

fn check_file(corpus: &Path, name: &str) -> Result<usize, String> {
    let oracle = read_oracle(&corpus.join("oracle").join(format!("{name}.tsv")));
    let (sink, summary) = common::analyze_file(&corpus.join(name));
    if let Some(err) = &summary.stopped_early {
        return Err(format!("{name}: stopped early: {err}"));
    }
    let ours = our_frames(&sink);
    let mut expected: BTreeMap<PortPair, Vec<_>> = BTreeMap::new();
    for o in &oracle {
        expected
            .entry((o.srcport, o.dstport))
            .or_default()
            .push((o.fin, o.rsv, o.opcode, o.masked, o.payload_length));
    }
    for (key, frames) in &expected {
        let got = ours.get(key).cloned().unwrap_or_default();
        if &got != frames {
            return Err(format!(
                "{name} {key:?}: frames differ\n  tshark: {frames:?}\n  ours:   {got:?}"
            ));
        }
    }
    for key in ours.keys() {
        if !expected.contains_key(key) && !KNOWN_EXTRA.iter().any(|(f, s, d, _)| *f == name && (*s, *d) == *key) {
            return Err(format!("{name} {key:?}: frames tshark does not show: {:?}", ours[key]));
        }
    }
    // Messages complete on frames with FIN set; compare their decoded content in order.
    let mut our_msgs: BTreeMap<PortPair, Vec<_>> = BTreeMap::new();
    for m in &sink.messages {
        our_msgs.entry(port_pair(&sink, m.conn, m.dir)).or_default().push(m);
    }
    let mut compared = 0;
    for (key, frames) in &expected {
        let finals: Vec<&OracleFrame> = oracle_messages(&oracle, *key);
        let got = our_msgs.get(key).cloned().unwrap_or_default();
        if got.len() != finals.len() {
            return Err(format!(
                "{name} {key:?}: {} messages, tshark {} (frames {})",
                got.len(),
                finals.len(),
                frames.len()
            ));
        }
        for (o, m) in finals.iter().zip(&got) {
            compared += 1;
            if let Some(sha) = &o.text_sha256 {
                let ours = hex::encode(Sha256::digest(&m.payload));
                if &ours != sha {
                    return Err(format!(
                        "{name} {key:?}: text differs: ours {:?}",
                        String::from_utf8_lossy(&m.payload[..m.payload.len().min(80)])
                    ));
                }
            }
            if o.opcode == 8 && o.close_code != m.close_code {
                return Err(format!(
                    "{name} {key:?}: close {:?} vs tshark {:?}",
                    m.close_code, o.close_code
                ));
            }
            if matches!(o.opcode, 9 | 10) {
                let ours = hex::encode(&m.payload);
                if o.ping_pong_hex.clone().unwrap_or_default() != ours {
                    return Err(format!(
                        "{name} {key:?}: ping/pong payload {ours} vs {:?}",
                        o.ping_pong_hex
                    ));
                }
                let want = if o.opcode == 9 { OpCode::Ping } else { OpCode::Pong };
                if m.opcode != want {
                    return Err(format!("{name} {key:?}: opcode {:?} vs {want:?}", m.opcode));
                }
            }
        }
    }
    Ok(compared)
}

/// The oracle rows that complete a message (control frames and final data frames).
fn oracle_messages(oracle: &[OracleFrame], key: PortPair) -> Vec<&OracleFrame> {
    oracle
        .iter()
        .filter(|o| (o.srcport, o.dstport) == key)
        .filter(|o| o.opcode >= 8 || o.fin)
        .collect()
}

#[test]
fn every_corpus_capture_agrees_with_the_tshark_oracle() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let mut names: Vec<String> = std::fs::read_dir(corpus.join("oracle"))
        .expect("oracle dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().trim_end_matches(".tsv").to_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 25, "expected the whole corpus, found {}", names.len());
    let mut failures = Vec::new();
    let mut messages = 0;
    for name in &names {
        match check_file(&corpus, name) {
            Ok(n) => messages += n,
            Err(e) => failures.push(e),
        }
    }
    eprintln!("{} captures, {messages} messages compared with tshark", names.len());
    assert!(
        failures.is_empty(),
        "{} of {} captures differ:\n{}",
        failures.len(),
        names.len(),
        failures.join("\n")
    );
}

fn kinds(sink: &CollectSink) -> Vec<&'static str> {
    sink.findings.iter().map(|f| f.kind.slug()).collect()
}

#[test]
fn the_rfc_violations_in_the_corpus_are_reported() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let cases: &[(&str, &str, usize)] = &[
        ("zeek__wstunnel-http.pcap", "unmasked-client-frame", 2),
        (
            "suricata-verify__websocket-ping__input.pcap",
            "unmasked-client-frame",
            1,
        ),
        ("zeek__wrong-accept-header.pcap", "bad-accept", 1),
        ("zeek__oversized-close-frame.pcapng", "control-too-long", 1),
        (
            "suricata-verify__http-request-header-multi__input.pcap",
            "upgrade-unanswered",
            1,
        ),
    ];
    for (file, slug, count) in cases {
        let (sink, _) = common::analyze_file(&corpus.join(file));
        assert_eq!(sink.findings_of(slug).len(), *count, "{file}: {:?}", kinds(&sink));
    }
}

#[test]
fn captures_that_need_decode_as_in_tshark_work_without_options() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let (sink, _) = common::analyze_file(&corpus.join("ndpi__websocket.pcap"));
    assert_eq!(sink.connections.len(), 1);
    assert!(sink.connections[0].handshake.is_none());
    assert_eq!(
        sink.connections[0].client.port(),
        50999,
        "the masking side is the client"
    );
    assert_eq!(sink.messages.len(), 5);
    assert!(sink.messages.iter().any(|m| m.payload == b"Welcome, 192.168.43.1 !"));
}

#[test]
fn a_request_without_101_is_not_a_websocket_connection() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let (sink, _) = common::analyze_file(&corpus.join("suricata-verify__http-request-header-multi__input.pcap"));
    assert!(sink.connections.is_empty());
    let (sink, _) = common::analyze_file(&corpus.join("ndpi__1kxun.pcap"));
    assert_eq!(sink.connections.len(), 3, "three upgrades answered with 101, no frames");
    assert!(sink.messages.is_empty());
}

#[test]
fn duplicated_packets_of_an_any_capture_are_decoded_once() {
    let Some(corpus) = common::corpus_dir() else {
        return;
    };
    let (sink, _) = common::analyze_file(&corpus.join("evsetool__cap.pcapng"));
    assert_eq!(sink.connections.len(), 2);
    assert_eq!(sink.messages.len(), 20);
    let compressed = sink.messages.iter().filter(|m| m.compressed).count();
    assert_eq!(compressed, 16);
    let first_text = sink.messages.iter().find(|m| m.compressed).expect("text");
    assert!(
        first_text.payload.starts_with(b"[2,"),
        "{:?}",
        String::from_utf8_lossy(&first_text.payload)
    );
}
