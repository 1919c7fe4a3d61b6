//! `framescope connect` against real servers on 127.0.0.1 started here: a tokio-tungstenite
//! echo server (the recorded session must analyse to exactly what the server received and
//! sent), a server that speaks first in binary and closes with 1008, a server that answers
//! 403, a port nobody listens on, and bad URLs.

mod common;

use std::io::{Read, Write};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn framescope(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(args)
        .output()
        .expect("run framescope")
}

/// What the echo server saw: (received texts, sent texts).
type Seen = Arc<Mutex<(Vec<String>, Vec<String>)>>;

/// An echo server on 127.0.0.1 for one connection; returns its port.
fn echo_server(seen: Seen) -> u16 {
    common::spawn_server(move |listener| async move {
        let Ok(Ok((tcp, _))) = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await else {
            return;
        };
        let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
        while let Some(Ok(m)) = ws.next().await {
            if let Message::Text(t) = &m {
                let reply = format!("echo: {t}");
                if let Ok(mut s) = seen.lock() {
                    s.0.push(t.to_string());
                    s.1.push(reply.clone());
                }
                ws.send(Message::text(reply)).await.expect("send");
            }
        }
    })
}

#[test]
fn a_session_prints_jsonl_and_records_exactly_what_the_server_saw() {
    let seen: Seen = Arc::default();
    let port = echo_server(seen.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let record = dir.path().join("session.pcapng");
    let url = format!("ws://127.0.0.1:{port}/live?x=1");
    let out = framescope(&[
        "connect",
        &url,
        "--send",
        "one",
        "--send",
        "two",
        "--jsonl",
        "--wait",
        "0.5",
        "--record",
        record.to_str().expect("path"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).expect("utf8");
    let records: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(records[0]["type"], "connection");
    assert_eq!(records[0]["handshake"]["path"], "/live?x=1");
    assert_eq!(records[0]["handshake"]["accept_valid"], true);
    let texts = |dir: &str| -> Vec<String> {
        records
            .iter()
            .filter(|r| r["type"] == "message" && r["dir"] == dir && r["opcode"] == "text")
            .map(|r| {
                use base64::Engine as _;
                let raw = base64::engine::general_purpose::STANDARD
                    .decode(r["payload_b64"].as_str().expect("b64"))
                    .expect("b64");
                String::from_utf8(raw).expect("utf8")
            })
            .collect()
    };
    let (received, sent) = seen.lock().expect("seen").clone();
    assert_eq!(received, vec!["one", "two"]);
    assert_eq!(texts("c2s"), received);
    assert_eq!(texts("s2c"), sent);
    assert!(!records.iter().any(|r| r["type"] == "anomaly"), "{stdout}");

    // The recording opens like any capture and holds the same messages, masks included.
    let (sink, summary) = common::analyze_file(&record);
    assert_eq!(summary.stopped_early, None);
    assert_eq!(sink.connections.len(), 1);
    let c2s: Vec<Vec<u8>> = common::data_payloads(&sink, framescope::analysis::Direction::ClientToServer);
    let s2c: Vec<Vec<u8>> = common::data_payloads(&sink, framescope::analysis::Direction::ServerToClient);
    assert_eq!(c2s, received.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
    assert_eq!(s2c, sent.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>());
    assert!(
        sink.frames
            .iter()
            .filter(|f| f.dir == framescope::analysis::Direction::ClientToServer)
            .all(|f| f.header.mask.is_some())
    );
    assert_eq!(sink.ends, vec![(0, framescope::analysis::event::ConnectionEnd::Closed)]);
}

#[test]
fn without_jsonl_the_server_messages_are_printed_as_lines() {
    let port = echo_server(Arc::default());
    let out = framescope(&[
        "connect",
        &format!("ws://127.0.0.1:{port}/"),
        "--send",
        "hi",
        "--wait",
        "0.3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "echo: hi\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("connected to ws://127.0.0.1:{port}/")));
}

#[test]
fn a_non_101_answer_shows_the_status_line_headers_and_body() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = listener.accept() {
            let mut buf = [0u8; 2048];
            let _ = s.read(&mut buf);
            let _ = s.write_all(
                b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n\r\nno tokens, sorry",
            );
        }
    });
    let out = framescope(&[
        "connect",
        &format!("ws://127.0.0.1:{port}/secret"),
        "--send",
        "x",
        "--timeout",
        "5",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("answered 403 Forbidden instead of 101"), "{err}");
    assert!(err.contains("content-type: text/plain"), "{err}");
    assert!(err.contains("no tokens, sorry"), "{err}");
}

#[test]
fn refused_connections_and_bad_urls_say_what_is_wrong() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let out = framescope(&["connect", &format!("ws://127.0.0.1:{port}/"), "--send", "x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused: nothing is listening there"));
    for (url, says) in [
        ("http://127.0.0.1/", "use ws://"),
        ("ws://::1:80/", "brackets"),
        ("ws://localhost:70000/", "1 to 65535"),
        ("127.0.0.1:80", "no scheme"),
    ] {
        let out = framescope(&["connect", url]);
        assert_eq!(out.status.code(), Some(2), "{url}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(says), "{url}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

/// A wss:// echo server with a fresh self-signed certificate for "localhost"; returns the
/// port and the certificate's PEM. `as_ca`: the certificate says it is a CA, as the ones
/// `openssl req -x509` makes do.
fn tls_echo_server_with(as_ca: bool) -> (u16, String) {
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    if as_ca {
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    }
    let signing_key = rcgen::KeyPair::generate().expect("key");
    let cert = params.self_signed(&signing_key).expect("certificate");
    let pem = cert.pem();
    let cert_der = cert.der().clone();
    let key_der = rustls_pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert_der], key_der)
        .expect("server config");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let port = common::spawn_server(move |listener| async move {
        // Serve a few connections (one per test step), each an echo.
        for _ in 0..4 {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await else {
                return;
            };
            let Ok(tls) = acceptor.accept(tcp).await else {
                continue;
            };
            let Ok(mut ws) = tokio_tungstenite::accept_async(tls).await else {
                continue;
            };
            while let Some(Ok(m)) = ws.next().await {
                if m.is_text() {
                    let _ = ws.send(m).await;
                }
            }
        }
    });
    (port, pem)
}

fn tls_echo_server() -> (u16, String) {
    tls_echo_server_with(false)
}

#[test]
fn wss_checks_certificates_and_taps_the_plaintext() {
    let (port, pem) = tls_echo_server();
    let dir = tempfile::tempdir().expect("tmp");
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, pem).expect("write ca");
    let url = format!("wss://localhost:{port}/secure");

    // Not trusted: refused, naming the certificate problem and the way out.
    let out = framescope(&["connect", &url, "--send", "x", "--timeout", "5"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("TLS failed") && err.contains("certificate") && err.contains("--ca-file"),
        "{err}"
    );

    // Trusted through --ca-file: the tap above TLS sees the WebSocket bytes in the clear.
    let out = framescope(&[
        "connect",
        &url,
        "--ca-file",
        ca.to_str().expect("path"),
        "--send",
        "over tls",
        "--jsonl",
        "--wait",
        "0.3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("\"path\":\"/secure\""), "{stdout}");
    assert_eq!(
        stdout.matches("\"payload_b64\":\"b3ZlciB0bHM=\"").count(),
        2,
        "sent and echoed: {stdout}"
    );

    // --insecure connects too, and says so; with SSLKEYLOGFILE set the TLS secrets are logged
    // for Wireshark (TLS 1.3: the client traffic secret line).
    let keylog = dir.path().join("keys.log");
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["connect", &url, "--insecure", "--send", "anyway", "--wait", "0.3"])
        .env("SSLKEYLOGFILE", &keylog)
        .output()
        .expect("run framescope");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let keys = std::fs::read_to_string(&keylog).expect("key log written");
    assert!(
        keys.lines()
            .any(|l| l.starts_with("CLIENT_TRAFFIC_SECRET_0 ") && l.split(' ').count() == 3),
        "{keys}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("WARNING: --insecure"));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "anyway\n");

    // --keylog names the file itself (SSLKEYLOGFILE unset): one line per secret, the client
    // random (32 bytes) and the secret in hex, as Wireshark reads them.
    let named = dir.path().join("named.keys");
    let out = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["connect", &url, "--ca-file", ca.to_str().expect("path"), "--keylog"])
        .arg(&named)
        .args(["--send", "keyed", "--wait", "0.3"])
        .env_remove("SSLKEYLOGFILE")
        .output()
        .expect("run framescope");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let keys = std::fs::read_to_string(&named).expect("key log written");
    let labels: Vec<&str> = keys.lines().filter_map(|l| l.split(' ').next()).collect();
    for label in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ] {
        assert!(labels.contains(&label), "{label} missing: {keys}");
    }
    for line in keys.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[1].len(), 64, "{line}");
        assert!(
            parts[1..].iter().all(|p| p.bytes().all(|b| b.is_ascii_hexdigit())),
            "{line}"
        );
    }
}

