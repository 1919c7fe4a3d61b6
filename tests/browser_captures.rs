//! A real browser's wss:// traffic, end to end through `framescope analyze --jsonl`: headless
//! Chromium loads `captures/browser_page.html` from Hypercorn over TLS (recorded on `lo` by
//! `captures/make_browser_captures.py`, Chromium's `SSLKEYLOGFILE` beside each capture). The
//! page opens two WebSockets and logs what it sent and received (`NAME.peers.json`): over
//! HTTP/2 both are RFC 8441 streams of the page's own connection; against an HTTP/1.1-only
//! server each is a TLS connection of its own. tshark is the oracle for the TLS facts.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::cli::{of_type, records as framescope};
use common::peers::{decoded_messages, logged_messages, read_log};

const H2: &str = "chromium-h2-tls-two-websockets";
const H2_DSB: &str = "chromium-h2-tls-dsb";
const HTTP1: &str = "chromium-http1-tls-two-websockets";
const H2_TLS12_IPV6: &str = "chromium-h2-tls12-chacha20-ipv6";
const FIREFOX_H2: &str = "firefox-h2-tls-two-websockets";

fn capture(dir: &Path, name: &str) -> PathBuf {
    ["pcap", "pcapng"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} capture in {}", dir.display()))
}

/// `analyze --jsonl` of capture NAME in `dir`, with its key log when `keys`.
fn analyzed(dir: &Path, name: &str, keys: bool) -> Vec<Value> {
    let pcap = capture(dir, name);
    let keylog = dir.join(format!("{name}.keys"));
    let mut args = vec!["analyze", pcap.to_str().expect("path"), "--jsonl"];
    if keys {
        args.extend(["--keylog", keylog.to_str().expect("path")]);
    }
    framescope(&args)
}

/// The `flow` records of TCP connections, without the connection attempts that got none
/// (Chromium tries `[::1]` before 127.0.0.1: `refused_attempts_are_the_syns_tshark_sees_reset`).
fn connection_flows(records: &[Value]) -> Vec<&Value> {
    of_type(records, "flow")
        .into_iter()
        .filter(|f| f.get("attempts").is_none())
        .collect()
}

/// The WebSocket connections, keyed by handshake path, each matched to the page's log.
fn by_path<'a>(records: &'a [Value], log: &'a Value) -> Vec<(&'a Value, &'a Value)> {
    let connections = of_type(records, "connection");
    let logged = log["websockets"].as_array().expect("websockets");
    assert_eq!(connections.len(), logged.len(), "{connections:#?}");
    logged
        .iter()
        .map(|l| {
            let conn = connections
                .iter()
                .find(|c| c["handshake"]["path"] == l["path"])
                .unwrap_or_else(|| panic!("no connection for {}", l["path"]));
            (*conn, l)
        })
        .collect()
}

/// The messages the page can see (pings and pongs are the browser's own, not the page's).
fn page_messages(records: &[Value], conn: &Value, dir: &str) -> Vec<common::peers::Logged> {
    decoded_messages(records, conn, dir)
        .into_iter()
        .filter(|m| m.opcode != "ping" && m.opcode != "pong")
        .collect()
}

