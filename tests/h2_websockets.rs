//! WebSockets inside HTTP/2 (RFC 8441), end to end through `framescope analyze --jsonl`:
//! Hypercorn serving two WebSocket streams, a refused CONNECT and a plain GET on one
//! connection, recorded on `lo` by `captures/make_h2_captures.py` (client on `h2` +
//! `wsproto`). Every message framescope decodes is compared with what the client logged it
//! sent and received (`NAME.peers.json` beside each capture): over TLS with a key log,
//! with the keys as a pcapng Decryption Secrets Block, over h2c, over IPv6; and once live.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::cli::{of_type, records as framescope};
use common::peers::{decoded_messages, logged_messages, read_log};

/// Checks one capture's records against the client's log. `tls`: the session ran over TLS.
fn check(records: &[Value], log: &Value, tls: bool, ipv6: bool) {
    let connections = of_type(records, "connection");
    let websockets = log["websockets"].as_array().expect("websockets");
    assert_eq!(connections.len(), websockets.len(), "{connections:#?}");
    for (conn, logged) in connections.iter().zip(websockets) {
        assert_eq!(conn["h2_stream"], logged["stream"]);
        let hs = &conn["handshake"];
        assert_eq!(hs["http_version"], "2");
        assert_eq!(hs["status"], 200);
        assert_eq!(hs["status"], logged["status"]);
        assert_eq!(hs["accept_valid"], Value::Null);
        assert_eq!(hs["path"], logged["path"]);
        let client = conn["client"].as_str().expect("client");
        assert_eq!(client.starts_with('['), ipv6, "{client}");
        assert_eq!(conn["server"], connections[0]["server"], "one TCP connection");
        assert_eq!(conn["client"], connections[0]["client"], "one TCP connection");
        if tls {
            assert_eq!(conn["tls"]["alpn"], "h2");
            assert_eq!(conn["tls"]["decrypted"], true);
            assert_eq!(conn["tls"]["version"], "1.3");
        } else {
            assert!(conn.get("tls").is_none());
        }
        let sent = logged_messages(&logged["sent"]);
        let received = logged_messages(&logged["received"]);
        assert!(sent.len() >= 3);
        assert_eq!(decoded_messages(records, &conn["conn"], "c2s"), sent);
        assert_eq!(decoded_messages(records, &conn["conn"], "s2c"), received);
    }
    // The plain GET and the refused CONNECT are flows of their own, never connections.
    let flows = of_type(records, "flow");
    let by_stream = |s: &Value| flows.iter().find(|f| &f["h2_stream"] == s).copied();
    let get = by_stream(&log["get"]["stream"]).unwrap_or_else(|| panic!("GET flow in {flows:#?}"));
    assert_eq!(get["protocol"], "http2");
    let reason = get["reason"].as_str().expect("reason");
    assert!(reason.contains("GET /hello answered 200"), "{reason}");
    let refused = by_stream(&log["refused"]["stream"]).expect("refused CONNECT flow");
    let status = log["refused"]["status"].as_u64().expect("status");
    assert!(
        refused["reason"]
            .as_str()
            .expect("reason")
            .contains(&format!("refused with status {status}")),
        "{refused}"
    );
    assert_eq!(flows.len(), 2, "no flow record for the connection itself: {flows:#?}");
    // What the peers did breaks no rule; the refusal is the one finding.
    let findings: Vec<_> = of_type(records, "anomaly")
        .into_iter()
        .map(|a| a["kind"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(findings, ["upgrade-rejected"], "{:#?}", of_type(records, "anomaly"));
}

/// The records of a kept TLS capture analysed with its key log beside it, and its peer log.
fn analyzed_with_key_log(name: &str) -> (Vec<Value>, Value) {
    let (pcap, log) = kept(name);
    let keys = common::captures_dir().join(format!("{name}.keys"));
    (jsonl_with_keys(&pcap, &keys), log)
}

/// `analyze PCAP --jsonl --keylog KEYS`.
fn jsonl_with_keys(pcap: &Path, keys: &Path) -> Vec<Value> {
    framescope(&[
        "analyze",
        pcap.to_str().expect("path"),
        "--jsonl",
        "--keylog",
        keys.to_str().expect("path"),
    ])
}

fn kept(name: &str) -> (PathBuf, Value) {
    let dir = common::captures_dir();
    let pcap = ["pcap", "pcapng"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} capture"));
    (pcap, read_log(&dir.join(format!("{name}.peers.json"))))
}

#[test]
fn h2c_prior_knowledge_streams_decode_as_the_client_logged() {
    let (pcap, log) = kept("h2c-hypercorn-two-websockets-and-get");
    let records = framescope(&["analyze", pcap.to_str().expect("path"), "--jsonl"]);
    check(&records, &log, false, false);
}

#[test]
fn h2c_reached_by_an_http1_upgrade_decodes_every_stream() {
    // GET /hello with `Upgrade: h2c`, a 101, then HTTP/2: the GET's answer comes on stream 1.
    let (pcap, log) = kept("h2c-upgrade-hypercorn-two-websockets-and-get");
    assert_eq!(log["get"]["stream"], 1);
    let records = framescope(&["analyze", pcap.to_str().expect("path"), "--jsonl"]);
    check(&records, &log, false, false);
}

#[test]
fn h2c_over_ipv6_decodes_the_same() {
    let (pcap, log) = kept("h2c-ipv6-hypercorn-two-websockets-and-get");
    let records = framescope(&["analyze", pcap.to_str().expect("path"), "--jsonl"]);
    check(&records, &log, false, true);
}

#[test]
fn h2_over_tls_with_a_key_log_decodes_every_stream() {
    let (records, log) = analyzed_with_key_log("h2-tls-hypercorn-two-websockets-and-get");
    check(&records, &log, true, false);
}

#[test]
fn node_http2_rfc8441_server_over_tls_decodes_every_stream() {
    // Node's own `http2` with settings.enableConnectProtocol, `ws` on each CONNECT stream;
    // Node ends each WebSocket stream with an empty DATA frame carrying END_STREAM.
    let (records, log) = analyzed_with_key_log("h2-tls-node-two-websockets-and-get");
    check(&records, &log, true, false);
}

#[test]
fn node_http2_client_sending_extended_connect_decodes_every_stream() {
    // Node's http2 client (its own HPACK encoder and flow control) opening the WebSocket
    // streams with `:protocol websocket` once the server's SETTINGS allow it, `ws` on each.
    let (records, log) = analyzed_with_key_log("h2-tls-node-client-two-websockets-and-get");
    check(&records, &log, true, false);
}

#[test]
fn node_http2_rfc8441_server_over_h2c_decodes_every_stream() {
    let (pcap, log) = kept("h2c-node-two-websockets-and-get");
    let records = framescope(&["analyze", pcap.to_str().expect("path"), "--jsonl"]);
    check(&records, &log, false, false);
}

#[test]
fn permessage_deflate_inside_http2_inside_tls_inflates_as_the_client_logged() {
    let (records, log) = analyzed_with_key_log("h2-tls-deflate-hypercorn-two-websockets-and-get");
    // Every message equals what the client sent and received, after inflating.
    check(&records, &log, true, false);
    for (conn, logged) in of_type(&records, "connection")
        .iter()
        .zip(log["websockets"].as_array().expect("ws"))
    {
        let agreed = logged["extensions"].as_str().expect("extensions");
        assert!(agreed.starts_with("permessage-deflate"), "{agreed}");
        assert_eq!(conn["handshake"]["extensions"][0], agreed);
    }
    // The data messages really were compressed (RSV1) and smaller on the wire.
    let data: Vec<_> = of_type(&records, "message")
        .into_iter()
        .filter(|m| m["opcode"] == "text" || m["opcode"] == "binary")
        .collect();
    assert_eq!(data.len(), 8);
    assert!(data.iter().all(|m| m["compressed"] == true), "{data:#?}");
    let big = data.iter().find(|m| m["len"] == 20000).expect("the 20000-byte message");
    assert!(big["wire_len"].as_u64().expect("wire_len") < 100, "{big}");
}

#[test]
fn h2_over_tls_with_keys_in_a_decryption_secrets_block_needs_no_option() {
    let (pcap, log) = kept("h2-tls-hypercorn-dsb");
    let records = framescope(&["analyze", pcap.to_str().expect("path"), "--jsonl"]);
    check(&records, &log, true, false);
}

#[test]
fn without_keys_the_h2_connection_is_one_flow_and_no_connection() {
    let (pcap, _) = kept("h2-tls-hypercorn-two-websockets-and-get");
    let records = framescope(&["analyze", pcap.to_str().expect("path"), "--jsonl"]);
    assert!(of_type(&records, "connection").is_empty());
    let flows = of_type(&records, "flow");
    assert_eq!(flows.len(), 1, "{flows:#?}");
    assert_eq!(flows[0]["protocol"], "tls");
    assert_eq!(flows[0]["tls"]["decrypted"], false);
}

/// Records a fresh session with the real peers on `lo` and checks it like the kept ones.
#[test]
fn a_live_recording_decodes_as_the_peers_logged() {
    let ready = Command::new("python3")
        .args(["-c", "import hypercorn, h2, wsproto"])
        .status()
        .is_ok_and(|s| s.success());
    let dumpcap = Command::new("dumpcap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ready || !dumpcap {
        common::skip_or_fail_in_ci("hypercorn/h2/wsproto (make py-deps) or dumpcap (tshark) is missing");
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let name = "h2-tls-hypercorn-two-websockets-and-get";
    let run = Command::new("timeout")
        .args(["60", "python3"])
        .arg(common::captures_dir().join("make_h2_captures.py"))
        .args(["--out", out.path().to_str().expect("path"), "--only", name])
        .output()
        .expect("run the recorder");
    let pcap = out.path().join(format!("{name}.pcap"));
    if !run.status.success() || !pcap.is_file() {
        eprintln!("{}", String::from_utf8_lossy(&run.stderr));
        common::skip_or_fail_in_ci("recording on lo failed (needs root for dumpcap)");
        return;
    }
    let log = read_log(&out.path().join(format!("{name}.peers.json")));
    let keys = out.path().join(format!("{name}.keys"));
    let records = jsonl_with_keys(&pcap, &keys);
    check(&records, &log, true, false);
    let dsb = out.path().join("h2-tls-hypercorn-dsb.pcapng");
    let records = framescope(&["analyze", dsb.to_str().expect("path"), "--jsonl"]);
    check(&records, &log, true, false);
}
