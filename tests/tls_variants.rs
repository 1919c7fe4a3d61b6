//! TLS variants of issue 11 recorded on `lo` by `captures/make_tls_variants.py`, each with
//! its key log and what its peers logged (`NAME.peers.json`): session resumption (TLS 1.2
//! by session ID and by ticket, TLS 1.3 PSK; two connections, the second resuming the
//! first), TLS 1.3 0-RTT early data that the server accepts or rejects (OpenSSL
//! `s_client`/`s_server` as hand-driven WebSocket peers), and Node `ws` over TLS with each
//! forced suite. `framescope analyze --keylog --jsonl` must give every message as the peers
//! logged it; the TLS facts and WebSocket frames must equal tshark's (`-o tls.keylog_file:`).

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

use common::cli::{of_type, records};
use common::peers::{decoded_messages, logged_messages, read_log};
use framescope::analysis::AnalyzerConfig;
use framescope::analysis::tls::suites;

/// A kept capture: its pcap, key log and peer log.
fn kept(name: &str) -> (PathBuf, PathBuf, Value) {
    let dir = common::captures_dir();
    (
        dir.join(format!("{name}.pcap")),
        dir.join(format!("{name}.keys")),
        read_log(&dir.join(format!("{name}.peers.json"))),
    )
}

/// `framescope analyze PCAP --jsonl --keylog KEYS`.
fn analyze(pcap: &Path, keys: &Path) -> Vec<Value> {
    records(&[
        "analyze",
        pcap.to_str().expect("path"),
        "--jsonl",
        "--keylog",
        keys.to_str().expect("path"),
    ])
}

/// Every connection the peers logged, found among framescope's by its request path: its
/// messages both ways equal the log. Returns the connection records in the log's order.
fn check_messages<'a>(records: &'a [Value], log: &Value) -> Vec<&'a Value> {
    let connections = of_type(records, "connection");
    let logged = log["connections"].as_array().expect("connections");
    assert_eq!(connections.len(), logged.len(), "{connections:#?}");
    logged
        .iter()
        .map(|l| {
            let conn = *connections
                .iter()
                .find(|c| c["handshake"]["path"] == l["path"])
                .unwrap_or_else(|| panic!("no connection for {}", l["path"]));
            let sent = logged_messages(&l["sent"]);
            let received = logged_messages(&l["received"]);
            assert!(sent.len() >= 2, "{}", l["path"]);
            assert_eq!(decoded_messages(records, &conn["conn"], "c2s"), sent, "{}", l["path"]);
            assert_eq!(
                decoded_messages(records, &conn["conn"], "s2c"),
                received,
                "{}",
                l["path"]
            );
            conn
        })
        .collect()
}

fn client_port(conn: &Value) -> u16 {
    let client = conn["client"].as_str().expect("client");
    client.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
}

/// Each connection's TLS version and cipher suite equal tshark's reading of its (last)
/// ServerHello, and it was decrypted. Returns tshark's ServerHellos (None without tshark).
fn check_tls_facts(pcap: &Path, connections: &[&Value]) -> Option<Vec<common::tshark::ServerHello>> {
    let Some(hellos) = common::tshark::server_hellos(pcap) else {
        common::skip_or_fail_in_ci("tshark is not installed");
        return None;
    };
    for conn in connections {
        let hello = hellos
            .iter()
            .rev()
            .find(|h| h.client_port == client_port(conn))
            .unwrap_or_else(|| panic!("tshark saw no ServerHello for {}", conn["client"]));
        let version = match hello.version {
            0x0304 => "1.3",
            0x0303 => "1.2",
            v => panic!("version {v:#x}"),
        };
        let tls = &conn["tls"];
        assert_eq!(tls["version"], version, "{}", conn["client"]);
        assert_eq!(
            tls["cipher_suite"],
            suites::name(hello.cipher_suite),
            "{}",
            conn["client"]
        );
        assert_eq!(tls["sni"], "localhost");
        assert_eq!(tls["decrypted"], true);
    }
    Some(hellos)
}

