//! `framescope test examples/scenarios/chat.ron` against the Python `websockets` chat server:
//! it passes the correct server (report, JUnit and recording checked by reading them back)
//! and fails each faulty variant at the step that checks the broken rule.

mod common;
mod scenario_support;

use framescope::analysis::Direction;
use framescope::analysis::ws::frame::OpCode;
use scenario_support::*;

fn report_of(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).expect("report written");
    serde_json::from_str(&text).expect("report is JSON")
}

/// Every `<testcase>` of a JUnit file: (name, failure message if any).
fn junit_cases(path: &std::path::Path) -> Vec<(String, Option<String>)> {
    use quick_xml::events::Event;
    let text = std::fs::read_to_string(path).expect("junit written");
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut cases: Vec<(String, Option<String>)> = Vec::new();
    let attr = |e: &quick_xml::events::BytesStart<'_>, name: &[u8]| -> Option<String> {
        e.attributes()
            .filter_map(Result::ok)
            .find(|a| a.key.as_ref() == name)
            .map(|a| a.unescape_value().expect("attribute text").into_owned())
    };
    let mut suites = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            Event::Start(e) | Event::Empty(e) => match e.name().as_ref() {
                b"testsuite" => suites += 1,
                b"testcase" => cases.push((attr(&e, b"name").expect("name"), None)),
                b"failure" => {
                    let last = cases.last_mut().expect("failure inside a testcase");
                    last.1 = Some(attr(&e, b"message").expect("message"));
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    assert_eq!(suites, 1);
    cases
}

#[test]
fn chat_ron_passes_the_correct_server_and_its_outputs_read_back() {
    if !have_python_websockets() {
        return;
    }
    let server = ChatServer::start(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let (report, junit, record) = (
        dir.path().join("r.json"),
        dir.path().join("j.xml"),
        dir.path().join("run.pcapng"),
    );
    let out = framescope(&[
        "test",
        path_str(&chat_ron()),
        "--url",
        &server.url(),
        "--report",
        path_str(&report),
        "--junit",
        path_str(&junit),
        "--record",
        path_str(&record),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("PASSED: 212 steps passed, 0 failed, 0 skipped"),
        "{stdout}"
    );

    let r = report_of(&report);
    assert_eq!(r["passed"], true);
    assert_eq!(r["url"], server.url());
    assert_eq!(r["counts"]["passed"], 212);
    assert_eq!(r["connections"], 6);
    let steps = r["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 12);
    assert!(steps.iter().all(|s| s["status"] == "pass"));
    // 1 first broadcast + 50 in the repeat; loopback Python answers well under 200 ms.
    let m = &r["measurements"]["broadcast"];
    assert_eq!(m["count"], 51);
    let (p95, max) = (m["p95_ms"].as_f64().expect("p95"), m["max_ms"].as_f64().expect("max"));
    assert!(p95 > 0.0 && p95 <= max && p95 < 200.0, "{m}");
    // The two 300 ms silences of step 6.4 ran at the same time.
    let parallel = steps[5]["steps"][3]["duration_ms"].as_f64().expect("duration");
    assert!((300.0..550.0).contains(&parallel), "{parallel}");
    // The auth.ok step's detail names the message that matched.
    assert_eq!(
        steps[3]["steps"][2]["detail"],
        r#"got text {"type": "auth.ok", "user": "A"}"#
    );

    let cases = junit_cases(&junit);
    assert_eq!(cases.len(), 12);
    assert!(cases.iter().all(|(_, failure)| failure.is_none()), "{cases:?}");
    assert_eq!(cases[0].0, "1 auth without a token is closed with 4401");

    // The recording: each client one connection, every message the scenario exchanged.
    let (sink, _) = common::analyze_file(&record);
    assert_eq!(sink.connections.len(), 6);
    assert!(sink.findings.is_empty(), "{:?}", sink.findings);
    let texts = |conn: u32, dir: Direction| -> Vec<String> {
        sink.messages
            .iter()
            .filter(|m| m.conn == conn && m.dir == dir && m.opcode == OpCode::Text)
            .map(|m| String::from_utf8_lossy(&m.payload).into_owned())
            .collect()
    };
    // Connection 0: no token, closed 4401 by the server.
    assert_eq!(
        texts(0, Direction::ClientToServer),
        vec![r#"{"type":"auth"}"#.to_owned()]
    );
    let server_close = sink
        .messages
        .iter()
        .find(|m| m.conn == 0 && m.dir == Direction::ServerToClient && m.opcode == OpCode::Close)
        .expect("server close");
    assert_eq!(server_close.close_code, Some(4401));
    // Alice (connection 3) sent the 50 numbered messages in order and got 50 + 3 acks.
    let alice = texts(3, Direction::ClientToServer);
    let numbered: Vec<&String> = alice.iter().filter(|t| t.contains(r#""text":"m-"#)).collect();
    assert_eq!(numbered.len(), 50);
    assert_eq!(numbered[49], r#"{"type":"message","room":"room:lobby","text":"m-50"}"#);
    let acks = texts(3, Direction::ServerToClient)
        .iter()
        .filter(|t| t.contains("\"ack\""))
        .count();
    assert_eq!(acks, 56);
}

/// (fault, first failed step, text its detail contains)
const FAULTS: &[(&str, &str, &str)] = &[
    ("wrong-from", "6.2", r#"from: expected "A", got "B""#),
    ("no-ack", "6.3", "no matching message within 500 ms; nothing arrived"),
    ("seq-not-increasing", "8.1.1.2", "seq: expected > 1, got 1"),
    ("private-allowed", "7.2", r#"type: expected "error", got "subscribed""#),
    (
        "wrong-close-codes",
        "1.3",
        "closed with close 4403 Private use: missing token, expected code 4401",
    ),
    ("echo-to-sender", "6.3", r#"type: expected "ack", got "message""#),
    ("drop-on-close", "12.1", "without a close frame"),
    ("seq-global", "11.7", r#"seq: expected 1, got "#),
    ("slow-broadcast", "8.2", "not below 200 ms"),
    ("leak-rooms", "6.4.1", r#""text": "hello from A""#),
    ("no-unsubscribe", "10.10", r#""text": "after C left""#),
    ("keeps-closed-subscribers", "9.4", "the server closed the connection"),
    (
        "pre-auth-allowed",
        "3.3",
        r#"no close frame within 1000 ms; the connection is still open; before that, not matching: text {"type": "subscribed""#,
    ),
    (
        "bad-token-accepted",
        "2.3",
        r#"no close frame within 1000 ms; the connection is still open; before that, not matching: text {"type": "auth.ok""#,
    ),
];

fn fails_at(fault: &str) {
    if !have_python_websockets() {
        return;
    }
    let (_, step, detail) = FAULTS.iter().find(|f| f.0 == fault).expect("known fault");
    let server = ChatServer::start(Some(fault));
    let dir = tempfile::tempdir().expect("tempdir");
    let (report, junit) = (dir.path().join("r.json"), dir.path().join("j.xml"));
    let out = framescope(&[
        "test",
        path_str(&chat_ron()),
        "--url",
        &server.url(),
        "--report",
        path_str(&report),
        "--junit",
        path_str(&junit),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{fault}: {stdout}");
    assert!(stdout.contains("FAILED: "), "{stdout}");
    let r = report_of(&report);
    assert_eq!(r["passed"], false);
    let (path, title, got) = first_failure(&r).expect("a failed step");
    assert_eq!(&path, step, "{fault}: first failure {path} {title}: {got}\n{stdout}");
    assert!(got.contains(detail), "{fault}: {got:?} lacks {detail:?}");
    // The same step heads the failing JUnit case.
    let group = step.split('.').next().expect("group");
    let cases = junit_cases(&junit);
    let failing: Vec<&(String, Option<String>)> = cases.iter().filter(|c| c.1.is_some()).collect();
    let first = failing.first().expect("a failing case");
    assert!(first.0.starts_with(&format!("{group} ")), "{fault}: {first:?}");
    assert!(
        first.1.as_deref().is_some_and(|m| m.starts_with(&format!("{step} "))),
        "{fault}: {first:?}"
    );
}

#[test]
fn fault_wrong_from() {
    fails_at("wrong-from");
}
#[test]
fn fault_no_ack() {
    fails_at("no-ack");
}
#[test]
fn fault_seq_not_increasing() {
    fails_at("seq-not-increasing");
}
#[test]
fn fault_private_allowed() {
    fails_at("private-allowed");
}
#[test]
fn fault_wrong_close_codes() {
    fails_at("wrong-close-codes");
}
#[test]
fn fault_echo_to_sender() {
    fails_at("echo-to-sender");
}
#[test]
fn fault_drop_on_close() {
    fails_at("drop-on-close");
}
#[test]
fn fault_seq_global() {
    fails_at("seq-global");
}
#[test]
fn fault_slow_broadcast() {
    fails_at("slow-broadcast");
}
#[test]
fn fault_leak_rooms() {
    fails_at("leak-rooms");
}
#[test]
fn fault_no_unsubscribe() {
    fails_at("no-unsubscribe");
}
#[test]
fn fault_keeps_closed_subscribers() {
    fails_at("keeps-closed-subscribers");
}
#[test]
fn fault_pre_auth_allowed() {
    fails_at("pre-auth-allowed");
}
#[test]
fn fault_bad_token_accepted() {
    fails_at("bad-token-accepted");
}