/// Every message, each direction, equals what the page sent and received; the agreed
/// extension is the browser's default permessage-deflate offer as the server answered it, the
/// subprotocol the one the page saw; Hypercorn's pings got the browser's pongs (RTT samples).
fn check_messages(records: &[Value], log: &Value) {
    for (conn, logged) in by_path(records, log) {
        let sent = logged_messages(&logged["sent"]);
        let received = logged_messages(&logged["received"]);
        assert_eq!(sent.len(), 5, "{logged}");
        assert_eq!(logged["clean"], true);
        assert_eq!(page_messages(records, &conn["conn"], "c2s"), sent, "{}", logged["path"]);
        assert_eq!(
            page_messages(records, &conn["conn"], "s2c"),
            received,
            "{}",
            logged["path"]
        );
        let hs = &conn["handshake"];
        let firefox = log["user_agent"].as_str().is_some_and(|ua| ua.contains("Firefox/"));
        let offer = if firefox {
            "permessage-deflate"
        } else {
            "permessage-deflate; client_max_window_bits"
        };
        assert_eq!(hs["offered_extensions"][0], offer);
        assert_eq!(hs["extensions"][0], logged["extensions"]);
        match logged["protocol"].as_str().expect("protocol") {
            "" => assert_eq!(hs["subprotocol"], Value::Null),
            chosen => {
                assert_eq!(hs["subprotocol"], chosen);
                assert_eq!(hs["offered_subprotocols"], serde_json::json!(["chat.v2", "chat.v1"]));
            }
        }
        let of = |dir: &str, opcode: &str| {
            decoded_messages(records, &conn["conn"], dir)
                .into_iter()
                .filter(|m| m.opcode == opcode)
                .map(|m| m.payload)
                .collect::<Vec<_>>()
        };
        let pings = of("s2c", "ping");
        assert!(!pings.is_empty(), "Hypercorn pings every WebSocket");
        assert_eq!(of("c2s", "pong"), pings, "the browser answers each ping");
        let samples = of_type(records, "rtt")
            .into_iter()
            .filter(|r| r["conn"] == conn["conn"] && r["ping_dir"] == "s2c")
            .count();
        assert_eq!(samples, pings.len());
    }
    assert!(
        log["websockets"]
            .as_array()
            .expect("ws")
            .iter()
            .any(|w| w["protocol"] == "chat.v2")
    );
    // Compressed on the wire: the 94 000-byte repetitive text shrinks, the 100 000
    // incompressible bytes do not (and span many TLS records and, over HTTP/2, DATA frames).
    let data: Vec<_> = of_type(records, "message")
        .into_iter()
        .filter(|m| m["opcode"] == "text" || m["opcode"] == "binary")
        .collect();
    assert_eq!(data.len(), 16);
    assert!(data.iter().all(|m| m["compressed"] == true), "{data:#?}");
    let wire = |len: u64| -> Vec<u64> {
        data.iter()
            .filter(|m| m["len"] == len)
            .map(|m| m["wire_len"].as_u64().expect("wire_len"))
            .collect()
    };
    assert!(wire(94_000).iter().all(|&w| w < 1_000), "{:?}", wire(94_000));
    assert!(wire(100_000).iter().all(|&w| w > 100_000), "{:?}", wire(100_000));
    assert!(
        of_type(records, "anomaly").is_empty(),
        "{:#?}",
        of_type(records, "anomaly")
    );
}

fn tls_facts(conn: &Value, version: &str, alpn: &str) {
    let tls = &conn["tls"];
    assert_eq!(tls["version"], version, "{tls}");
    assert_eq!(tls["sni"], "localhost");
    assert_eq!(tls["alpn"], alpn);
    assert_eq!(tls["decrypted"], true);
}