/// framescope's WebSocket frames (every connection) equal tshark's decryption of the capture.
fn check_frames_against_tshark(pcap: &Path, keys: &Path) {
    let Some(oracle) = common::tshark::frames(pcap, keys) else {
        common::skip_or_fail_in_ci("tshark is not installed");
        return;
    };
    let config = AnalyzerConfig {
        emit_frames: true,
        ..AnalyzerConfig::default()
    };
    let (sink, _) = common::analyze_file_with_keys(pcap, &std::fs::read(keys).expect("keys"), config);
    assert!(!oracle.is_empty(), "tshark decrypted nothing in {}", pcap.display());
    assert_eq!(common::tshark::framescope_frames(&sink), oracle, "{}", pcap.display());
}

fn anomalies(records: &[Value]) -> Vec<&Value> {
    of_type(records, "anomaly")
}

#[test]
fn resumed_sessions_decode_like_the_full_handshakes_before_them() {
    // TLS 1.2 abbreviated handshakes (the server sends ServerHello, ChangeCipherSpec and
    // Finished first; session ID from the server's cache, or a ticket) and TLS 1.3 PSK
    // resumption (no Certificate; pre_shared_key in the ServerHello).
    for name in [
        "tls12-resumption-session-id",
        "tls12-resumption-ticket",
        "tls13-resumption-psk",
    ] {
        let (pcap, keys, log) = kept(name);
        let reused: Vec<&Value> = log["connections"]
            .as_array()
            .expect("connections")
            .iter()
            .map(|c| &c["session_reused"])
            .collect();
        assert_eq!(
            reused,
            [false, true],
            "{name}: the client resumed the second connection"
        );
        let records = analyze(&pcap, &keys);
        let connections = check_messages(&records, &log);
        assert!(anomalies(&records).is_empty(), "{name}: {:#?}", anomalies(&records));
        let Some(hellos) = check_tls_facts(&pcap, &connections) else {
            return;
        };
        if name.starts_with("tls13") {
            let psk: Vec<bool> = connections
                .iter()
                .map(|c| {
                    hellos
                        .iter()
                        .any(|h| h.client_port == client_port(c) && h.extensions.contains(&41))
                })
                .collect();
            assert_eq!(
                psk,
                [false, true],
                "{name}: pre_shared_key in the second ServerHello only"
            );
        }
        check_frames_against_tshark(&pcap, &keys);
    }
}

/// `CLIENT_RANDOM` lines of a key log: (client random, master secret).
fn client_random_lines(keys: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(keys)
        .expect("keys")
        .lines()
        .filter_map(|l| {
            let mut f = l.split(' ');
            (f.next() == Some("CLIENT_RANDOM")).then(|| (f.next().unwrap().to_owned(), f.next().unwrap().to_owned()))
        })
        .collect()
}

#[test]
fn a_resumed_tls12_session_is_logged_under_its_new_client_random_with_the_old_master_secret() {
    // What makes resumption decrypt: OpenSSL logs a resumed TLS 1.2 session's master secret
    // (the first session's, by RFC 5246 §7.3) under the new ClientHello's random, which is
    // what framescope looks up. Both peers log it, so each random appears twice.
    for name in ["tls12-resumption-session-id", "tls12-resumption-ticket"] {
        let (_, keys, _) = kept(name);
        let mut lines = client_random_lines(&keys);
        lines.dedup();
        assert_eq!(lines.len(), 2, "{name}: {lines:?}");
        assert_ne!(lines[0].0, lines[1].0, "{name}: a new client random");
        assert_eq!(lines[0].1, lines[1].1, "{name}: the same master secret");
    }
}

#[test]
fn accepted_early_data_is_part_of_the_clients_stream() {
    // The client's upgrade request and first frame travel as 0-RTT data under
    // CLIENT_EARLY_TRAFFIC_SECRET; the server's EncryptedExtensions accept them.
    let (pcap, keys, log) = kept("tls13-early-data-accepted-openssl");
    let records = analyze(&pcap, &keys);
    let connections = check_messages(&records, &log);
    assert!(anomalies(&records).is_empty(), "{:#?}", anomalies(&records));
    check_tls_facts(&pcap, &connections);
    assert_eq!(
        connections[0]["tls"].get("early_data"),
        None,
        "the first connection sent none"
    );
    assert_eq!(connections[1]["tls"]["early_data"], "accepted");
    if let Some(accepted) = common::tshark::early_data_accepted(&pcap, &keys) {
        assert_eq!(accepted, [client_port(connections[1])]);
    }
}

