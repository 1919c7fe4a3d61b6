//! The scenario steps the chat example does not use, against a tokio-tungstenite server on
//! 127.0.0.1: a refused upgrade, regex captures, `Set`, exact JSON, binary hex/base64, ping
//! and pong, `any`, a drop seen as a drop, reconnect, a server close, connect timing, and
//! secret headers — sent, but blanked in the report and absent from the recording.

mod common;
mod scenario_support;

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use scenario_support::*;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

const TOKEN: &str = "Bearer tok-81f2c9";

/// Echoes text and binary; "drop" drops TCP, "close:N" closes with code N, "whoami" answers
/// the Authorization header it got; the path /forbidden is refused with 403.
fn server() -> u16 {
    common::spawn_server(|listener| async move {
        for _ in 0..16 {
            let Ok(Ok((tcp, _))) = tokio::time::timeout(Duration::from_secs(30), listener.accept()).await else {
                return;
            };
            tokio::spawn(async move {
                let auth = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
                let seen = auth.clone();
                // The signature tungstenite's accept_hdr_async asks for.
                #[allow(clippy::result_large_err)]
                let callback = move |req: &Request, resp: Response| -> Result<Response, ErrorResponse> {
                    if req.uri().path() == "/forbidden" {
                        let mut refused = ErrorResponse::new(Some("no".to_owned()));
                        *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::FORBIDDEN;
                        return Err(refused);
                    }
                    if let Some(v) = req.headers().get("authorization")
                        && let Ok(mut a) = seen.lock()
                    {
                        *a = String::from_utf8_lossy(v.as_bytes()).into_owned();
                    }
                    Ok(resp)
                };
                let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(tcp, callback).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    let reply = match m {
                        Message::Text(t) if t.as_str() == "drop" => return,
                        Message::Text(t) if t.as_str() == "flood" => {
                            // As fast as the socket takes them, for 2 s.
                            let until = tokio::time::Instant::now() + Duration::from_secs(2);
                            while tokio::time::Instant::now() < until {
                                if ws.send(Message::text("x")).await.is_err() {
                                    return;
                                }
                            }
                            continue;
                        }
                        Message::Text(t) if t.as_str() == "whoami" => {
                            Message::text(auth.lock().map(|a| a.clone()).unwrap_or_default())
                        }
                        Message::Text(t) if t.as_str().starts_with("close:") => {
                            let code: u16 = t.as_str().trim_start_matches("close:").parse().unwrap_or(1000);
                            Message::Close(Some(CloseFrame {
                                code: code.into(),
                                reason: "asked to".into(),
                            }))
                        }
                        Message::Text(_) | Message::Binary(_) => m,
                        _ => continue,
                    };
                    if ws.send(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    })
}

const SCENARIO: &str = r#"Scenario(
    name: "features",
    vars: {"greeting": "hello"},
    timeout_ms: 1500,
    clients: {
        "a": (headers: {"X-Plain": "1"}, secret_headers: {"Authorization": "${env:FS_TEST_TOKEN}"}),
        "refused": (url: "/forbidden"),
        "f": (),
    },
    steps: [
        Connect(client: "refused", expect_status: 403),
        Connect(client: "a", measure: "connect"),
        Group(name: "text, regex, capture, Set, exact JSON", steps: [
            Send(client: "a", text: "${greeting} world 42"),
            Expect(client: "a", regex: "^(\\w+) world (\\d+)$", capture: {"word": "$1", "num": "$2"}),
            Set(var: "doc", value: {"w": "${word}", "n": "${num}", "list": [1, "${word}"]}),
            Send(client: "a", json: "${doc}"),
            Expect(client: "a", json: {"w": "hello", "n": "42", "list": [1, "hello"]}, exact: true),
        ]),
        Group(name: "binary and ping", steps: [
            Send(client: "a", binary_hex: "00 01 fe ff"),
            Expect(client: "a", kind: Binary, binary_base64: "AAH+/w=="),
            Send(client: "a", ping: "p1"),
            Expect(client: "a", kind: Pong, binary_hex: "7031"),
        ]),
        Group(name: "any skips what does not match", steps: [
            Send(client: "a", text: "first"),
            Send(client: "a", text: "second"),
            Expect(client: "a", any: true, text: "second"),
            ExpectSilence(client: "a", for_ms: 100),
        ]),
        Group(name: "a failure on a secret shows it blanked", steps: [
            Send(client: "a", text: "whoami"),
            Expect(client: "a", text: "nobody"),
        ]),
        Group(name: "a drop is a drop", steps: [
            Send(client: "a", text: "drop"),
            ExpectDrop(client: "a"),
        ]),
        Reconnect(client: "a"),
        Send(client: "a", text: "close:4000"),
        ExpectClose(client: "a", code: 4000),
        Connect(client: "a", measure: "connect"),
        Send(client: "a", text: "still here"),
        Expect(client: "a", text: "still here"),
        Timing(measure: "connect", stat: Max, below_ms: 1000, min_samples: 2),
        Connect(client: "f"),
        Group(name: "a flood cannot hold a step past its limit", steps: [
            Send(client: "f", text: "flood"),
            Expect(client: "f", any: true, text: "never", within_ms: 300),
        ]),
    ],
)"#;

#[test]
fn every_kind_of_step_against_a_tokio_tungstenite_server() {
    let port = server();
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("features.ron");
    std::fs::write(&file, SCENARIO).expect("write");
    let (report, record) = (dir.path().join("r.json"), dir.path().join("run.pcapng"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["test", path_str(&file), "--url", &format!("ws://127.0.0.1:{port}/x")])
        .args(["--report", path_str(&report), "--record", path_str(&record)])
        .env("FS_TEST_TOKEN", TOKEN)
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    // One deliberate failure (the whoami group).
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!stdout.contains("tok-81f2c9"), "{stdout}");
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let status: Vec<(&str, &str)> = r["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| (s["path"].as_str().unwrap_or(""), s["status"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(
        status,
        [
            ("1", "pass"),
            ("2", "pass"),
            ("3", "pass"),
            ("4", "pass"),
            ("5", "pass"),
            ("6", "fail"),
            ("7", "pass"),
            ("8", "pass"),
            ("9", "pass"),
            ("10", "pass"),
            ("11", "pass"),
            ("12", "pass"),
            ("13", "pass"),
            ("14", "pass"),
            ("15", "pass"),
            ("16", "fail"),
        ],
        "{stdout}"
    );
    assert_eq!(r["steps"][0]["detail"], "refused with 403 Forbidden, as expected");
    let (path, _, detail) = first_failure(&r).expect("the deliberate failure");
    assert_eq!(path, "6.2");
    assert_eq!(detail, "got text ***\ntext is not nobody");
    let flood = &r["steps"][15]["steps"][1];
    let took = flood["duration_ms"].as_f64().expect("duration");
    assert!((300.0..1000.0).contains(&took), "{flood}");
    let said = flood["detail"].as_str().expect("detail");
    assert!(said.starts_with("no matching message within 300 ms; "), "{said}");
    assert!(
        said.contains(" arrived instead: text x (text is not never); "),
        "{said}"
    );
    assert_eq!(
        r["steps"][6]["steps"][1]["detail"],
        "the server closed the TCP connection without a close frame"
    );
    assert_eq!(r["steps"][9]["detail"], "got close 4000 Private use: asked to");
    assert_eq!(r["measurements"]["connect"]["count"], 2);
    assert_eq!(r["connections"], 4);

    // The recording holds every request with the secret blanked to the same length; the
    // token is in the file once, in the server's answer to "whoami" (payloads are kept as
    // they were).
    let bytes = std::fs::read(&record).expect("recording");
    let count = |needle: &[u8]| bytes.windows(needle.len()).filter(|w| *w == needle).count();
    assert_eq!(count(TOKEN.as_bytes()), 1);
    assert_eq!(
        count(format!("authorization: {}\r\n", "*".repeat(TOKEN.len())).as_bytes()),
        3
    );
    let (sink, _) = common::analyze_file(&record);
    // The refused upgrade is a finding, not a connection; the three of client a and f's
    // are there.
    assert_eq!(sink.connections.len(), 4);
    for c in sink.connections.iter().take(3) {
        let request = c.handshake.as_ref().and_then(|h| h.request.as_ref()).expect("request");
        assert_eq!(request.header("x-plain"), Some("1"));
        assert_eq!(request.header("authorization"), Some("*".repeat(TOKEN.len()).as_str()));
    }
    assert_eq!(sink.findings_of("upgrade-rejected").len(), 1);
}
