//! `framescope analyze` as a user runs it: the JSON Lines record format of DESIGN.md, exact
//! payloads from real third-party sessions in `captures/`, the report, and exit statuses.

mod common;

use serde_json::Value;

use common::cli::{framescope, payload};

fn jsonl(capture: &str) -> Vec<Value> {
    common::cli::jsonl(capture, &[])
}

fn messages<'a>(records: &'a [Value], dir: &str, opcode: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["type"] == "message" && r["dir"] == dir && r["opcode"] == opcode)
        .collect()
}

const MESSAGE_FIELDS: &[&str] = &[
    "type",
    "conn",
    "dir",
    "ts",
    "opcode",
    "frames",
    "compressed",
    "wire_len",
    "len",
    "payload_b64",
    "close_code",
    "close_reason",
];

#[test]
fn jsonl_records_follow_the_design_format_and_order() {
    let records = jsonl("python-deflate-context-takeover.pcap");
    assert_eq!(records[0]["type"], "connection", "a connection record comes first");
    let conn = &records[0];
    assert_eq!(conn["server"], "127.0.0.1:8765");
    let hs = &conn["handshake"];
    assert_eq!(hs["path"], "/chat");
    assert_eq!(hs["status"], 101);
    assert_eq!(hs["subprotocol"], Value::Null);
    assert_eq!(hs["accept_valid"], true);
    assert_eq!(
        hs["extensions"][0],
        "permessage-deflate; server_max_window_bits=12; client_max_window_bits=12"
    );
    for r in records.iter().filter(|r| r["type"] == "message") {
        for field in MESSAGE_FIELDS {
            assert!(r.get(*field).is_some(), "message lacks {field}: {r}");
        }
        assert_eq!(r["len"].as_u64(), Some(payload(r).len() as u64));
        let ts = r["ts"].as_f64().expect("ts");
        assert!(ts > 1.7e9, "seconds since the epoch: {ts}");
    }
    let line = "The quick brown fox jumps over the lazy dog. ".repeat(8);
    let c2s_text = messages(&records, "c2s", "text");
    let texts: Vec<String> = c2s_text
        .iter()
        .map(|r| String::from_utf8(payload(r)).expect("utf8"))
        .collect();
    assert_eq!(
        texts,
        vec![
            format!("0: {line}"),
            format!("1: {line}"),
            format!("2: {line}"),
            format!("fragmented compressed message {line}"),
        ]
    );
    assert!(c2s_text.iter().all(|r| r["compressed"] == true));
    assert_eq!(c2s_text[3]["frames"], 5, "four fragments and an empty final frame");
    // Context takeover: a repeated message costs a few bytes on the wire.
    assert!(c2s_text[1]["wire_len"].as_u64().expect("wire_len") < 20);
    let binary = messages(&records, "s2c", "binary");
    assert_eq!(payload(binary[0]), (0..=255u8).cycle().take(4096).collect::<Vec<u8>>());
    let rtt: Vec<&Value> = records.iter().filter(|r| r["type"] == "rtt").collect();
    assert_eq!(rtt.len(), 1);
    assert_eq!(rtt[0]["ping_dir"], "c2s");
    assert!(rtt[0]["rtt_ms"].as_f64().expect("rtt") > 0.0);
    let close = messages(&records, "c2s", "close");
    assert_eq!(close[0]["close_code"], 1001);
    assert_eq!(close[0]["close_reason"], "client going away");
    assert!(!records.iter().any(|r| r["type"] == "anomaly"));
}

#[test]
fn no_context_takeover_messages_inflate_one_by_one() {
    let records = jsonl("python-deflate-no-context-takeover.pcap");
    let ext = records[0]["handshake"]["extensions"][0].as_str().expect("ext");
    assert!(
        ext.contains("server_no_context_takeover") && ext.contains("client_no_context_takeover"),
        "{ext}"
    );
    for dir in ["c2s", "s2c"] {
        let texts: Vec<Vec<u8>> = messages(&records, dir, "text").into_iter().map(payload).collect();
        let expected: Vec<Vec<u8>> = (0..4)
            .map(|i| format!("no context takeover, message {i} {}", "abcabcabc".repeat(20)).into_bytes())
            .collect();
        assert_eq!(texts, expected, "{dir}");
    }
}

