//! `framescope analyze --filter/--csv/--har` and HAR input as a user runs them: every filtered
//! output is checked against the unfiltered records filtered here by an independent predicate.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use base64::Engine as _;
use serde_json::Value;

use common::cli::{framescope, of_type, payload, records};

fn capture(name: &str) -> String {
    common::captures_dir()
        .join(name)
        .to_str()
        .expect("utf8 path")
        .to_owned()
}

fn json_payload(record: &Value) -> Option<Value> {
    (record["opcode"] == "text").then(|| serde_json::from_slice(&payload(record)).ok())?
}

/// Checks `--filter EXPR --jsonl` against `keep` applied to the unfiltered messages, and that
/// exactly the connections with a match are printed, each before its first message.
fn check_filter(file: &str, expr: &str, keep: impl Fn(&Value) -> bool) -> usize {
    let all = records(&["analyze", file, "--jsonl"]);
    let expected: Vec<&Value> = of_type(&all, "message").into_iter().filter(|m| keep(m)).collect();
    let got = records(&["analyze", file, "--jsonl", "--filter", expr]);
    let messages = of_type(&got, "message");
    assert_eq!(messages, expected, "filter {expr}");
    let conns: BTreeSet<u64> = expected.iter().filter_map(|m| m["conn"].as_u64()).collect();
    let printed: Vec<u64> = of_type(&got, "connection")
        .iter()
        .filter_map(|c| c["conn"].as_u64())
        .collect();
    assert_eq!(printed.iter().copied().collect::<BTreeSet<_>>(), conns, "filter {expr}");
    assert_eq!(printed.len(), conns.len(), "each connection once");
    for record in &got {
        if let Some(conn) = record["conn"].as_u64()
            && record["type"] != "connection"
        {
            let first = got.iter().position(|r| r["type"] == "connection" && r["conn"] == conn);
            let here = got.iter().position(|r| r == record);
            assert!(first < here, "connection {conn} printed before its records");
        }
    }
    expected.len()
}

#[test]
fn filtered_jsonl_is_exactly_the_unfiltered_messages_that_match() {
    let mixed = capture("synthetic-mixed-json.pcap");
    let n = check_filter(&mixed, "opcode == text && dir == s2c", |m| {
        m["opcode"] == "text" && m["dir"] == "s2c"
    });
    assert!(n > 100, "{n}");
    check_filter(&mixed, "len > 10000 and compressed", |m| {
        m["len"].as_u64() > Some(10000) && m["compressed"] == true
    });
    check_filter(&mixed, "conn in {3 7..9} && !(opcode == binary)", |m| {
        matches!(m["conn"].as_u64(), Some(3 | 7 | 8 | 9)) && m["opcode"] != "binary"
    });
    let n = check_filter(&mixed, "json.items[0].qty > 400 || json.seq == 3", |m| {
        json_payload(m).is_some_and(|j| j["items"][0]["qty"].as_i64() > Some(400) || j["seq"] == 3)
    });
    assert!(n > 10, "{n}");
    check_filter(&mixed, r#"json.items[1].user matches "^user-4[0-9]{3}$""#, |m| {
        json_payload(m).is_some_and(|j| {
            j["items"][1]["user"]
                .as_str()
                .is_some_and(|u| u.len() == 9 && u.starts_with("user-4") && u[5..].bytes().all(|b| b.is_ascii_digit()))
        })
    });
    check_filter(&mixed, "frames > 1", |m| m["frames"].as_u64() > Some(1));
}