/// The HTTP/2 capture: both WebSockets are RFC 8441 streams of the page's connection, the
/// page's requests are flows of their own, never connections.
fn check_h2(records: &[Value], log: &Value, tls_version: &str) {
    assert_eq!(log["http_version"], "2", "the page itself came over HTTP/2");
    check_messages(records, log);
    let pairs = by_path(records, log);
    let mut streams = Vec::new();
    for (conn, _) in &pairs {
        let stream = conn["h2_stream"].as_u64().expect("h2_stream");
        assert_eq!(stream % 2, 1, "client-initiated stream");
        streams.push(stream);
        let hs = &conn["handshake"];
        assert_eq!(hs["http_version"], "2");
        assert_eq!(hs["status"], 200);
        assert_eq!(hs["accept_valid"], Value::Null);
        assert_eq!(conn["client"], pairs[0].0["client"], "one TCP connection");
        assert_eq!(conn["server"], pairs[0].0["server"]);
        tls_facts(conn, tls_version, "h2");
    }
    assert_ne!(streams[0], streams[1]);
    // The browser half-closed each stream with its close frame; Hypercorn answered the close
    // but never ended its side, so the browser reset the stream (Chromium 2 s later, with
    // RST_STREAM CANCEL as tshark shows): the end is a reset.
    for end in of_type(records, "end") {
        assert_eq!(end["how"], "reset", "{end}");
    }
    // The page's requests: flows with their stream ids (Firefox loaded the page itself on a
    // connection of its own), never connections.
    let flows = connection_flows(records);
    let reasons: Vec<&str> = flows
        .iter()
        .filter(|f| f.get("h2_stream").is_some())
        .map(|f| {
            assert_eq!(f["protocol"], "http2");
            let stream = f["h2_stream"].as_u64().expect("h2_stream");
            assert!(f["client"] != pairs[0].0["client"] || !streams.contains(&stream), "{f}");
            f["reason"].as_str().expect("reason")
        })
        .collect();
    for get in log["gets"].as_array().expect("gets") {
        let want = format!("GET {} answered {}", get["path"].as_str().expect("path"), get["status"]);
        assert!(reasons.iter().any(|r| r.contains(&want)), "{want} in {reasons:#?}");
    }
    assert!(reasons.iter().any(|r| r.contains("GET / answered 200")), "{reasons:#?}");
    assert!(
        reasons.iter().any(|r| r.contains("POST /log answered 200")),
        "{reasons:#?}"
    );
    // Each TCP connection as a whole, the spare ones too (TLS done, nothing or little sent;
    // one Chromium closed before sending its HTTP/2 preface has no HTTP/2 at all): a TLS flow,
    // decrypted — but for one it gave up on right after its ClientHello (no key exists).
    for whole in flows.iter().filter(|f| f.get("h2_stream").is_none()) {
        let reason = whole["reason"].as_str().expect("reason");
        if reason == "TLS handshake not completed: the client sent nothing after its ClientHello" {
            assert_eq!(whole["tls"]["decrypted"], false, "{whole}");
            continue;
        }
        assert_eq!(whole["tls"]["decrypted"], true, "{whole}");
        assert!(
            reason.starts_with("HTTP/2 without a WebSocket") || reason == "no WebSocket upgrade (ALPN h2)",
            "{whole}"
        );
    }
}

#[test]
fn firefox_websockets_over_http2_decode_as_the_page_logged() {
    // Firefox ESR 153 uses RFC 8441 too (network.http.http2.websockets, on by default) and
    // offers a plain `permessage-deflate`.
    let dir = common::captures_dir();
    let log = read_log(&dir.join(format!("{FIREFOX_H2}.peers.json")));
    let agent = log["user_agent"].as_str().expect("user agent");
    assert!(agent.contains("Firefox/153"), "{agent}");
    check_h2(&analyzed(&dir, FIREFOX_H2, true), &log, "1.3");
}

#[test]
fn chromium_websockets_over_http2_decode_as_the_page_logged() {
    let dir = common::captures_dir();
    let log = read_log(&dir.join(format!("{H2}.peers.json")));
    check_h2(&analyzed(&dir, H2, true), &log, "1.3");
}

#[test]
fn chromium_over_ipv6_and_tls12_chacha20_decodes_as_the_page_logged() {
    // The server capped at TLS 1.2 with ECDHE-ECDSA-CHACHA20-POLY1305, listening on [::1] only.
    let dir = common::captures_dir();
    let log = read_log(&dir.join(format!("{H2_TLS12_IPV6}.peers.json")));
    let records = analyzed(&dir, H2_TLS12_IPV6, true);
    check_h2(&records, &log, "1.2");
    for conn in of_type(&records, "connection") {
        assert!(conn["client"].as_str().expect("client").starts_with("[::1]:"), "{conn}");
        assert_eq!(
            conn["tls"]["cipher_suite"],
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"
        );
    }
}

#[test]
fn chromium_http2_capture_with_keys_in_a_decryption_secrets_block_needs_no_option() {
    let dir = common::captures_dir();
    let log = read_log(&dir.join(format!("{H2_DSB}.peers.json")));
    check_h2(&analyzed(&dir, H2_DSB, false), &log, "1.3");
}

