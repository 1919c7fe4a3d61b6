//! Connection attempts that got no connection are listed as `flow` records: a SYN answered
//! by RST (nothing listening) and a SYN never answered, with their times and attempts per
//! client port. The capture is real (`captures/make_refused_capture.py`: a Python
//! `websockets` client against a closed port, a port whose accept queue is full, then a
//! live echo server), and the connection that finally worked still decodes.

mod common;

use common::cli::{jsonl, of_type, payload};
use common::peers::read_log;
use egui_kittest::kittest::Queryable;
use serde_json::Value;

const NAME: &str = "refused-then-connected";

/// Capture time and the client's log agree within this (seconds): the log's clock is read
/// just before `connect()` and just after it fails.
const SLACK: f64 = 0.05;

fn port(endpoint: &Value) -> u16 {
    let text = endpoint.as_str().expect("endpoint");
    text.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
}

#[test]
fn refused_and_unanswered_attempts_are_flows_and_the_real_connection_decodes() {
    let log = read_log(&common::captures_dir().join(format!("{NAME}.peers.json")));
    let records = jsonl(&format!("{NAME}.pcap"), &[]);
    let dead = log["dead_port"].as_u64().expect("dead_port") as u16;
    let full = log["full_port"].as_u64().expect("full_port") as u16;
    let fixed = log["fixed_client_port"].as_u64().expect("fixed port") as u16;
    let attempts = log["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 6);

    let flows = of_type(&records, "flow");
    let refused: Vec<_> = flows.iter().filter(|f| port(&f["server"]) == dead).collect();
    let unanswered: Vec<_> = flows.iter().filter(|f| port(&f["server"]) == full).collect();
    assert_eq!((refused.len(), unanswered.len(), flows.len()), (5, 1, 6), "{flows:#?}");

    // Each refused attempt, in order, at the time the client made it.
    for (flow, tried) in refused.iter().zip(attempts.iter().filter(|a| a["kind"] == "refused")) {
        assert_eq!(tried["error"], "ConnectionRefusedError");
        assert_eq!(flow["protocol"], "tcp");
        assert!(flow["tls"].is_null());
        let (ts, end) = (
            flow["ts"].as_f64().expect("ts"),
            flow["end_ts"].as_f64().expect("end_ts"),
        );
        let (tried_at, failed_at) = (
            tried["ts"].as_f64().expect("ts"),
            tried["end_ts"].as_f64().expect("end"),
        );
        assert!(ts >= tried_at - SLACK && end <= failed_at + SLACK, "{flow} vs {tried}");
        assert!(
            (0.0..0.01).contains(&(end - ts)),
            "the RST follows the SYN at once: {flow}"
        );
    }
    // Three from new ephemeral ports (one attempt each), then the fixed port twice, counted.
    let counts: Vec<(bool, u64)> = refused
        .iter()
        .map(|f| (port(&f["client"]) == fixed, f["attempts"].as_u64().expect("attempts")))
        .collect();
    assert_eq!(counts, [(false, 1), (false, 1), (false, 1), (true, 1), (true, 2)]);
    let reasons: Vec<&str> = refused.iter().map(|f| f["reason"].as_str().expect("reason")).collect();
    assert_eq!(reasons[0], "connection refused (RST after SYN)");
    assert_eq!(
        reasons[4],
        "connection refused (RST after SYN); attempt 2 from this client port"
    );

    // The SYN nobody answered: the client retransmitted it until its 2.5 s timeout.
    let flow = unanswered[0];
    let tried = &attempts[5];
    assert_eq!(
        (tried["kind"].as_str(), tried["error"].as_str()),
        (Some("no-answer"), Some("TimeoutError"))
    );
    let reason = flow["reason"].as_str().expect("reason");
    let syns: u32 = reason
        .strip_prefix("no answer to SYN (SYN sent ")
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{reason}"));
    // Linux retransmits after 1 s then 2 s more: 2 or 3 SYNs fit in 2.5 s.
    assert!((2..=3).contains(&syns), "{reason}");
    assert_eq!(flow["attempts"], 1);
    let (ts, end) = (
        flow["ts"].as_f64().expect("ts"),
        flow["end_ts"].as_f64().expect("end_ts"),
    );
    assert!(
        (ts - tried["ts"].as_f64().expect("ts")).abs() < SLACK,
        "{flow} vs {tried}"
    );
    assert!(
        end - ts >= 0.9 && end <= tried["end_ts"].as_f64().expect("end") + SLACK,
        "{flow}"
    );

    // The connection that finally worked decodes: one text message each way, a clean close.
    let connections = of_type(&records, "connection");
    assert_eq!(connections.len(), 1);
    let connected = &log["connected"];
    assert_eq!(
        u64::from(port(&connections[0]["client"])),
        connected["client_port"].as_u64().expect("port")
    );
    assert_eq!(port(&connections[0]["server"]), dead);
    let texts: Vec<(String, Vec<u8>)> = of_type(&records, "message")
        .iter()
        .filter(|m| m["opcode"] == "text")
        .map(|m| (m["dir"].as_str().expect("dir").to_owned(), payload(m)))
        .collect();
    let message = log["message"].as_str().expect("message").as_bytes().to_vec();
    assert_eq!(
        texts,
        [("c2s".to_owned(), message.clone()), ("s2c".to_owned(), message)]
    );
    assert_eq!(of_type(&records, "end")[0]["how"], "closed");
    assert!(of_type(&records, "anomaly").is_empty(), "{records:#?}");
}

/// The window lists the attempts where it lists flows that carried no WebSocket, and
/// shows the one connection.
#[test]
fn the_window_lists_refused_attempts_among_the_other_flows() {
    let mut harness = common::gui::loaded(&common::gui::sample(&format!("{NAME}.pcap")));
    let store = &harness.state().store;
    assert_eq!(store.connections.len(), 1);
    let refused = store
        .flows
        .iter()
        .filter(|f| f.reason.starts_with("connection refused"))
        .count();
    let unanswered = store
        .flows
        .iter()
        .filter(|f| f.reason.starts_with("no answer to SYN"))
        .count();
    assert_eq!((refused, unanswered), (5, 1));
    harness.get_by_label("Other TCP flows (6)").click();
    harness.run_steps(3);
    assert_eq!(
        harness.get_all_by_label("connection refused (RST after SYN)").count(),
        4
    );
    harness.get_by_label("connection refused (RST after SYN); attempt 2 from this client port");
    // The start column: the first refused SYN is the capture's first packet; the second
    // from the fixed port came after four attempts 0.2 s apart.
    harness.get_by_label("start");
    assert!(harness.get_all_by_label("0.000000").next().is_some());
    let store = &harness.state().store;
    let second = store.flows.iter().find(|f| f.attempts == Some(2)).expect("attempt 2");
    let since = second.first_ts.millis_since(store.capture_start().expect("start")) / 1000.0;
    assert!((0.75..1.0).contains(&since), "{since}");
    harness.get_by_label(&format!("{since:.6}"));
}