#[test]
fn ipv6_port_443_and_a_one_mebibyte_masked_frame_decode_exactly() {
    let records = jsonl("python-ipv6-port443-large-frames.pcap");
    assert_eq!(records[0]["server"], "[::1]:443");
    assert!(records[0]["client"].as_str().expect("client").starts_with("[::1]:"));
    let big = messages(&records, "c2s", "binary");
    let expected: Vec<u8> = (0..1usize << 20).map(|i| (i * 7 % 256) as u8).collect();
    assert_eq!(payload(big[0]), expected);
    assert_eq!(big[0]["wire_len"], (1u64 << 20) + 14, "64-bit length and a masking key");
    let echo = messages(&records, "s2c", "binary");
    assert_eq!(payload(echo[0]), expected[..70_000].to_vec());
    let fragmented = messages(&records, "s2c", "text");
    assert_eq!(payload(fragmented[0]), b"echo: hello over IPv6");
    assert_eq!(
        fragmented[0]["frames"], 4,
        "three fragments (one empty) and an empty final frame"
    );
    assert_eq!(messages(&records, "c2s", "close")[0]["close_code"], 4000);
}

#[test]
fn a_capture_with_kernel_drops_reports_the_gap_and_keeps_the_rest() {
    let records = jsonl("python-ipv6-capture-drops.pcap");
    let kinds: Vec<&str> = records
        .iter()
        .filter(|r| r["type"] == "anomaly")
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(kinds, vec!["tcp-gap", "message-damaged"]);
    let gap = records.iter().find(|r| r["kind"] == "tcp-gap").expect("gap");
    assert_eq!(gap["dir"], "c2s");
    assert_eq!(gap["conn"], 0);
    assert_eq!(payload(messages(&records, "c2s", "text")[0]), b"hello over IPv6");
    assert!(
        messages(&records, "c2s", "binary").is_empty(),
        "the damaged message is not invented"
    );
}

#[test]
fn the_report_shows_handshake_counts_rtt_and_closes() {
    let path = common::captures_dir().join("echo-text-binary-ping-close.pcap");
    let out = framescope(&["analyze", path.to_str().expect("path")]);
    assert!(out.status.success());
    let report = String::from_utf8(out.stdout).expect("utf8");
    assert!(
        report.contains("WebSocket connections: 1   messages: 10   findings: 0"),
        "{report}"
    );
    assert!(report.contains("handshake: GET /echo?room=1  status 101"), "{report}");
    assert!(
        report.contains("c2s: 5 messages (1 binary, 1 close, 1 ping, 2 text) in 6 frames"),
        "{report}"
    );
    assert!(report.contains("RTT: 1 samples  p50"), "{report}");
    assert!(report.contains("close 4001 Private use \"test over\""), "{report}");
}

#[test]
fn unreadable_input_exits_2_with_one_line() {
    let out = framescope(&["analyze", "/nonexistent/file.pcap", "--jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).expect("utf8");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("/nonexistent/file.pcap"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn a_truncated_file_prints_what_it_holds_and_exits_3() {
    let dir = tempfile::tempdir().expect("tmp");
    let cut = dir.path().join("cut.pcap");
    let full = std::fs::read(common::captures_dir().join("echo-text-binary-ping-close.pcap")).expect("read");
    std::fs::write(&cut, &full[..full.len() - 100]).expect("write");
    let out = framescope(&["analyze", cut.to_str().expect("path"), "--jsonl"]);
    assert_eq!(out.status.code(), Some(3));
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    assert!(stdout.lines().any(|l| l.contains("\"kind\":\"capture-truncated\"")));
    assert!(stdout.lines().filter(|l| l.contains("\"type\":\"message\"")).count() >= 6);
    assert!(String::from_utf8_lossy(&out.stderr).contains("middle of a packet"));
}
