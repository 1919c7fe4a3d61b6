//! TLS for the server-testing tools, against third-party peers on 127.0.0.1 with a
//! self-signed certificate made here (rcgen): `framescope load wss://…` against the Python
//! `websockets` echo server over TLS (trusted through --ca-file, named through --sni, and
//! refused when the name does not match), and `framescope probe --serve … --tls-cert
//! --tls-key` tested by the Python `websockets` client over TLS.

mod common;
mod scenario_support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use framescope::live::target::parse_target;
use framescope::live::tls::TlsOptions;
use framescope::load::{LoadOptions, LoadTls, Mode, run};
use scenario_support::{ListeningScript, framescope, have_python_websockets, path_str, repo};

/// A fresh self-signed certificate for "localhost" and its key, as PEM files in `dir`.
fn certificate(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let key = rcgen::KeyPair::generate().expect("key");
    let params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).expect("params");
    let cert = params.self_signed(&key).expect("certificate");
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, cert.pem()).expect("write cert");
    std::fs::write(&key_path, key.serialize_pem()).expect("write key");
    (cert_path, key_path)
}

#[test]
fn load_runs_over_tls_against_python_websockets() {
    if !have_python_websockets() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());
    let server = ListeningScript::start("websockets_echo.py", &["--tls", path_str(&cert), path_str(&key)]);
    let target = parse_target(&format!("wss://localhost:{}/", server.port)).expect("url");
    let tls_options = TlsOptions {
        extra_ca_file: Some(cert.clone()),
        ..Default::default()
    };
    let report = run(LoadOptions {
        tls: LoadTls::for_target(&target, &tls_options, None).expect("tls"),
        target,
        connections: 4,
        ramp_up: Duration::from_millis(200),
        duration: Duration::from_millis(1500),
        rate: 20.0,
        size: 100,
        churn: 0.0,
        mode: Mode::Echo,
        connect_timeout: Duration::from_secs(5),
        live: false,
        threads: 0,
    })
    .expect("run");
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_eq!(report.connections_opened, 4);
    assert_eq!(report.tls_ms.count, 4, "one TLS handshake per connection");
    assert_eq!(report.handshake_ms.count, 4);
    // 4 clients × 20 msg/s × ~1.6 s.
    assert!(
        (110..=140).contains(&report.messages_sent),
        "sent {}",
        report.messages_sent
    );
    assert!(report.messages_received + 8 >= report.messages_sent);
    assert_eq!(report.rtt_ms.count, report.messages_received);
    assert!(
        report.rtt_ms.p50 > 0.0 && report.rtt_ms.p50 < 50.0,
        "p50 {}",
        report.rtt_ms.p50
    );
    assert!(report.text().contains("  tls "), "{}", report.text());
}

#[test]
fn load_cli_takes_sni_and_ca_file_and_names_a_refused_certificate() {
    if !have_python_websockets() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());
    let server = ListeningScript::start("websockets_echo.py", &["--tls", path_str(&cert), path_str(&key)]);
    // By address: the certificate names "localhost", so --sni says which name to check.
    let url = format!("wss://127.0.0.1:{}/", server.port);
    let json = dir.path().join("load.json");
    let common_args = [
        "load",
        &url,
        "--connections",
        "2",
        "--ramp-up",
        "0",
        "--duration",
        "1",
        "--rate",
        "10",
        "--quiet",
    ];
    let ok = framescope(
        &[
            &common_args[..],
            &[
                "--ca-file",
                path_str(&cert),
                "--sni",
                "localhost",
                "--report",
                path_str(&json),
            ],
        ]
        .concat(),
    );
    assert_eq!(ok.status.code(), Some(0), "{}", String::from_utf8_lossy(&ok.stdout));
    let r: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    assert_eq!(r["tls_ms"]["count"], 2);
    assert!(r["messages_received"].as_u64().unwrap_or(0) >= 16, "{r}");

    // Without --sni the name 127.0.0.1 is not in the certificate: every attempt is an error
    // of that kind, and nothing is opened.
    let refused = framescope(&[&common_args[..], &["--ca-file", path_str(&cert)]].concat());
    assert_eq!(refused.status.code(), Some(1));
    let out = String::from_utf8_lossy(&refused.stdout);
    assert!(out.contains("0 connections opened"), "{out}");
    assert!(
        out.contains("error: tls certificate: ") && out.contains("\"127.0.0.1\"") && out.contains("--sni"),
        "{out}"
    );

    // TLS flags on a ws:// URL are a usage error.
    let usage = framescope(&["load", "ws://127.0.0.1:1/", "--insecure"]);
    assert_eq!(usage.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&usage.stderr).contains("are for wss:// URLs"));
}