/// The key log without its CLIENT_EARLY_TRAFFIC_SECRET lines (a server-side key log, or a
/// client that does not log the early secret).
fn without_early_secrets(keys: &Path) -> tempfile::NamedTempFile {
    let text = std::fs::read_to_string(keys).expect("keys");
    assert!(text.contains("CLIENT_EARLY_TRAFFIC_SECRET"));
    let kept: String = text
        .lines()
        .filter(|l| !l.starts_with("CLIENT_EARLY_TRAFFIC_SECRET"))
        .map(|l| format!("{l}\n"))
        .collect();
    let tmp = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(tmp.path(), kept).expect("write");
    tmp
}

#[test]
fn rejected_early_data_is_skipped_as_the_server_skipped_it() {
    // The server advertised 0-RTT in its ticket but rejects it: it skips the early records
    // and the client sends the same upgrade request again after the handshake. framescope
    // skips them too, with or without the early secret in the key log (before, the early
    // record was a `tls-decrypt-failed` finding). The second capture's server answers the
    // resumed ClientHello with a HelloRetryRequest, which rejects 0-RTT whatever it allows;
    // tshark 4.0 shows its rejected early data as part of the stream (the request twice).
    for name in [
        "tls13-early-data-rejected-openssl",
        "tls13-early-data-hello-retry-openssl",
    ] {
        let (pcap, keys, log) = kept(name);
        let stripped = without_early_secrets(&keys);
        for keys in [keys.as_path(), stripped.path()] {
            let records = analyze(&pcap, keys);
            let connections = check_messages(&records, &log);
            assert!(anomalies(&records).is_empty(), "{name}: {:#?}", anomalies(&records));
            assert_eq!(connections[1]["tls"]["early_data"], "rejected", "{name}");
            assert_eq!(connections[1]["handshake"]["status"], 101, "{name}");
        }
        if let Some(accepted) = common::tshark::early_data_accepted(&pcap, &keys) {
            assert!(accepted.is_empty(), "{name}: {accepted:?}");
        }
        if let Some(hellos) = common::tshark::server_hellos(&pcap) {
            // A HelloRetryRequest is a second ServerHello on the same connection.
            assert_eq!(hellos.len() == 4, name.contains("hello-retry"), "{name}: {hellos:?}");
        }
    }
}

#[test]
fn accepted_early_data_without_the_early_secret_is_reported_not_misread() {
    // Without CLIENT_EARLY_TRAFFIC_SECRET the upgrade request sent as 0-RTT data cannot be
    // read: a `tls-no-key` finding names the missing line, and the rest of the session still
    // decrypts (the server's replies are intact).
    let (pcap, keys, _) = kept("tls13-early-data-accepted-openssl");
    let stripped = without_early_secrets(&keys);
    let records = analyze(&pcap, stripped.path());
    let kinds: Vec<&str> = anomalies(&records).iter().filter_map(|a| a["kind"].as_str()).collect();
    assert!(kinds.contains(&"tls-no-key"), "{kinds:?}");
    let no_key = anomalies(&records)
        .into_iter()
        .find(|a| a["kind"] == "tls-no-key")
        .expect("tls-no-key");
    assert!(
        no_key["detail"]
            .as_str()
            .expect("detail")
            .contains("CLIENT_EARLY_TRAFFIC_SECRET"),
        "{no_key}"
    );
    assert!(!kinds.contains(&"tls-decrypt-failed"), "{kinds:?}");
}

#[test]
fn key_updates_sent_by_the_server_keep_decrypting() {
    // OpenSSL's s_server as the WebSocket server: `k` (its own keys only), then `K`
    // (update_requested: the client answers with its own KeyUpdate).
    let (pcap, keys, log) = kept("tls13-keyupdate-openssl-server");
    let records = analyze(&pcap, &keys);
    let connections = check_messages(&records, &log);
    assert!(anomalies(&records).is_empty(), "{:#?}", anomalies(&records));
    check_tls_facts(&pcap, &connections);
    check_frames_against_tshark(&pcap, &keys);
}