#[test]
fn chromium_ordinary_wss_over_http1_decodes_as_the_page_logged() {
    let dir = common::captures_dir();
    let log = read_log(&dir.join(format!("{HTTP1}.peers.json")));
    assert_eq!(log["http_version"], "1.1");
    let records = analyzed(&dir, HTTP1, true);
    check_messages(&records, &log);
    let pairs = by_path(&records, &log);
    assert_ne!(pairs[0].0["client"], pairs[1].0["client"], "a TLS connection each");
    for (conn, _) in &pairs {
        assert!(conn.get("h2_stream").is_none());
        let hs = &conn["handshake"];
        assert_eq!(hs["http_version"], "1.1");
        assert_eq!(hs["status"], 101);
        assert_eq!(hs["accept_valid"], true);
        tls_facts(conn, "1.3", "http/1.1");
    }
    for end in of_type(&records, "end") {
        assert_eq!(end["how"], "closed", "{end}");
    }
    // The page's own keep-alive connections: TLS flows without a WebSocket. A connection
    // Chromium gave up on right after its ClientHello (it raced [::1] and 127.0.0.1 here) has
    // no key anywhere: a flow saying so, not a `tls-no-key` finding (none: check_messages).
    let flows = connection_flows(&records);
    let (abandoned, used): (Vec<&Value>, Vec<&Value>) = flows.into_iter().partition(|f| {
        f["reason"]
            .as_str()
            .is_some_and(|r| r.contains("sent nothing after its ClientHello"))
    });
    assert_eq!(abandoned.len(), 1, "this recording has one: {abandoned:#?}");
    assert_eq!(abandoned[0]["tls"]["decrypted"], false);
    assert_eq!(
        abandoned[0]["tls"]["version"], "1.3",
        "the server's ServerHello was seen"
    );
    assert!(!used.is_empty());
    for flow in used {
        assert_eq!(flow["tls"]["alpn"], "http/1.1", "{flow}");
        assert_eq!(flow["tls"]["decrypted"], true, "{flow}");
    }
}

#[test]
fn without_chromiums_key_log_nothing_is_a_connection() {
    let dir = common::captures_dir();
    for name in [H2, HTTP1, H2_TLS12_IPV6, FIREFOX_H2] {
        let records = analyzed(&dir, name, false);
        assert!(of_type(&records, "connection").is_empty(), "{name}");
        let flows = connection_flows(&records);
        assert!(flows.len() >= 2, "{name}: {flows:#?}");
        assert!(flows.iter().all(|f| f["tls"]["decrypted"] == false), "{name}");
    }
}

/// `fields` of the packets of `pcap` that match `filter`, by tshark (decrypting with
/// `keys`), one line a packet, fields separated by `|`; `None` without tshark.
fn tshark_fields(pcap: &Path, keys: Option<&Path>, filter: &str, fields: &[&str]) -> Option<Vec<String>> {
    let mut command = Command::new("tshark");
    command.arg("-r").arg(pcap);
    if let Some(keys) = keys {
        command.arg("-o").arg(format!("tls.keylog_file:{}", keys.display()));
    }
    command.args(["-Y", filter, "-T", "fields", "-E", "separator=|"]);
    for field in fields {
        command.args(["-e", field]);
    }
    let out = command.output().ok()?;
    assert!(out.status.success(), "tshark: {}", String::from_utf8_lossy(&out.stderr));
    Some(
        String::from_utf8(out.stdout)
            .expect("utf8")
            .lines()
            .map(str::to_owned)
            .collect(),
    )
}

