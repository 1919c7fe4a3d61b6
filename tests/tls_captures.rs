//! The TLS captures of `captures/` (real Python `websockets` and OpenSSL `s_client` peers on
//! `lo`, key logs written by the peers): framescope decrypts them and its WebSocket frames
//! equal tshark's (`-o tls.keylog_file:`), the oracle for the TLS part; the TLS 1.2 AES-CBC
//! ones also equal what the client logged (`NAME.peers.json`), and survive damaged records.

mod common;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256};

use framescope::analysis::event::CollectSink;
use framescope::analysis::link::LinkType;
use framescope::analysis::tls::TlsLimits;
use framescope::analysis::ws::frame::OpCode;
use framescope::analysis::{Analyzer, AnalyzerConfig, Direction, Timestamp};

/// (capture, TLS version, cipher suite) of every websockets-echo capture.
const ECHO_CAPTURES: &[(&str, &str, &str)] = &[
    ("tls13-aes128gcm", "1.3", "TLS_AES_128_GCM_SHA256"),
    ("tls13-aes256gcm", "1.3", "TLS_AES_256_GCM_SHA384"),
    ("tls13-chacha20", "1.3", "TLS_CHACHA20_POLY1305_SHA256"),
    ("tls13-hello-retry", "1.3", "TLS_AES_256_GCM_SHA384"),
    (
        "tls12-ecdhe-aes128gcm",
        "1.2",
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    ),
    (
        "tls12-ecdhe-aes256gcm",
        "1.2",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    ),
    (
        "tls12-ecdhe-chacha20",
        "1.2",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    ),
    (
        "tls12-ecdhe-rsa-aes128-sha",
        "1.2",
        "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    ),
    (
        "tls12-ecdhe-rsa-aes256-sha384",
        "1.2",
        "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    ),
    (
        "tls12-rsa-aes128-sha256-no-etm",
        "1.2",
        "TLS_RSA_WITH_AES_128_CBC_SHA256",
    ),
    (
        "tls12-ecdhe-ecdsa-aes256-sha-no-etm",
        "1.2",
        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    ),
];

/// The TLS 1.2 AES-CBC captures: (capture, OpenSSL's name of the suite, whether the
/// ServerHello negotiated RFC 7366 encrypt-then-MAC).
const CBC_CAPTURES: &[(&str, &str, bool)] = &[
    ("tls12-ecdhe-rsa-aes128-sha", "ECDHE-RSA-AES128-SHA", true),
    ("tls12-ecdhe-rsa-aes256-sha384", "ECDHE-RSA-AES256-SHA384", true),
    ("tls12-rsa-aes128-sha256-no-etm", "AES128-SHA256", false),
    ("tls12-ecdhe-ecdsa-aes256-sha-no-etm", "ECDHE-ECDSA-AES256-SHA", false),
];

/// Ethernet packets (a capture's, after a test changed them) analysed with a key log.
fn analyze_packets_with_keys(packets: &[(Timestamp, Vec<u8>)], keys: &Path) -> CollectSink {
    let mut analyzer = Analyzer::new(AnalyzerConfig::default());
    analyzer.keylog_mut().feed(&std::fs::read(keys).unwrap());
    let mut sink = CollectSink::default();
    for (ts, data) in packets {
        analyzer.push_packet(*ts, LinkType::Ethernet, data, &mut sink);
    }
    analyzer.finish(&mut sink);
    sink
}

fn analyze(pcap: &Path, keys: Option<&Path>, config: AnalyzerConfig) -> CollectSink {
    let text = keys.map(|k| std::fs::read(k).expect("key log")).unwrap_or_default();
    let (sink, summary) = common::analyze_file_with_keys(pcap, &text, config);
    assert!(summary.stopped_early.is_none());
    sink
}

fn with_frames() -> AnalyzerConfig {
    AnalyzerConfig {
        emit_frames: true,
        ..AnalyzerConfig::default()
    }
}

fn capture(name: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let dir = common::captures_dir();
    (dir.join(format!("{name}.pcap")), dir.join(format!("{name}.keys")))
}

fn payloads(sink: &CollectSink, dir: Direction) -> Vec<(OpCode, Vec<u8>)> {
    sink.messages
        .iter()
        .filter(|m| m.dir == dir)
        .map(|m| (m.opcode, m.payload.clone()))
        .collect()
}

#[test]
fn every_suite_decrypts_to_the_echo_session_the_peers_had() {
    for (name, version, suite) in ECHO_CAPTURES {
        let (pcap, keys) = capture(name);
        let sink = analyze(&pcap, Some(&keys), AnalyzerConfig::default());
        assert_eq!(sink.connections.len(), 1, "{name}");
        let conn = &sink.connections[0];
        let tls = conn.tls.as_ref().unwrap_or_else(|| panic!("{name}: no TLS facts"));
        assert_eq!(tls.version.as_deref(), Some(*version), "{name}");
        assert_eq!(tls.cipher_suite.as_deref(), Some(*suite), "{name}");
        assert_eq!(tls.sni.as_deref(), Some("localhost"), "{name}");
        assert!(tls.decrypted, "{name}");
        let hs = conn.handshake.as_ref().expect("handshake");
        assert_eq!(hs.path(), Some("/tls-echo"));
        let sent = payloads(&sink, Direction::ClientToServer);
        let echoed = payloads(&sink, Direction::ServerToClient);
        let opcodes: Vec<OpCode> = sent.iter().map(|(o, _)| *o).collect();
        assert_eq!(
            opcodes,
            [
                OpCode::Text,
                OpCode::Binary,
                OpCode::Text,
                OpCode::Binary,
                OpCode::Ping,
                OpCode::Close
            ],
            "{name}"
        );
        assert_eq!(sent[0].1, b"hello over TLS");
        assert_eq!(sent[1].1, (0u8..=255).collect::<Vec<u8>>());
        assert_eq!(sent[2].1.len(), 104_400);
        assert!(
            sent[2]
                .1
                .starts_with(b"line 00000 of a large message that spans many TLS records\n")
        );
        assert!(
            sent[2]
                .1
                .ends_with(b"line 01799 of a large message that spans many TLS records\n")
        );
        assert_eq!(sent[3].1.len(), 40_000);
        // The server echoes every data message; the pong answers the ping.
        for i in 0..4 {
            assert_eq!(sent[i].1, echoed[i].1, "{name}: echo {i}");
        }
        assert_eq!(echoed[4], (OpCode::Pong, b"tls-rtt".to_vec()), "{name}");
        assert_eq!(sink.rtts.len(), 1, "{name}");
        assert!(sink.findings.is_empty(), "{name}: {:?}", sink.findings);
    }
}

#[test]
fn key_updates_in_both_directions_keep_decrypting() {
    let (pcap, keys) = capture("tls13-keyupdate-openssl-client");
    let sink = analyze(&pcap, Some(&keys), AnalyzerConfig::default());
    assert!(sink.findings.is_empty(), "{:?}", sink.findings);
    let texts: Vec<String> = sink
        .messages
        .iter()
        .filter(|m| m.opcode == OpCode::Text && m.dir == Direction::ServerToClient)
        .map(|m| String::from_utf8(m.payload.clone()).unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "before any key update",
            "after KeyUpdate with update_requested",
            "after a client-only KeyUpdate"
        ]
    );
    let close = sink.messages.last().unwrap();
    assert_eq!((close.opcode, close.close_code), (OpCode::Close, Some(1000)));
}

#[test]
fn secrets_in_a_pcapng_decryption_secrets_block_need_no_key_log() {
    let dir = common::captures_dir();
    let with_dsb = analyze(&dir.join("tls13-aes128gcm-dsb.pcapng"), None, AnalyzerConfig::default());
    let (pcap, keys) = capture("tls13-aes128gcm");
    let with_file = analyze(&pcap, Some(&keys), AnalyzerConfig::default());
    assert_eq!(with_dsb.messages.len(), 12);
    assert!(with_dsb.messages == with_file.messages, "messages differ");
    assert_eq!(with_dsb.connections[0].tls, with_file.connections[0].tls);
}

#[test]
fn without_a_key_the_connection_is_a_flow_with_a_tls_no_key_finding() {
    let (pcap, _) = capture("tls12-ecdhe-chacha20");
    let sink = analyze(&pcap, None, AnalyzerConfig::default());
    assert!(sink.connections.is_empty());
    assert_eq!(common::slugs(&sink), ["tls-no-key"]);
    assert_eq!(sink.flows.len(), 1);
    let flow = &sink.flows[0];
    assert_eq!(flow.protocol, "tls");
    assert_eq!(flow.reason, "TLS without a key");
    let tls = flow.tls.as_ref().unwrap();
    assert_eq!(tls.version.as_deref(), Some("1.2"));
    assert_eq!(tls.sni.as_deref(), Some("localhost"));
    assert!(!tls.decrypted);
}

#[test]
fn a_wrong_key_is_a_decrypt_failure_and_the_direction_gives_up_within_the_cap() {
    let (pcap, keys) = capture("tls13-chacha20");
    let tmp = wrong_keys(&keys);
    let sink = analyze(&pcap, Some(tmp.path()), AnalyzerConfig::default());
    assert!(sink.connections.is_empty());
    let failures = sink.findings_of("tls-decrypt-failed");
    // First failure and the give-up notice, per direction.
    assert_eq!(failures.len(), 4, "{failures:?}");
    assert!(failures.iter().any(|f| f.detail.contains("records failed in a row")));
    assert_eq!(sink.flows[0].reason, "TLS decryption failed");
}

#[test]
fn a_key_log_that_arrives_late_still_decrypts_what_waited() {
    // As in a live capture re-reading a browser's SSLKEYLOGFILE: the first half of the
    // packets arrive before the key log line does.
    let (pcap, keys) = capture("tls13-aes128gcm");
    let packets = common::pcap_packets(&pcap);
    let mut analyzer = common::analyzer_for_late_keys();
    let mut sink = CollectSink::default();
    let (before, after) = packets.split_at(packets.len() / 2);
    for (ts, data) in before {
        analyzer.push_packet(*ts, LinkType::Ethernet, data, &mut sink);
    }
    assert!(sink.connections.is_empty() && sink.findings.is_empty());
    analyzer.keylog_mut().feed(&std::fs::read(&keys).unwrap());
    for (ts, data) in after {
        analyzer.push_packet(*ts, LinkType::Ethernet, data, &mut sink);
    }
    analyzer.finish(&mut sink);
    let with_keys_first = analyze(&pcap, Some(&keys), AnalyzerConfig::default());
    assert_eq!(sink.messages.len(), 12);
    assert!(sink.messages == with_keys_first.messages, "messages differ");
    assert!(sink.findings.is_empty(), "{:?}", sink.findings);
}

/// A live analyzer (a key grace period) fed a whole connection, FIN included, before its
/// key log line exists: (analyzer, sink, the last packet's time).
fn live_analyzer_without_keys(pcap: &Path) -> (Analyzer, CollectSink, Timestamp) {
    let mut analyzer = Analyzer::new(AnalyzerConfig {
        tls: TlsLimits {
            max_waiting_bytes: 1 << 20,
            ..TlsLimits::default()
        },
        tls_key_grace_secs: 5.0,
        ..AnalyzerConfig::default()
    });
    let mut sink = CollectSink::default();
    let packets = common::pcap_packets(pcap);
    for (ts, data) in &packets {
        analyzer.push_packet(*ts, LinkType::Ethernet, data, &mut sink);
    }
    let last = packets.last().map(|(ts, _)| *ts).unwrap();
    (analyzer, sink, last)
}

#[test]
fn a_key_written_after_the_connection_closed_decrypts_within_the_live_grace() {
    // Chromium writes a short connection's key log line from another thread; live, it can
    // land after the FIN. The flow waits for it instead of reporting tls-no-key.
    let (pcap, keys) = capture("tls13-aes128gcm");
    let (mut analyzer, mut sink, last) = live_analyzer_without_keys(&pcap);
    assert_eq!(analyzer.flows_awaiting_key(), 1, "the connection ended with FINs");
    analyzer.settle_waiting_keys(last.saturating_add_secs(1), &mut sink);
    assert_eq!(analyzer.flows_awaiting_key(), 1, "no key yet, grace not over");
    assert!(sink.connections.is_empty() && sink.findings.is_empty() && sink.flows.is_empty());
    analyzer.keylog_mut().feed(&std::fs::read(&keys).unwrap());
    analyzer.settle_waiting_keys(last.saturating_add_secs(2), &mut sink);
    assert_eq!(analyzer.flows_awaiting_key(), 0);
    let with_keys_first = analyze(&pcap, Some(&keys), AnalyzerConfig::default());
    assert_eq!(sink.messages.len(), 12);
    assert!(sink.messages == with_keys_first.messages, "messages differ");
    assert!(sink.findings.is_empty(), "{:?}", sink.findings);
    analyzer.finish(&mut sink);
    assert_eq!(sink.messages.len(), 12, "finishing again adds nothing");
}

#[test]
fn a_key_that_never_comes_is_reported_once_the_live_grace_has_passed() {
    let (pcap, _) = capture("tls13-aes128gcm");
    let (mut analyzer, mut sink, last) = live_analyzer_without_keys(&pcap);
    analyzer.settle_waiting_keys(last.saturating_add_secs(4), &mut sink);
    assert!(sink.findings.is_empty());
    analyzer.settle_waiting_keys(last.saturating_add_secs(6), &mut sink);
    assert_eq!(analyzer.flows_awaiting_key(), 0);
    assert_eq!(common::slugs(&sink), ["tls-no-key"]);
    assert_eq!(sink.flows.len(), 1);
    assert_eq!(sink.flows[0].reason, "TLS without a key");
    // The flow ends when its FINs did, not when the grace ran out: as a file shows it.
    let offline = analyze(&pcap, None, AnalyzerConfig::default());
    assert_eq!(sink.flows[0].last_ts, offline.flows[0].last_ts);
    assert!(sink.flows[0] == offline.flows[0], "{:?}", sink.flows[0]);
    assert!(sink.findings == offline.findings, "{:?}", sink.findings);
}

#[test]
fn a_key_log_that_never_arrives_is_reported_when_the_waiting_cap_bites() {
    let (pcap, _) = capture("tls13-aes256gcm");
    let sink = analyze(
        &pcap,
        None,
        AnalyzerConfig {
            tls: TlsLimits {
                max_waiting_bytes: 4096,
                ..TlsLimits::default()
            },
            ..AnalyzerConfig::default()
        },
    );
    let no_key = sink.findings_of("tls-no-key");
    assert_eq!(no_key.len(), 1);
    // Reported when the 4 KiB cap bit, long before the capture's end.
    let last_ts = sink.flows[0].last_ts;
    assert!(no_key[0].ts < last_ts);
}

#[test]
fn decrypted_frames_equal_tsharks_on_every_tls_capture() {
    let mut names: Vec<&str> = ECHO_CAPTURES.iter().map(|c| c.0).collect();
    names.push("tls13-keyupdate-openssl-client");
    for name in names {
        let (pcap, keys) = capture(name);
        let Some(oracle) = common::tshark::frames(&pcap, &keys) else {
            common::skip_or_fail_in_ci("tshark is not installed");
            return;
        };
        let sink = analyze(&pcap, Some(&keys), with_frames());
        let ours = common::tshark::framescope_frames(&sink);
        assert!(!oracle.is_empty(), "{name}: tshark decrypted nothing");
        assert_eq!(ours, oracle, "{name}");
    }
}

#[test]
fn a_lost_segment_of_three_records_is_reported_and_decryption_resumes_after_it() {
    let (pcap, keys) = capture("tls13-aes128gcm");
    let mut packets = common::pcap_packets(&pcap);
    // The client's segment carrying the 40 000-byte binary message (three records, 40 175
    // bytes) is the largest of the capture: drop it, as a capture drop would.
    let biggest = (0..packets.len()).max_by_key(|i| packets[*i].1.len()).unwrap();
    let dropped = packets.remove(biggest);
    assert!(dropped.1.len() > 40_000);
    let sink = analyze_packets_with_keys(&packets, &keys);
    let lost = sink.findings_of("tls-record-lost");
    assert_eq!(lost.len(), 1, "{:?}", sink.findings);
    assert!(
        lost[0].detail.starts_with("40175 bytes not captured"),
        "{}",
        lost[0].detail
    );
    assert!(sink.findings_of("tls-decrypt-failed").is_empty(), "{:?}", sink.findings);
    // The server still echoed the binary message (its direction lost nothing) …
    let echoed = payloads(&sink, Direction::ServerToClient);
    assert!(echoed.iter().any(|(o, p)| *o == OpCode::Binary && p.len() == 40_000));
    // … and the client's records after the hole decrypt again: its ping and close arrive.
    let sent = payloads(&sink, Direction::ClientToServer);
    assert!(!sent.iter().any(|(o, p)| *o == OpCode::Binary && p.len() == 40_000));
    assert!(sent.contains(&(OpCode::Ping, b"tls-rtt".to_vec())), "{sent:?}");
    assert_eq!(sent.last().map(|m| m.0), Some(OpCode::Close));
}

/// (opcode, length, SHA-256) of every data message `dir`'s peer sent.
fn data_digests(sink: &CollectSink, dir: Direction) -> Vec<(String, u64, String)> {
    sink.messages
        .iter()
        .filter(|m| m.dir == dir && matches!(m.opcode, OpCode::Text | OpCode::Binary))
        .map(|m| {
            let opcode = if m.opcode == OpCode::Text { "text" } else { "binary" };
            (
                opcode.to_owned(),
                m.payload.len() as u64,
                hex::encode(Sha256::digest(&m.payload)),
            )
        })
        .collect()
}

fn logged_digests(log: &Value, side: &str) -> Vec<(String, u64, String)> {
    log[side]
        .as_array()
        .unwrap_or_else(|| panic!("peer log has no {side}"))
        .iter()
        .map(|m| {
            (
                m["opcode"].as_str().unwrap().to_owned(),
                m["length"].as_u64().unwrap(),
                m["sha256"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The extension types of the capture's ServerHello, by tshark (None when it is missing).
fn server_hello_extensions(pcap: &Path) -> Option<Vec<u16>> {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "tls.handshake.type == 2",
            "-T",
            "fields",
            "-e",
            "tls.handshake.extension.type",
        ])
        .output()
        .ok()?;
    assert!(out.status.success(), "tshark failed");
    let text = String::from_utf8(out.stdout).unwrap();
    Some(text.trim().split(',').map(|t| t.parse().unwrap()).collect())
}

#[test]
fn cbc_captures_decode_to_what_the_client_logged() {
    for (name, openssl_suite, etm) in CBC_CAPTURES {
        let (pcap, keys) = capture(name);
        let log: Value =
            serde_json::from_slice(&std::fs::read(common::captures_dir().join(format!("{name}.peers.json"))).unwrap())
                .unwrap();
        // The server negotiated what the script asked for.
        assert_eq!(log["cipher"], *openssl_suite, "{name}");
        assert_eq!(log["tls_version"], "TLSv1.2", "{name}");
        match server_hello_extensions(&pcap) {
            Some(exts) => assert_eq!(exts.contains(&22), *etm, "{name}: encrypt_then_mac in {exts:?}"),
            None => common::skip_or_fail_in_ci("tshark is not installed"),
        }
        let sink = analyze(&pcap, Some(&keys), AnalyzerConfig::default());
        assert!(sink.findings.is_empty(), "{name}: {:?}", sink.findings);
        assert_eq!(
            data_digests(&sink, Direction::ClientToServer),
            logged_digests(&log, "sent"),
            "{name}"
        );
        assert_eq!(
            data_digests(&sink, Direction::ServerToClient),
            logged_digests(&log, "received"),
            "{name}"
        );
        // permessage-deflate inside TLS: the 104 400-byte text travels compressed; the
        // 40 000 incompressible bytes span three records.
        let large = sink.messages.iter().find(|m| m.payload.len() == 104_400).unwrap();
        assert!(
            large.compressed && large.wire_len < 10_000,
            "{name}: {}",
            large.wire_len
        );
        let binary = sink.messages.iter().find(|m| m.payload.len() == 40_000).unwrap();
        assert!(binary.wire_len > 2 * 16_384, "{name}");
        let sent = payloads(&sink, Direction::ClientToServer);
        assert!(sent.contains(&(OpCode::Ping, log["ping"].as_str().unwrap().as_bytes().to_vec())));
        let close = sink
            .messages
            .iter()
            .find(|m| m.dir == Direction::ClientToServer && m.opcode == OpCode::Close)
            .unwrap();
        assert_eq!(close.close_code, Some(log["close"]["code"].as_u64().unwrap() as u16));
        assert_eq!(close.close_reason().as_deref(), log["close"]["reason"].as_str());
    }
}

/// The key log with the last hex digit of every secret changed.
fn wrong_keys(keys: &Path) -> tempfile::NamedTempFile {
    let text = std::fs::read_to_string(keys).unwrap();
    let wrong: String = text
        .lines()
        .map(|l| {
            let mut l = l.to_owned();
            if !l.starts_with('#') {
                let last = l.pop().unwrap();
                l.push(if last == '0' { '1' } else { '0' });
            }
            l + "\n"
        })
        .collect();
    let tmp = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(tmp.path(), wrong).unwrap();
    tmp
}

#[test]
fn a_wrong_key_fails_the_cbc_mac_or_padding_check() {
    for (name, _, etm) in CBC_CAPTURES {
        let (pcap, keys) = capture(name);
        let wrong = wrong_keys(&keys);
        let sink = analyze(&pcap, Some(wrong.path()), AnalyzerConfig::default());
        assert!(sink.connections.is_empty(), "{name}");
        let failures = sink.findings_of("tls-decrypt-failed");
        // First failure and the give-up notice, per direction.
        assert_eq!(failures.len(), 4, "{name}: {failures:?}");
        let check = if *etm {
            "MAC check (encrypt-then-MAC) or padding check failed"
        } else {
            "MAC or padding check failed"
        };
        assert!(
            failures.iter().all(|f| f.detail.contains(check)),
            "{name}: {failures:?}"
        );
        assert_eq!(sink.flows[0].reason, "TLS decryption failed", "{name}");
        assert_eq!(
            sink.flows[0].tls.as_ref().unwrap().cipher_suite.as_deref(),
            ECHO_CAPTURES.iter().find(|c| c.0 == *name).map(|c| c.2)
        );
    }
}

/// Where an Ethernet + IPv4 packet's TCP header and payload start.
fn tcp_offsets(packet: &[u8]) -> (usize, usize) {
    let tcp = 14 + usize::from(packet[14] & 0x0f) * 4;
    (tcp, tcp + usize::from(packet[tcp + 12] >> 4) * 4)
}

fn source_port(packet: &[u8]) -> u16 {
    let (tcp, _) = tcp_offsets(packet);
    u16::from_be_bytes([packet[tcp], packet[tcp + 1]])
}

/// The packet with only `range` of its TCP payload (sequence number and IP length fixed),
/// as if the rest had been sent in segments the capture lost.
fn tcp_slice(packet: &[u8], range: std::ops::Range<usize>) -> Vec<u8> {
    let (tcp, payload) = tcp_offsets(packet);
    let mut out = packet[..payload].to_vec();
    out.extend_from_slice(&packet[payload + range.start..payload + range.end]);
    let seq = u32::from_be_bytes(packet[tcp + 4..tcp + 8].try_into().unwrap()).wrapping_add(range.start as u32);
    out[tcp + 4..tcp + 8].copy_from_slice(&seq.to_be_bytes());
    let ip_len = u16::try_from(out.len() - 14).unwrap();
    out[16..18].copy_from_slice(&ip_len.to_be_bytes());
    out
}

/// Damages, in each CBC capture and each direction in turn, that side's largest segment
/// (the one carrying the 40 000-byte binary message in three records: two full 2^14-byte
/// fragments and the rest), decodes, and checks that the damage costs that message only:
/// the other side's copy is intact and the damaged side's ping (or pong) and close after it
/// decrypt and stay aligned. Returns the findings of every run.
fn damage_each_direction(
    damage: impl Fn(&mut Vec<(Timestamp, Vec<u8>)>, usize),
) -> Vec<(String, Direction, CollectSink)> {
    let mut runs = Vec::new();
    for (name, _, _) in CBC_CAPTURES {
        let (pcap, keys) = capture(name);
        let original = common::pcap_packets(&pcap);
        // The capture starts with the client's SYN.
        let client_port = source_port(&original[0].1);
        for (dir, other, control) in [
            (Direction::ClientToServer, Direction::ServerToClient, OpCode::Ping),
            (Direction::ServerToClient, Direction::ClientToServer, OpCode::Pong),
        ] {
            let mut packets = original.clone();
            let biggest = (0..packets.len())
                .filter(|i| (source_port(&packets[*i].1) == client_port) == (dir == Direction::ClientToServer))
                .max_by_key(|i| packets[*i].1.len())
                .unwrap();
            damage(&mut packets, biggest);
            let sink = analyze_packets_with_keys(&packets, &keys);
            assert!(sink.connections[0].tls.as_ref().unwrap().decrypted);
            let is_big = |(o, p): &(OpCode, Vec<u8>)| *o == OpCode::Binary && p.len() == 40_000;
            assert!(payloads(&sink, other).iter().any(is_big), "{name} {dir:?}");
            let after = payloads(&sink, dir);
            assert!(!after.iter().any(is_big), "{name} {dir:?}");
            assert!(
                after.contains(&(control, b"tls-rtt".to_vec())),
                "{name} {dir:?}: {:?} {:?}",
                after.iter().map(|m| (m.0, m.1.len())).collect::<Vec<_>>(),
                sink.findings
            );
            assert_eq!(after.last().map(|m| m.0), Some(OpCode::Close), "{name} {dir:?}");
            assert_eq!(after.len(), 5, "{name} {dir:?}");
            runs.push(((*name).to_owned(), dir, sink));
        }
    }
    runs
}

#[test]
fn a_flipped_ciphertext_byte_fails_that_cbc_record_and_later_records_decrypt() {
    let runs = damage_each_direction(|packets, biggest| {
        // The segment's middle byte lies inside the second record.
        let damaged = &mut packets[biggest].1;
        let middle = damaged.len() / 2;
        assert!(middle > 16_384 + 100);
        damaged[middle] ^= 0x20;
    });
    for (name, dir, sink) in runs {
        let failed = sink.findings_of("tls-decrypt-failed");
        assert_eq!(failed.len(), 1, "{name} {dir:?}: {:?}", sink.findings);
        assert_eq!(failed[0].dir, Some(dir), "{name}");
        assert!(sink.findings_of("tls-record-lost").is_empty(), "{name}");
    }
}

#[test]
fn a_segment_lost_inside_a_full_cbc_record_costs_that_record_only() {
    // As on a network, where a 16 KiB record spans a dozen TCP segments: 8000 bytes from
    // inside the second record are missing. Its plaintext is known to be 2^14 bytes (a full
    // fragment, by its length), so the WebSocket frames after it stay aligned although CBC
    // padding hides the plaintext length of a record that cannot be decrypted.
    let runs = damage_each_direction(|packets, biggest| {
        let packet = packets[biggest].1.clone();
        let (_, payload) = tcp_offsets(&packet);
        let records = &packet[payload..];
        let first_len = usize::from(u16::from_be_bytes([records[3], records[4]]));
        let second = 5 + first_len;
        assert_eq!((records[0], records[second]), (23, 23), "two application data records");
        let ts = packets[biggest].0;
        packets[biggest].1 = tcp_slice(&packet, 0..second + 1000);
        packets.insert(biggest + 1, (ts, tcp_slice(&packet, second + 9000..records.len())));
    });
    for (name, dir, sink) in runs {
        let lost = sink.findings_of("tls-record-lost");
        assert_eq!(lost.len(), 1, "{name} {dir:?}: {:?}", sink.findings);
        assert!(
            lost[0].detail.starts_with("8000 bytes not captured"),
            "{}",
            lost[0].detail
        );
        assert!(sink.findings_of("tls-decrypt-failed").is_empty(), "{name} {dir:?}");
    }
}

/// (opcode, payload or None when it could not be inflated) of each message `dir` sent, to
/// compare a mid-connection decode with the whole capture's.
fn messages_of(sink: &CollectSink, dir: Direction) -> Vec<(OpCode, Option<Vec<u8>>)> {
    sink.messages
        .iter()
        .filter(|m| m.dir == dir)
        .map(|m| (m.opcode, m.decoded.then(|| m.payload.clone())))
        .collect()
}

#[test]
fn a_tls13_connection_picked_up_mid_connection_is_found_in_the_key_log_and_decoded() {
    for (name, suite) in [
        ("tls13-aes128gcm", "TLS_AES_128_GCM_SHA256"),
        ("tls13-aes256gcm", "TLS_AES_256_GCM_SHA384"),
        ("tls13-chacha20", "TLS_CHACHA20_POLY1305_SHA256"),
    ] {
        let (pcap, keys) = capture(name);
        let whole = analyze(&pcap, Some(&keys), AnalyzerConfig::default());
        let packets = common::pcap_packets(&pcap);
        let mut decoded_cuts = 0;
        for cut in 8..packets.len().saturating_sub(4) {
            let sink = analyze_packets_with_keys(&packets[cut..], &keys);
            let Some(conn) = sink.connections.first() else { continue };
            decoded_cuts += 1;
            assert_eq!(
                conn.client, whole.connections[0].client,
                "{name} from packet {cut}: the client"
            );
            let tls = conn.tls.as_ref().expect("tls facts");
            assert!(tls.decrypted, "{name} from {cut}");
            assert_eq!(tls.cipher_suite.as_deref(), Some(suite), "{name} from {cut}");
            assert_eq!(tls.version.as_deref(), Some("1.3"));
            // Each direction decodes the whole capture's messages from some point on; a
            // compressed message whose window came before the cut cannot be inflated.
            for dir in [Direction::ClientToServer, Direction::ServerToClient] {
                let (got, all) = (messages_of(&sink, dir), messages_of(&whole, dir));
                assert!(!got.is_empty() && got.len() <= all.len(), "{name} from {cut}: {dir:?}");
                for (i, (g, w)) in got.iter().zip(&all[all.len() - got.len()..]).enumerate() {
                    assert_eq!(g.0, w.0, "{name} from {cut}: {dir:?} message {i}");
                    assert!(
                        g.1.is_none() || g.1 == w.1,
                        "{name} from {cut}: {dir:?} message {i} differs"
                    );
                }
                // The uncompressed tail (ping, pong, close) always decodes.
                assert!(got.last().is_some_and(|m| m.0 == OpCode::Close && m.1.is_some()));
            }
        }
        assert!(decoded_cuts >= 3, "{name}: {decoded_cuts} cuts decoded");
    }
}

#[test]
fn picked_up_mid_connection_tls12_and_missing_keys_are_said_so() {
    // TLS 1.2: its keys come from both hellos' randoms, which were not captured.
    let (pcap, keys) = capture("tls12-ecdhe-aes128gcm");
    let packets = common::pcap_packets(&pcap);
    let sink = analyze_packets_with_keys(&packets[12..], &keys);
    assert!(sink.connections.is_empty());
    assert_eq!(sink.flows.len(), 1);
    assert_eq!(sink.flows[0].protocol, "tls");
    assert!(
        sink.flows[0].reason.starts_with("TLS picked up mid-connection"),
        "{}",
        sink.flows[0].reason
    );
    let no_key = sink.findings_of("tls-no-key");
    assert_eq!(no_key.len(), 1);
    assert!(
        no_key[0]
            .detail
            .contains("TLS 1.3 traffic secrets of the key log's 1 sessions"),
        "{}",
        no_key[0].detail
    );
    // TLS 1.3 without a key log.
    let (pcap, _) = capture("tls13-aes128gcm");
    let sink = common::analyze_packets(&common::pcap_packets(&pcap)[13..], AnalyzerConfig::default());
    assert!(sink.connections.is_empty());
    assert!(sink.flows[0].reason.starts_with("TLS picked up mid-connection"));
    assert!(sink.findings_of("tls-no-key")[0].detail.contains("with no key log"));
}