#[test]
fn probe_serve_over_tls_tests_the_python_websockets_client() {
    if !have_python_websockets() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let json = dir.path().join("clients.json");
    let mut probe = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["probe", "--serve", &format!("127.0.0.1:{port}"), "--clients", "5"])
        .args(["--total-timeout", "60", "--quiet", "--tls-cert", path_str(&cert)])
        .args(["--tls-key", path_str(&key), "--report", path_str(&json)])
        .stdout(Stdio::null())
        .spawn()
        .expect("probe starts");
    let mut client = Command::new("python3")
        .arg(repo().join("tests/servers/wss_client.py"))
        .arg(format!("wss://localhost:{port}/"))
        .args([path_str(&cert), "localhost", "5"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 starts");
    let lines: Vec<String> = BufReader::new(client.stdout.take().expect("stdout"))
        .lines()
        .map_while(Result::ok)
        .collect();
    assert!(client.wait().expect("python3 ends").success());
    let status = probe.wait().expect("probe ends");
    // What the client itself says it sent, connection by connection.
    assert_eq!(
        lines,
        [
            "CONN 0 1000",
            "CONN 1 1002",
            "CONN 2 1002",
            "CONN 3 1007",
            "CONN 4 1002"
        ],
        "the Python client's own account"
    );
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    let got: Vec<(&str, &str, Option<u64>)> = rows
        .iter()
        .map(|r| {
            (
                r["id"].as_str().unwrap_or(""),
                r["verdict"].as_str().unwrap_or(""),
                r["close_code"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("c.1", "pass", Some(1000)),
            ("c.2", "pass", Some(1002)),
            ("c.3", "pass", Some(1002)),
            ("c.4", "pass", Some(1007)),
            ("c.5", "pass", Some(1002)),
        ],
        "{rows:#?}"
    );
    assert_eq!(status.code(), Some(0));
}

#[test]
fn probe_serve_over_tls_fails_a_client_that_refuses_the_certificate() {
    if !have_python_websockets() {
        return;
    }
    let dir = tempfile::tempdir().expect("tmp");
    let (cert, key) = certificate(dir.path());
    let other = tempfile::tempdir().expect("tmp");
    let (stranger, _) = certificate(other.path());
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let json = dir.path().join("clients.json");
    let mut probe = Command::new(env!("CARGO_BIN_EXE_framescope"))
        .args(["probe", "--serve", &format!("127.0.0.1:{port}"), "--clients", "1"])
        .args(["--total-timeout", "30", "--quiet", "--tls-cert", path_str(&cert)])
        .args(["--tls-key", path_str(&key), "--report", path_str(&json)])
        .stdout(Stdio::null())
        .spawn()
        .expect("probe starts");
    // The client trusts another certificate only: it aborts the handshake.
    let client = Command::new("python3")
        .arg(repo().join("tests/servers/wss_client.py"))
        .arg(format!("wss://localhost:{port}/"))
        .args([path_str(&stranger), "localhost", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("python3 runs");
    assert!(!client.success(), "the client refuses the certificate");
    let status = probe.wait().expect("probe ends");
    let rows: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("report")).expect("json");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["verdict"], "fail");
    let detail = rows[0]["detail"].as_str().unwrap_or("");
    assert!(detail.starts_with("the TLS handshake failed"), "{detail}");
    assert_eq!(status.code(), Some(1));
}
