//! Every TCP flow that carried payload but no WebSocket connection is listed as a `flow`
//! record with why (issue 12), never as a `connection` record and never dropped silently.

mod common;

use common::{Conversation, upgrade_request, upgrade_response, write_pcap};
use framescope::export::pcap_writer::Sender;

fn conversation(port: u16, exchange: &[(Sender, &[u8])]) -> Vec<(framescope::analysis::Timestamp, Vec<u8>)> {
    let mut c = Conversation::new(&format!("10.0.0.2:{port}"), "10.0.0.1:8080", 1000, 5000);
    c.open();
    for (sender, bytes) in exchange {
        c.send(*sender, bytes);
    }
    c.close();
    c.packets()
}

#[test]
fn flows_without_websocket_are_listed_with_why() {
    let mut packets = Vec::new();
    packets.extend(conversation(
        40001,
        &[
            (Sender::Client, b"\x00\x01\x02binary protocol"),
            (Sender::Server, b"\x05ok"),
        ],
    ));
    packets.extend(conversation(
        40002,
        &[
            (Sender::Client, b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"),
            (Sender::Server, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        ],
    ));
    packets.extend(conversation(
        40003,
        &[
            (Sender::Client, &upgrade_request(None)),
            (Sender::Server, b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n"),
        ],
    ));
    packets.extend(conversation(40004, &[(Sender::Client, b"GE")]));
    packets.extend(conversation(
        40005,
        &[(
            Sender::Client,
            b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
        )],
    ));
    // A WebSocket connection: a `connection` record, no `flow` record.
    packets.extend(conversation(
        40006,
        &[
            (Sender::Client, &upgrade_request(None)),
            (Sender::Server, &upgrade_response(None)),
        ],
    ));
    // A flow with no payload at all is not listed (a SYN flood must not flood the output).
    let mut syn_only = Conversation::new("10.0.0.2:40007", "10.0.0.1:8080", 1, 2);
    syn_only.open();
    packets.extend(syn_only.packets());
    packets.sort_by_key(|(ts, _)| *ts);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("flows.pcap");
    write_pcap(&path, &packets, 65535);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["analyze", path.to_str().expect("utf-8"), "--jsonl"])
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let flows: Vec<(u64, String, String)> = records
        .iter()
        .filter(|r| r["type"] == "flow")
        .map(|r| {
            let client = r["client"].as_str().expect("client");
            let port = client.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
            (
                port,
                r["protocol"].as_str().expect("protocol").to_owned(),
                r["reason"].as_str().expect("reason").to_owned(),
            )
        })
        .collect();
    let by_port = |port: u64| {
        flows
            .iter()
            .find(|f| f.0 == port)
            .unwrap_or_else(|| panic!("no flow record for port {port}: {flows:?}"))
    };
    assert_eq!(by_port(40001).1, "tcp");
    assert!(
        by_port(40001)
            .2
            .starts_with("not HTTP: the stream starts with \"\\x00\\x01\\x02bin"),
        "{flows:?}"
    );
    assert_eq!(by_port(40002).1, "http");
    assert_eq!(by_port(40002).2, "HTTP without an upgrade to WebSocket");
    assert_eq!(by_port(40003).2, "HTTP: the upgrade was refused with status 403");
    assert_eq!(by_port(40004).2, "too short to recognise (2 bytes)");
    assert_eq!(by_port(40005).1, "http2");
    assert_eq!(
        flows.len(),
        5,
        "the WebSocket and the empty flow are not flows: {flows:?}"
    );
    let connections = records.iter().filter(|r| r["type"] == "connection").count();
    assert_eq!(connections, 1);
}

/// The packets of a real capture from its `skip`-th on: a capture started after the
/// connection's first packets were gone.
fn packets_from(name: &str, skip: usize) -> Vec<(framescope::analysis::Timestamp, Vec<u8>)> {
    let mut packets = common::pcap_packets(&common::captures_dir().join(name));
    packets.split_off(skip.min(packets.len()))
}

#[test]
fn flows_picked_up_mid_connection_say_tls_or_http2() {
    // After the TLS handshake (packet 14 of 29 is application data), and no key log: TLS
    // with no client random, and nothing to search (tests/tls_captures.rs decrypts it).
    let tls = common::analyze_packets(&packets_from("tls13-aes128gcm.pcap", 13), Default::default());
    assert!(tls.connections.is_empty());
    assert_eq!(common::slugs(&tls), ["tls-no-key"]);
    assert_eq!(tls.flows.len(), 1);
    assert_eq!(tls.flows[0].protocol, "tls");
    assert!(
        tls.flows[0].reason.starts_with("TLS picked up mid-connection"),
        "{}",
        tls.flows[0].reason
    );
    // h2c after its preface and SETTINGS, over IPv4 and IPv6, cut at several places.
    for (name, skip) in [
        ("h2c-hypercorn-two-websockets-and-get.pcap", 7),
        ("h2c-hypercorn-two-websockets-and-get.pcap", 15),
        ("h2c-ipv6-hypercorn-two-websockets-and-get.pcap", 13),
    ] {
        let h2 = common::analyze_packets(&packets_from(name, skip), Default::default());
        assert!(h2.connections.is_empty(), "{name} from {skip}");
        assert_eq!(h2.flows.len(), 1, "{name} from {skip}");
        assert_eq!(h2.flows[0].protocol, "http2", "{name} from {skip}");
        assert!(
            h2.flows[0].reason.starts_with("HTTP/2 picked up mid-connection"),
            "{name} from {skip}: {}",
            h2.flows[0].reason
        );
    }
    // A WebSocket picked up mid-stream is still found (not taken for either).
    let ws = common::analyze_packets(&packets_from("echo-text-binary-ping-close.pcap", 6), Default::default());
    assert_eq!(ws.connections.len(), 1);
    assert!(ws.connections[0].handshake.is_none());
    assert!(ws.messages.len() >= 4, "{}", ws.messages.len());
    assert!(ws.flows.is_empty(), "{:?}", ws.flows);
}