#[test]
fn node_ws_over_tls_decodes_with_every_forced_suite() {
    // Node's `ws` client and server, `node --tls-keylog`; TLS 1.3 with each of its three
    // suites and TLS 1.2 ChaCha20-Poly1305; permessage-deflate; 16 500 random bytes span two
    // records each way.
    let (pcap, keys, log) = kept("node-ws-tls-suites");
    let records = analyze(&pcap, &keys);
    let connections = check_messages(&records, &log);
    assert!(anomalies(&records).is_empty(), "{:#?}", anomalies(&records));
    check_tls_facts(&pcap, &connections);
    let logged: Vec<&Value> = log["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .map(|c| &c["negotiated"])
        .collect();
    let ours: Vec<&Value> = connections.iter().map(|c| &c["tls"]["cipher_suite"]).collect();
    assert_eq!(ours, logged, "the suites Node reports it negotiated");
    check_frames_against_tshark(&pcap, &keys);
}

#[test]
fn a_key_log_of_every_capture_and_thousands_more_sessions_matches_each_connection() {
    // A browser's SSLKEYLOGFILE grows for days: one file holds the keys of every TLS capture
    // kept here (several hundred lines: TLS 1.2 and 1.3, resumed sessions, 0-RTT, both
    // peers' lines) plus 20 000 lines of sessions in none of them. Each capture decodes
    // exactly as with its own key log: every connection finds its lines by client random.
    let dir = common::captures_dir();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("captures")
        .filter_map(|e| {
            let name = e.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".keys").map(str::to_owned)
        })
        .collect();
    names.sort();
    let mut big = Vec::new();
    for name in &names {
        big.extend(std::fs::read(dir.join(format!("{name}.keys"))).expect("keys"));
        big.push(b'\n');
    }
    let real_lines = big.split(|b| *b == b'\n').filter(|l| !l.is_empty()).count();
    assert!(real_lines >= 250, "{real_lines} lines");
    for i in 0..20_000u128 {
        let random = i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c834);
        big.extend(format!("CLIENT_RANDOM {random:064x} {:096x}\n", random ^ 0x5a5a).as_bytes());
    }
    let mut decoded = 0;
    for name in &names {
        let Some(pcap) = ["pcap", "pcapng"]
            .iter()
            .map(|ext| dir.join(format!("{name}.{ext}")))
            .find(|p| p.is_file())
        else {
            continue;
        };
        let own_keys = std::fs::read(dir.join(format!("{name}.keys"))).expect("keys");
        let (own, _) = common::analyze_file_with_keys(&pcap, &own_keys, AnalyzerConfig::default());
        let (shared, _) = common::analyze_file_with_keys(&pcap, &big, AnalyzerConfig::default());
        assert!(!own.messages.is_empty(), "{name}");
        assert!(shared.messages == own.messages, "{name}: messages differ");
        assert_eq!(shared.findings, own.findings, "{name}");
        assert_eq!(shared.connections, own.connections, "{name}");
        assert_eq!(shared.flows, own.flows, "{name}");
        decoded += 1;
    }
    assert!(decoded >= 20, "{decoded} captures");
}

#[test]
fn the_same_keys_as_a_decryption_secrets_block_decode_the_same() {
    // The keys inside the file (`editcap --inject-secrets`), no key log option: resumed
    // sessions, 0-RTT and Node's suites decode record for record as with the key log.
    let tmp = tempfile::tempdir().expect("temp dir");
    for name in [
        "tls12-resumption-ticket",
        "tls13-resumption-psk",
        "tls13-early-data-accepted-openssl",
        "tls13-early-data-hello-retry-openssl",
        "node-ws-tls-suites",
    ] {
        let (pcap, keys, _) = kept(name);
        let dsb = tmp.path().join(format!("{name}.pcapng"));
        let Ok(status) = std::process::Command::new("editcap")
            .arg("--inject-secrets")
            .arg(format!("tls,{}", keys.display()))
            .arg(&pcap)
            .arg(&dsb)
            .status()
        else {
            common::skip_or_fail_in_ci("editcap (Debian's wireshark-common) is not installed");
            return;
        };
        assert!(status.success(), "editcap failed on {name}");
        let with_dsb = records(&["analyze", dsb.to_str().expect("path"), "--jsonl"]);
        let with_keys = analyze(&pcap, &keys);
        assert!(of_type(&with_dsb, "message").len() >= 10, "{name}");
        assert_eq!(with_dsb, with_keys, "{name}");
    }
}