/// tshark's view of each TLS connection (by client port): version, suite, SNI, and the ALPN
/// the server chose — in TLS 1.3 that is in EncryptedExtensions, so tshark must decrypt too.
fn tshark_tls(pcap: &Path, keys: &Path) -> Option<BTreeMap<String, [String; 4]>> {
    let filter = "tls.handshake.type == 1 || tls.handshake.type == 2 || tls.handshake.type == 8";
    let lines = tshark_fields(
        pcap,
        Some(keys),
        filter,
        &[
            "tcp.srcport",
            "tcp.dstport",
            "tls.handshake.type",
            "tls.handshake.ciphersuite",
            "tls.handshake.extensions.supported_version",
            "tls.handshake.extensions_server_name",
            "tls.handshake.extensions_alpn_str",
            "tls.handshake.version",
        ],
    )?;
    let mut facts: BTreeMap<String, [String; 4]> = BTreeMap::new();
    for line in &lines {
        let f: Vec<&str> = line.split('|').collect();
        let types: Vec<&str> = f[2].split(',').collect();
        if types.contains(&"1") {
            facts.entry(f[0].to_owned()).or_default()[2] = f[5].to_owned();
        }
        if types.contains(&"2") {
            let entry = facts.entry(f[1].to_owned()).or_default();
            // TLS 1.3 says so in supported_versions; TLS 1.2 in the ServerHello's version.
            entry[0] = match (f[4], f[7]) {
                ("0x0304", _) => "1.3".to_owned(),
                ("", "0x0303") => "1.2".to_owned(),
                (v, w) => format!("{v}/{w}"),
            };
            entry[1] = match f[3] {
                "0x1301" => "TLS_AES_128_GCM_SHA256",
                "0x1302" => "TLS_AES_256_GCM_SHA384",
                "0x1303" => "TLS_CHACHA20_POLY1305_SHA256",
                "0xcca9" => "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
                other => other,
            }
            .to_owned();
        }
        // The server's choice: in EncryptedExtensions (TLS 1.3) or the ServerHello (1.2).
        if (types.contains(&"8") || types.contains(&"2")) && !f[6].is_empty() {
            facts.entry(f[1].to_owned()).or_default()[3] = f[6].to_owned();
        }
    }
    Some(facts)
}

#[test]
fn tls_facts_equal_tsharks_for_every_chromium_connection() {
    let dir = common::captures_dir();
    for name in [H2, HTTP1, H2_TLS12_IPV6, FIREFOX_H2] {
        let pcap = capture(&dir, name);
        let keys = dir.join(format!("{name}.keys"));
        let Some(oracle) = tshark_tls(&pcap, &keys) else {
            common::skip_or_fail_in_ci("tshark is not installed");
            return;
        };
        let records = analyzed(&dir, name, true);
        let mut ours: BTreeMap<String, [String; 4]> = BTreeMap::new();
        for r in of_type(&records, "connection")
            .into_iter()
            .chain(connection_flows(&records))
        {
            let port = r["client"].as_str().expect("client").rsplit(':').next().expect("port");
            let tls = &r["tls"];
            let fact = |k: &str| tls[k].as_str().unwrap_or("").to_owned();
            ours.insert(
                port.to_owned(),
                [fact("version"), fact("cipher_suite"), fact("sni"), fact("alpn")],
            );
            // What we decrypted, tshark did too (the ALPN of TLS 1.3 is encrypted).
            if tls["decrypted"] == true {
                assert!(
                    oracle.get(port).is_some_and(|f| !f[3].is_empty()),
                    "{name} {port}: {oracle:#?}"
                );
            }
        }
        assert!(oracle.len() >= 2, "{name}: {oracle:#?}");
        assert_eq!(ours, oracle, "{name}");
    }
}