#[test]
fn secret_headers_are_sent_but_not_printed_or_recorded() {
    let seen: Seen = Arc::new(Mutex::new((Vec::new(), Vec::new())));
    let port = echo_server(seen.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let record = dir.path().join("s.pcapng");
    let out = framescope(&[
        "connect",
        &format!("ws://127.0.0.1:{port}/s"),
        "--secret-header",
        "Authorization: Bearer t0psecret",
        "--send",
        "hi",
        "--jsonl",
        "--record",
        record.to_str().expect("path"),
        "--wait",
        "0.3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(seen.lock().expect("lock").0, vec!["hi".to_owned()]);
    let recorded = std::fs::read(&record).expect("recording");
    let has = |hay: &[u8], needle: &[u8]| hay.windows(needle.len()).any(|w| w == needle);
    assert!(!has(&recorded, b"t0psecret") && !has(&out.stdout, b"t0psecret"));
    assert!(has(&recorded, b"authorization: ****************\r\n"));
    let bad = framescope(&["connect", "ws://127.0.0.1:9/", "--secret-header", "novalue"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--secret-header 'novalue'"));
}

#[test]
fn binary_both_ways_and_a_close_from_the_server_are_printed_and_recorded() {
    let log: common::ServerLog = Arc::default();
    let port = common::closing_server(log.clone());
    let dir = tempfile::tempdir().expect("tmp");
    let record = dir.path().join("session.pcapng");
    let url = format!("ws://127.0.0.1:{port}/");
    // Not hex: refused before connecting (the server still waits for its one client).
    let bad = framescope(&["connect", &url, "--hex", "--send", "zz"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--send 'zz' is not hex"));

    // Binary out; the greeting and the reversed echo back (stdin closed at once).
    let mut child = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args([
            "connect",
            &url,
            "--hex",
            "--send",
            "01 02 03",
            "--record",
            record.to_str().expect("path"),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // The greeting and the reversed echo, as hex lines.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "deadbeef\n030201\n");
    let (received, sent) = log.lock().expect("log").clone();
    assert_eq!(received[0], Message::binary(vec![1u8, 2, 3]));
    assert_eq!(
        sent[..2],
        [
            Message::binary(vec![0xdeu8, 0xad, 0xbe, 0xef]),
            Message::binary(vec![3u8, 2, 1])
        ]
    );
    let (sink, _) = common::analyze_file(&record);
    assert_eq!(
        common::data_payloads(&sink, framescope::analysis::Direction::ServerToClient),
        vec![vec![0xde, 0xad, 0xbe, 0xef], vec![3, 2, 1]]
    );
}

#[test]
fn a_close_started_by_the_server_is_shown_with_its_code_name_and_reason() {
    let log: common::ServerLog = Arc::default();
    let port = common::closing_server(log.clone());
    let url = format!("ws://127.0.0.1:{port}/");
    let out = framescope(&["connect", &url, "--send", "hi", "--send", "close please", "--wait", "5"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "deadbeef\necho: hi\n");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("close from the server: 1008 Policy Violation: too chatty"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The client answered the server's close with the same code.
    let (received, _) = log.lock().expect("log").clone();
    assert!(matches!(received.last(), Some(Message::Close(Some(f))) if u16::from(f.code) == 1008));
}

#[test]
fn a_self_signed_ca_certificate_is_trusted_when_given_and_only_for_its_names() {
    let (port, pem) = tls_echo_server_with(true);
    let dir = tempfile::tempdir().expect("tmp");
    let ca = dir.path().join("dev.pem");
    std::fs::write(&ca, pem).expect("write");
    let ca = ca.to_str().expect("path");
    let url = format!("wss://localhost:{port}/");

    // Not given: the problem is named (webpki's own word for it is "CaUsedAsEndEntity").
    let out = framescope(&["connect", &url, "--send", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("localhost presented a CA certificate as its own"), "{err}");
    assert!(err.contains("--ca-file"), "{err}");

    // Given: trusted as exactly that certificate, for the names it carries.
    let out = framescope(&["connect", &url, "--ca-file", ca, "--send", "pinned", "--wait", "0.3"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "pinned\n");
    let other_name = format!("wss://127.0.0.1:{port}/");
    let out = framescope(&["connect", &other_name, "--ca-file", ca, "--send", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not valid for") && err.contains("127.0.0.1"), "{err}");
}

#[test]
fn the_wrong_scheme_for_the_server_is_named() {
    // wss:// to a plain server: it hangs up on the TLS hello.
    let port = common::spawn_server(|listener| async move {
        if let Ok((tcp, _)) = listener.accept().await {
            assert!(
                tokio_tungstenite::accept_async(tcp).await.is_err(),
                "a TLS hello is no upgrade"
            );
        }
    });
    let out = framescope(&["connect", &format!("wss://127.0.0.1:{port}/"), "--send", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("is it a plain ws:// server?"), "{err}");

    // ws:// to a TLS server: it hangs up on the plain request.
    let (port, _) = tls_echo_server();
    let out = framescope(&["connect", &format!("ws://localhost:{port}/"), "--send", "x"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("if it speaks TLS, use wss://"), "{err}");
}

#[test]
fn a_server_that_never_answers_the_upgrade_times_out_saying_where() {
    // Accepts the TCP connection, reads the request, answers nothing.
    let port = common::spawn_server(|listener| async move {
        if let Ok((tcp, _)) = listener.accept().await {
            tokio::time::sleep(Duration::from_secs(5)).await;
            drop(tcp);
        }
    });
    let out = framescope(&[
        "connect",
        &format!("ws://127.0.0.1:{port}/"),
        "--timeout",
        "0.3",
        "--send",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no answer within 300ms to the upgrade request"), "{err}");
}

#[test]
// tungstenite's header callback returns its own (large) error type.
#[allow(clippy::result_large_err)]
fn credentials_in_the_url_are_sent_as_basic_authorization_and_kept_out_of_output() {
    // A server that answers with the Authorization header it was sent.
    let port = common::spawn_server(|listener| async move {
        let Ok((tcp, _)) = listener.accept().await else {
            return;
        };
        let mut auth = String::new();
        let callback = |req: &tokio_tungstenite::tungstenite::handshake::server::Request,
                        resp: tokio_tungstenite::tungstenite::handshake::server::Response| {
            auth = req
                .headers()
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("(none)")
                .to_owned();
            Ok(resp)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
            return;
        };
        let _ = ws.send(Message::text(auth)).await;
        while let Some(Ok(_)) = ws.next().await {}
    });
    let dir = tempfile::tempdir().expect("tmp");
    let record = dir.path().join("auth.pcapng");
    let out = framescope(&[
        "connect",
        &format!("ws://alice:s%40cret@127.0.0.1:{port}/private"),
        "--record",
        record.to_str().expect("path"),
        "--wait",
        "0.3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    // base64("alice:s@cret"), decoded from the URL's percent-encoding.
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Basic YWxpY2U6c0BjcmV0\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("connected to ws://127.0.0.1:{port}/private")),
        "{stderr}"
    );
    assert!(!stderr.contains("cret"), "{stderr}");
    let recorded = std::fs::read(&record).expect("recording");
    let has = |needle: &[u8]| recorded.windows(needle.len()).any(|w| w == needle);
    // The request line has no credentials; the header value is blanked (same length). The
    // server's echo of it is the server's business and stays as sent.
    assert!(has(b"GET /private HTTP/1.1\r\n"));
    let blanked = format!("authorization: {}\r\n", "*".repeat("Basic YWxpY2U6c0BjcmV0".len()));
    assert!(has(blanked.as_bytes()));
}

#[test]
fn infinite_or_huge_durations_are_refused_with_a_message_not_a_panic() {
    for (flag, value) in [
        ("--timeout", "inf"),
        ("--timeout", "1e30"),
        ("--wait", "1e30"),
        ("--ping-every", "inf"),
    ] {
        let out = framescope(&["connect", "ws://127.0.0.1:9/", flag, value]);
        assert_eq!(out.status.code(), Some(2), "{flag} {value}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("{flag} must be a number of seconds")), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}