#[test]
fn close_codes_text_and_pings_filter_on_a_real_session() {
    let deflate = capture("python-deflate-context-takeover.pcap");
    let n = check_filter(&deflate, "close.code == 1001", |m| m["close_code"] == 1001);
    assert_eq!(n, 2, "both sides closed with 1001");
    assert_eq!(
        check_filter(&deflate, "close.code != 1001", |_| false),
        0,
        "no other code"
    );
    check_filter(&deflate, r#"close.reason contains "going""#, |m| {
        m["close_reason"].as_str().is_some_and(|r| r.contains("going"))
    });
    check_filter(&deflate, r#"text contains "lazy dog""#, |m| {
        m["opcode"] == "text" && String::from_utf8_lossy(&payload(m)).contains("lazy dog")
    });
    check_filter(&deflate, "opcode in {ping pong}", |m| {
        m["opcode"] == "ping" || m["opcode"] == "pong"
    });
    let echo = capture("echo-text-binary-ping-close.pcap");
    check_filter(&echo, r#"path == "/echo?room=1" && opcode == binary"#, |m| {
        m["opcode"] == "binary"
    });
    // RTT is known on the ping and on its pong; its sample follows.
    let got = records(&["analyze", &echo, "--jsonl", "-Y", "rtt_ms >= 0"]);
    let kinds: Vec<&str> = got
        .iter()
        .map(|r| r["opcode"].as_str().unwrap_or(r["type"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(kinds, ["connection", "ping", "pong", "rtt", "end"]);
    assert!(check_filter(&echo, "rtt_ms > 1000", |_| false) == 0);
}

#[test]
fn a_bad_filter_exits_2_with_a_caret_under_the_column() {
    let file = capture("echo-text-binary-ping-close.pcap");
    for (expr, column, message) in [
        ("len > \"x\"", 6, "len is a number"),
        ("opcode == txet", 10, "expected an opcode"),
        ("wire_len < len", 11, "len is a number"),
        ("text contains", 13, "expected a value"),
    ] {
        let out = framescope(&["analyze", &file, "--jsonl", "--filter", expr]);
        assert_eq!(out.status.code(), Some(2), "{expr}");
        assert!(out.stdout.is_empty());
        let err = String::from_utf8_lossy(&out.stderr);
        let lines: Vec<&str> = err.lines().collect();
        assert!(lines[0].contains(&format!("column {}", column + 1)), "{err}");
        assert!(lines[0].contains(message), "{err}");
        assert_eq!(lines[1], expr);
        assert_eq!(lines[2].find('^'), Some(column), "{err}");
    }
}

#[test]
fn the_report_counts_only_matching_messages() {
    let file = capture("python-deflate-context-takeover.pcap");
    let out = framescope(&["analyze", &file, "--filter", "dir == c2s && opcode == text"]);
    assert!(out.status.success());
    let report = String::from_utf8_lossy(&out.stdout);
    let all = records(&["analyze", &file, "--jsonl"]);
    let expected = of_type(&all, "message")
        .iter()
        .filter(|m| m["dir"] == "c2s" && m["opcode"] == "text")
        .count();
    let total = of_type(&all, "message").len();
    assert!(
        report.contains(&format!("{expected} of {total} messages match")),
        "{report}"
    );
    assert!(
        report.contains(&format!("c2s: {expected} messages ({expected} text)")),
        "{report}"
    );
    assert!(report.contains("s2c: 0 messages"), "{report}");
}

#[test]
fn csv_has_a_row_per_message_with_the_table_columns() {
    let file = capture("python-deflate-context-takeover.pcap");
    let dir = tempfile::tempdir().expect("tempdir");
    let out_path = dir.path().join("m.csv");
    let out = framescope(&["analyze", &file, "--csv", out_path.to_str().expect("utf8")]);
    assert!(out.status.success());
    assert!(out.stdout.is_empty(), "an export alone prints nothing");
    let all = records(&["analyze", &file, "--jsonl"]);
    let messages = of_type(&all, "message");
    let mut reader = csv::Reader::from_path(&out_path).expect("csv");
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_owned).collect();
    assert_eq!(
        &header[..12],
        [
            "conn",
            "time",
            "ts",
            "dir",
            "opcode",
            "len",
            "wire_len",
            "frames",
            "compressed",
            "close_code",
            "close_reason",
            "preview"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), messages.len());
    let mut start = None;
    for (row, m) in rows.iter().zip(&messages) {
        assert_eq!(row[0], m["conn"].to_string());
        assert_eq!(row[3], *m["dir"].as_str().expect("dir"));
        assert_eq!(row[4], *m["opcode"].as_str().expect("opcode"));
        assert_eq!(row[5], m["len"].to_string());
        assert_eq!(row[6], m["wire_len"].to_string());
        assert_eq!(row[8], m["compressed"].to_string());
        assert_eq!(
            row[9],
            if m["close_code"].is_null() {
                String::new()
            } else {
                m["close_code"].to_string()
            }
        );
        let ts: f64 = row[2].parse().expect("ts");
        assert!((ts - m["ts"].as_f64().expect("ts")).abs() < 1e-6);
        // time = ts - capture start, the same start on every row.
        let time: f64 = row[1].parse().expect("time");
        let this_start = ts - time;
        let first = *start.get_or_insert(this_start);
        assert!((this_start - first).abs() < 2e-6);
        if m["opcode"] == "close" {
            assert_eq!(row[11], *"1001 Going Away: client going away");
        }
    }
    // The capture starts at or before its first WebSocket record.
    let conn_ts = of_type(&all, "connection")[0]["ts"].as_f64().expect("ts");
    assert!(start.expect("rows") <= conn_ts + 1e-6);
}

/// What a message is, for comparing two readings: conn, dir, opcode, payload, time (µs),
/// close code and reason.
type MessageKey = (u64, String, String, Vec<u8>, String, Value, Value);

fn message_keys(records: &[Value]) -> Vec<MessageKey> {
    of_type(records, "message")
        .iter()
        .map(|m| {
            (
                m["conn"].as_u64().expect("conn"),
                m["dir"].to_string(),
                m["opcode"].to_string(),
                payload(m),
                format!("{:.6}", m["ts"].as_f64().expect("ts")),
                m["close_code"].clone(),
                m["close_reason"].clone(),
            )
        })
        .collect()
}

#[test]
fn har_export_is_har_1_2_and_reimports_to_the_same_messages() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in [
        "echo-text-binary-ping-close.pcap",
        "python-deflate-context-takeover.pcap",
        "synthetic-mixed-json.pcap",
    ] {
        let file = capture(name);
        let har_path = dir.path().join(format!("{name}.har"));
        let har_str = har_path.to_str().expect("utf8");
        let out = framescope(&["analyze", &file, "--har", har_str]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let har: Value = serde_json::from_slice(&std::fs::read(&har_path).expect("har")).expect("json");
        let log = &har["log"];
        assert_eq!(log["version"], "1.2");
        assert_eq!(log["creator"]["name"], "framescope");
        let original = records(&["analyze", &file, "--jsonl"]);
        let entries = log["entries"].as_array().expect("entries");
        assert_eq!(entries.len(), of_type(&original, "connection").len());
        for e in entries {
            for key in ["startedDateTime", "time", "request", "response", "cache", "timings"] {
                assert!(!e[key].is_null(), "{name}: entry without {key}");
            }
            for key in [
                "method",
                "url",
                "httpVersion",
                "cookies",
                "headers",
                "queryString",
                "headersSize",
                "bodySize",
            ] {
                assert!(!e["request"][key].is_null(), "{name}: request without {key}");
            }
            for key in [
                "status",
                "statusText",
                "httpVersion",
                "cookies",
                "headers",
                "content",
                "redirectURL",
            ] {
                assert!(!e["response"][key].is_null(), "{name}: response without {key}");
            }
            assert_eq!(e["_resourceType"], "websocket");
            assert!(e["request"]["url"].as_str().expect("url").starts_with("ws"));
            for m in e["_webSocketMessages"].as_array().expect("messages") {
                assert!(m["type"] == "send" || m["type"] == "receive");
                assert!(m["time"].as_f64().expect("time") > 1e9, "epoch seconds");
                assert!(m["opcode"].as_u64().expect("opcode") < 16);
                assert!(m["data"].is_string());
            }
        }
        let reread = records(&["analyze", har_str, "--jsonl"]);
        assert_eq!(message_keys(&reread), message_keys(&original), "{name}");
        let conns = |r: &[Value]| -> Vec<(Value, Value, Value)> {
            of_type(r, "connection")
                .iter()
                .map(|c| (c["client"].clone(), c["server"].clone(), c["handshake"]["path"].clone()))
                .collect()
        };
        assert_eq!(conns(&reread), conns(&original), "{name}");
    }
}

#[test]
fn a_har_written_by_mitmproxy_reads_as_its_websocket_messages() {
    let path = common::captures_dir().join("mitmproxy-websockets.har");
    let har: Value = serde_json::from_slice(&std::fs::read(&path).expect("har")).expect("json");
    let path = path.to_str().expect("utf8");
    let got = records(&["analyze", path, "--jsonl"]);
    // The HAR's own messages, decoded here: text as is, binary from base64.
    let entry = &har["log"]["entries"][0];
    let expected: Vec<(String, u64, Vec<u8>)> = entry["_webSocketMessages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| {
            let data = m["data"].as_str().expect("data");
            let bytes = if m["opcode"] == 1 {
                data.as_bytes().to_vec()
            } else {
                base64::engine::general_purpose::STANDARD.decode(data).expect("b64")
            };
            let dir = if m["type"] == "send" { "c2s" } else { "s2c" };
            (dir.to_owned(), m["opcode"].as_u64().expect("opcode"), bytes)
        })
        .collect();
    let messages: Vec<(String, u64, Vec<u8>)> = of_type(&got, "message")
        .iter()
        .map(|m| {
            let opcode = match m["opcode"].as_str() {
                Some("text") => 1,
                Some("binary") => 2,
                other => panic!("{other:?}"),
            };
            (m["dir"].as_str().expect("dir").to_owned(), opcode, payload(m))
        })
        .collect();
    assert_eq!(messages, expected);
    assert_eq!(messages.len(), 10);
    assert_eq!(messages[0].2, b"hello");
    assert_eq!(messages[4].2, "héllo ✓".as_bytes());
    assert_eq!(messages[6], ("c2s".to_owned(), 2, vec![0, 1, 2, 0xff]));
    let conn = of_type(&got, "connection")[0];
    assert_eq!(conn["handshake"]["path"], "/chat?room=7");
    assert_eq!(conn["handshake"]["subprotocol"], "chat.v1");
    assert_eq!(conn["handshake"]["accept_valid"], true);
    // Filters work on HAR input too.
    let hits = records(&[
        "analyze",
        path,
        "--jsonl",
        "-Y",
        r#"json.type == "order.paid" || json.items[1].id > 5"#,
    ]);
    let texts: Vec<String> = of_type(&hits, "message")
        .iter()
        .map(|m| String::from_utf8_lossy(&payload(m)).into_owned())
        .collect();
    assert_eq!(
        texts,
        [
            r#"{"type": "order.paid", "items": [{"id": 2}, {"id": 5}]}"#,
            r#"{"type": "goodbye", "items": [{"id": 1}, {"id": 7}]}"#
        ]
    );
}

#[test]
fn a_har_that_is_not_one_is_refused_with_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.har");
    std::fs::write(&bad, br#"{"not":"a har"}"#).expect("write");
    let out = framescope(&["analyze", bad.to_str().expect("utf8"), "--jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a HAR file"));
    assert!(Path::new(&bad).exists());
}