/// A fresh recording with the browser installed here (`apt-get install chromium`; optional,
/// so this skips without it even in CI, which tests the kept captures above).
#[test]
fn a_fresh_chromium_recording_decodes_as_the_page_logged() {
    let chromium = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let dumpcap = Command::new("dumpcap")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !chromium || !dumpcap || !common::python_has("hypercorn") {
        eprintln!("skipping: chromium, dumpcap (tshark) or hypercorn is missing (make browser-deps)");
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let run = Command::new("timeout")
        .args(["120", "python3"])
        .arg(common::captures_dir().join("make_browser_captures.py"))
        .args(["--out", out.path().to_str().expect("path"), "--only", H2])
        .output()
        .expect("run the recorder");
    if !run.status.success() || !out.path().join(format!("{H2}.peers.json")).is_file() {
        eprintln!("{}", String::from_utf8_lossy(&run.stderr));
        common::skip_or_fail_in_ci("recording Chromium on lo failed (needs root for dumpcap)");
        return;
    }
    let log = read_log(&out.path().join(format!("{H2}.peers.json")));
    check_h2(&analyzed(out.path(), H2, true), &log, "1.3");
    check_h2(&analyzed(out.path(), H2_DSB, false), &log, "1.3");
}

/// Chromium's own HAR: the DevTools front end's writer ("Save all as HAR") run on its network
/// log of the same page (`make_browser_captures.py` drives DevTools over its protocol).
/// DevTools keeps no close frames, so the page's messages less its closes.
#[test]
fn chromiums_devtools_har_reads_as_the_page_logged() {
    let dir = common::captures_dir();
    let har = dir.join("chromium-devtools.har");
    let log = read_log(&dir.join("chromium-devtools.peers.json"));
    let summary = common::cli::framescope(&["analyze", har.to_str().expect("path")]);
    let text = String::from_utf8_lossy(&summary.stdout);
    assert!(text.contains("HAR by WebInspector"), "{text}");
    let records = framescope(&["analyze", har.to_str().expect("path"), "--jsonl"]);
    let no_close = |list: &Value| {
        logged_messages(list)
            .into_iter()
            .filter(|m| m.opcode != "close")
            .collect::<Vec<_>>()
    };
    for (conn, logged) in by_path(&records, &log) {
        let hs = &conn["handshake"];
        assert_eq!(hs["status"], 200, "DevTools shows the RFC 8441 stream's :status");
        assert_eq!(hs["extensions"][0], logged["extensions"]);
        assert_eq!(
            hs["offered_extensions"][0],
            "permessage-deflate; client_max_window_bits"
        );
        let sent = no_close(&logged["sent"]);
        assert_eq!(sent.len(), 4);
        assert_eq!(decoded_messages(&records, &conn["conn"], "c2s"), sent);
        assert_eq!(
            decoded_messages(&records, &conn["conn"], "s2c"),
            no_close(&logged["received"])
        );
    }
    let messages = of_type(&records, "message");
    assert_eq!(messages.len(), 16);
    assert!(
        messages.iter().all(|m| m["frames"] == 0 && m["wire_len"] == 0),
        "no packets in a HAR"
    );
}

/// The window's live capture path (`capture::live::run_live`) on `lo` while Chromium runs,
/// following Chromium's key log as it is written: the live analyzer decodes the same
/// messages as the file, and its recording carries the keys (DSBs) so it decodes alone.
#[test]
fn a_live_capture_following_chromiums_key_log_decodes_as_the_page_logged() {
    use framescope::analysis::event::CollectSink;
    use framescope::analysis::{Analyzer, AnalyzerConfig};
    use framescope::capture::live::{LIVE_TLS_KEY_GRACE_SECS, LiveOptions, LiveStats, run_live};
    use std::sync::atomic::{AtomicBool, Ordering};

    let chromium = Command::new("chromium")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !chromium || !common::python_has("hypercorn") {
        eprintln!("skipping: chromium or hypercorn is missing (make browser-deps)");
        return;
    }
    let out = tempfile::tempdir().expect("tempdir");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let options = LiveOptions {
        interface: "lo".to_owned(),
        filter: format!("tcp port {port}"),
        snaplen: 262_144,
        record_to: out.path().join("live.pcapng"),
        keylog: Some(out.path().join(format!("{H2}.keys"))),
    };
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let live = {
        let (options, stop) = (options.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut analyzer = Analyzer::new(AnalyzerConfig {
                tls_key_grace_secs: LIVE_TLS_KEY_GRACE_SECS,
                ..AnalyzerConfig::default()
            });
            let mut sink = CollectSink::default();
            let run = run_live(&options, &mut analyzer, &mut sink, &LiveStats::default(), &stop);
            analyzer.finish(&mut sink);
            run.map(|_| sink)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(500));
    let run = Command::new("timeout")
        .args(["120", "python3"])
        .arg(common::captures_dir().join("make_browser_captures.py"))
        .args(["--out", out.path().to_str().expect("path"), "--only", H2])
        .args(["--port", &port.to_string()])
        .output()
        .expect("run the recorder");
    stop.store(true, Ordering::Relaxed);
    let sink = match live.join().expect("live thread") {
        Ok(sink) => sink,
        Err(e) => {
            common::skip_or_fail_in_ci(&format!("live capture on lo failed: {e}"));
            return;
        }
    };
    if !run.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&run.stderr));
        common::skip_or_fail_in_ci("recording Chromium on lo failed (needs root for dumpcap)");
        return;
    }
    let log = read_log(&out.path().join(format!("{H2}.peers.json")));
    // The live recording, keys inside as Decryption Secrets Blocks: no --keylog.
    let records = framescope(&["analyze", options.record_to.to_str().expect("path"), "--jsonl"]);
    check_h2(&records, &log, "1.3");
    // What the live analyzer decoded as the packets came equals the file's decoding.
    let from_file: Vec<(String, Vec<u8>)> = of_type(&records, "message")
        .into_iter()
        .map(|m| (m["dir"].as_str().expect("dir").to_owned(), common::cli::payload(m)))
        .collect();
    let live: Vec<(String, Vec<u8>)> = sink
        .messages
        .iter()
        .map(|m| (m.dir.as_str().to_owned(), m.payload.clone()))
        .collect();
    assert_eq!(live.len(), from_file.len());
    assert!(live == from_file, "the live messages differ from the recording's");
    assert_eq!(sink.connections.len(), 2);
    assert!(sink.connections.iter().all(|c| c.h2_stream.is_some()));
    // Live, a key line Chromium writes after its connection ended (it does so for spare
    // connections, asynchronously) comes too late for that connection: `tls-no-key` on it,
    // never on a WebSocket's (the recording read afterwards decrypts it: check_h2 above).
    for finding in &sink.findings {
        assert_eq!(finding.kind.slug(), "tls-no-key", "{finding:?}");
        assert!(finding.conn.is_none(), "{finding:?}");
    }
}

/// Whether an Ethernet/IPv4 TCP packet has FIN set.
fn is_ipv4_fin(frame: &[u8]) -> bool {
    let Some(ip) = frame.get(14..).filter(|_| frame.get(12..14) == Some(&[0x08, 0x00])) else {
        return false;
    };
    let header = usize::from(ip.first().map_or(0, |b| b & 0x0f)) * 4;
    ip.get(9) == Some(&6) && ip.get(header + 13).is_some_and(|flags| flags & 0x01 != 0)
}

#[test]
fn a_key_written_after_a_connections_last_data_still_decrypts_it() {
    // Chromium writes a spare connection's key lines as its handshake ends, and the connection
    // then carries nothing until its FIN; a live capture following the key log (or its
    // recording, where the DSB lands after those packets) learns the key after the last
    // data. Here every key arrives just before the capture's first FIN (the spare
    // connection's): the flow's end still decrypts what waited, no `tls-no-key`.
    use framescope::analysis::event::CollectSink;
    use framescope::analysis::link::LinkType;

    let dir = common::captures_dir();
    let mut analyzer = common::analyzer_for_late_keys();
    let mut sink = CollectSink::default();
    let mut keys = Some(std::fs::read(dir.join(format!("{H2}.keys"))).expect("keys"));
    for (ts, data) in common::pcap_packets(&capture(&dir, H2)) {
        if is_ipv4_fin(&data)
            && let Some(text) = keys.take()
        {
            // Only Chromium's refused [::1] attempts are listed before the keys came.
            assert!(sink.flows.iter().all(|f| f.attempts.is_some()) && sink.findings.is_empty());
            analyzer.keylog_mut().feed(&text);
        }
        analyzer.push_packet(ts, LinkType::Ethernet, &data, &mut sink);
    }
    analyzer.finish(&mut sink);
    assert!(keys.is_none(), "the capture has a FIN");
    assert!(sink.findings.is_empty(), "{:#?}", sink.findings);
    assert_eq!(sink.connections.len(), 2);
    assert_eq!(sink.messages.len(), 24);
    let spare: Vec<_> = sink.flows.iter().filter(|f| f.reason.contains("0 requests")).collect();
    assert!(!spare.is_empty());
    assert!(
        sink.flows
            .iter()
            .filter(|f| f.attempts.is_none())
            .all(|f| f.tls.as_ref().is_some_and(|t| t.decrypted)),
        "{:#?}",
        sink.flows
    );
}

#[test]
fn keys_at_the_end_of_a_pcapng_decrypt_connections_that_ended_before_them() {
    // framescope's live recording writes each key log line as a Decryption Secrets Block when
    // it reads it, which can be after the connection ended. Here every key comes after the
    // last packet: reading the file still decrypts every connection.
    use framescope::analysis::Timestamp;
    use framescope::export::pcapng_writer::PcapNgWriter;

    let dir = common::captures_dir();
    let mut file = pcap::Capture::from_file(capture(&dir, H2)).expect("open");
    let tmp = tempfile::tempdir().expect("tempdir");
    let late = tmp.path().join("keys-last.pcapng");
    let mut w = PcapNgWriter::new(std::fs::File::create(&late).expect("create")).expect("pcapng");
    let iface = w.add_interface(1, 262_144, "lo").expect("interface");
    while let Ok(p) = file.next_packet() {
        let ts = Timestamp::from_secs_nanos(p.header.ts.tv_sec, p.header.ts.tv_usec * 1000);
        w.write_packet(iface, ts, p.data, p.header.len).expect("packet");
    }
    w.write_tls_keys(&std::fs::read(dir.join(format!("{H2}.keys"))).expect("keys"))
        .expect("keys");
    w.flush().expect("flush");
    let records = framescope(&["analyze", late.to_str().expect("path"), "--jsonl"]);
    let log = read_log(&dir.join(format!("{H2}.peers.json")));
    check_h2(&records, &log, "1.3");
}

/// Client ports whose SYN the server side answered with a RST and never with a SYN-ACK, by
/// tshark; `None` without tshark.
fn tshark_refused_ports(pcap: &Path) -> Option<Vec<u16>> {
    let filter = "tcp.flags.syn == 1 || tcp.flags.reset == 1";
    let fields = [
        "tcp.srcport",
        "tcp.dstport",
        "tcp.flags.syn",
        "tcp.flags.ack",
        "tcp.flags.reset",
    ];
    let lines = tshark_fields(pcap, None, filter, &fields)?;
    let (mut syn, mut syn_ack, mut reset) = (Vec::new(), Vec::new(), Vec::new());
    for line in &lines {
        let f: Vec<&str> = line.split('|').collect();
        let flag = |i: usize| f.get(i).is_some_and(|v| *v == "1" || *v == "True");
        let port = |i: usize| f.get(i).and_then(|p| p.parse::<u16>().ok()).expect("port");
        match (flag(2), flag(3), flag(4)) {
            (true, false, _) => syn.push(port(0)),
            (true, true, _) => syn_ack.push(port(1)),
            (false, _, true) => reset.push(port(1)),
            _ => {}
        }
    }
    syn.retain(|p| reset.contains(p) && !syn_ack.contains(p));
    Some(syn)
}

#[test]
fn refused_attempts_are_the_syns_tshark_sees_reset() {
    // Chromium resolves localhost to [::1] and 127.0.0.1 and tries both; the server listens
    // on one, so the kernel resets the other's SYNs. Each is a `flow` record of its own.
    let dir = common::captures_dir();
    let mut seen = 0;
    for name in [H2, HTTP1, H2_TLS12_IPV6, FIREFOX_H2] {
        let pcap = capture(&dir, name);
        let Some(oracle) = tshark_refused_ports(&pcap) else {
            common::skip_or_fail_in_ci("tshark is not installed");
            return;
        };
        let records = analyzed(&dir, name, true);
        let refused: Vec<&Value> = of_type(&records, "flow")
            .into_iter()
            .filter(|f| f.get("attempts").is_some())
            .collect();
        let ports: Vec<u16> = refused
            .iter()
            .map(|f| {
                assert_eq!(f["reason"], "connection refused (RST after SYN)", "{f}");
                assert_eq!((f["attempts"].as_u64(), f["protocol"].as_str()), (Some(1), Some("tcp")));
                let client = f["client"].as_str().expect("client");
                client.rsplit(':').next().and_then(|p| p.parse().ok()).expect("port")
            })
            .collect();
        assert_eq!(ports, oracle, "{name}");
        seen += ports.len();
    }
    assert!(seen >= 5, "the kept captures have refused attempts: {seen}");
}
