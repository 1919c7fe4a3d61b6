//! `framescope probe` against real servers on 127.0.0.1: a raw-socket RFC 6455 echo server
//! (tests/servers/raw_echo.py) correct and with one injected fault each, Python `websockets`,
//! and a tokio-tungstenite echo server. Each faulty server must fail in its category and
//! nowhere else; the correct ones must not fail.

mod common;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use framescope::live::target::parse_target;
use framescope::probe::cases::{parse_selection, select};
use framescope::probe::run::{RunOptions, run_all};
use framescope::probe::{CaseResult, Verdict};

struct Server(Child, u16);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python_ok(module: Option<&str>) -> bool {
    let mut c = Command::new("python3");
    c.arg("-c").arg(format!("import {}", module.unwrap_or("asyncio")));
    c.stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Starts a server script on a free port (port 0, it prints the port it got).
fn start(script: &str, args: &[&str]) -> Server {
    let path = format!("{}/tests/servers/{script}", env!("CARGO_MANIFEST_DIR"));
    let mut child = Command::new("python3")
        .arg(path)
        .arg("0")
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 starts");
    let mut line = String::new();
    let out = child.stdout.take().expect("stdout");
    BufReader::new(out)
        .read_line(&mut line)
        .expect("server prints its port");
    let port: u16 = line.trim().trim_start_matches("listening ").parse().expect("a port");
    Server(child, port)
}

async fn probe(port: u16, cases: &str) -> Vec<CaseResult> {
    let opts = RunOptions {
        target: parse_target(&format!("ws://127.0.0.1:{port}/")).unwrap(),
        tls: None,
        cases: select(Some(&parse_selection(cases).unwrap()), false),
        connect_timeout: Duration::from_secs(5),
        case_timeout: Duration::from_secs(20),
        total_timeout: Duration::from_secs(300),
        recorder: None,
    };
    run_all(opts, &mut |_| {}).await.0
}

fn failed_categories(results: &[CaseResult]) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.category.clone())
        .collect()
}

fn failures(results: &[CaseResult]) -> Vec<String> {
    results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| format!("{} {}: {}", r.id, r.description, r.detail))
        .collect()
}

/// One case of each kind per category (a fault server makes its category's cases wait for
/// timeouts, so the set is kept small).
const SAMPLE: &str =
    "1.1.1,1.1.8,1.2.3,1.fs.*,2.*,3.*,4.*,5.*,6.1.1,6.2.3,6.3.*,6.4.1,6.5.*,6.8.*,7.1.*,7.3.*,7.5.1,7.7.1,7.9.1,10.*";

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn each_fault_fails_in_its_category_only() {
    if !python_ok(None) {
        common::skip_or_fail_in_ci("python3 is not installed");
        return;
    }
    let faults: [(&str, &[&str]); 8] = [
        ("no-utf8-check", &["6 UTF-8 handling"]),
        ("ignore-reserved-opcode", &["4 opcodes"]),
        ("wrong-pong", &["2 ping/pong"]),
        ("drop-on-close", &["7 close handling"]),
        ("accept-rsv", &["3 reserved bits"]),
        ("accept-bad-fragments", &["5 fragmentation"]),
        // A close frame is a control frame too: 7.3.6 (a 126-octet close) fails with it.
        ("accept-long-control", &["2 ping/pong", "7 close handling"]),
        ("accept-unmasked", &["1 framing"]),
    ];
    let mut tasks = Vec::new();
    for (fault, want) in faults {
        tasks.push(tokio::spawn(async move {
            let server = start("raw_echo.py", &["--fault", fault]);
            let results = probe(server.1, SAMPLE).await;
            (fault, want, results)
        }));
    }
    let correct = start("raw_echo.py", &[]);
    let good = probe(correct.1, SAMPLE).await;
    assert!(
        failures(&good).is_empty(),
        "the correct server failed: {:#?}",
        failures(&good)
    );
    assert_eq!(good.len(), select(Some(&parse_selection(SAMPLE).unwrap()), false).len());
    for t in tasks {
        let (fault, want, results) = t.await.unwrap();
        let got = failed_categories(&results);
        let want: BTreeSet<String> = want.iter().map(|s| s.to_string()).collect();
        assert_eq!(got, want, "fault {fault}: {:#?}", failures(&results));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_correct_raw_server_passes_every_fast_case_with_the_right_codes() {
    if !python_ok(None) {
        common::skip_or_fail_in_ci("python3 is not installed");
        return;
    }
    let server = start("raw_echo.py", &[]);
    let results = probe(server.1, "1.*,2.*,3.*,4.*,5.*,6.*,7.*,10.*,h.*").await;
    assert!(failures(&results).is_empty(), "{:#?}", failures(&results));
    let by_id = |id: &str| {
        results
            .iter()
            .find(|r| r.id == id)
            .unwrap_or_else(|| panic!("{id} ran"))
    };
    assert_eq!(by_id("2.5").close_code, Some(1002));
    assert_eq!(by_id("6.3.1").close_code, Some(1007));
    assert_eq!(by_id("7.7.13").close_code, Some(4999));
    // This server checks UTF-8 per frame, so a bad chop inside one frame fails late: non-strict.
    assert_eq!(by_id("6.4.1").verdict, Verdict::Pass);
    assert_eq!(by_id("6.4.3").verdict, Verdict::NonStrict);
    assert_eq!(by_id("7.13.1").verdict, Verdict::Info);
    assert_eq!(by_id("h.9").verdict, Verdict::Info);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_websockets_passes_and_negotiates_deflate() {
    if !python_ok(Some("websockets")) {
        common::skip_or_fail_in_ci("the Python websockets package is not installed (pip install websockets)");
        return;
    }
    let server = start("websockets_echo.py", &[]);
    let results = probe(
        server.1,
        "1.*,2.*,3.*,4.*,5.*,6.1.*,6.3.*,6.4.*,7.*,9.7.*,12.1.1,12.2.3,13.1.1,13.2.1,13.3.2,13.5.4,13.7.1",
    )
    .await;
    // websockets 17.4 answers "fragment, close, fragment" with 1002 instead of 1000; kosoku
    // (Autobahn's own case file) gives the same FAILED / WRONG CODE 1002.
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.id.as_str())
        .collect();
    assert_eq!(failed, vec!["7.1.5"], "{:#?}", failures(&results));
    assert_eq!(
        results.iter().find(|r| r.id == "7.1.5").and_then(|r| r.close_code),
        Some(1002)
    );
    let deflate: Vec<&CaseResult> = results
        .iter()
        .filter(|r| r.id.starts_with("12.") || r.id.starts_with("13."))
        .collect();
    assert_eq!(deflate.len(), 7);
    assert!(
        deflate
            .iter()
            .all(|r| r.verdict == Verdict::Pass && r.detail.contains("100 messages echoed intact")),
        "{deflate:#?}"
    );
}

/// A tokio-tungstenite echo server in-process.
async fn tungstenite_echo() -> u16 {
    use futures_util::{SinkExt, StreamExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                    return;
                };
                while let Some(Ok(m)) = ws.next().await {
                    if (m.is_text() || m.is_binary()) && ws.send(m).await.is_err() {
                        break;
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_tungstenite_passes() {
    let port = tungstenite_echo().await;
    let results = probe(port, "1.*,2.*,3.*,4.*,5.*,6.1.*,6.2.*,6.3.*,6.4.*,6.5.*,7.*,10.*").await;
    assert!(failures(&results).is_empty(), "{:#?}", failures(&results));
    assert!(results.len() > 100);
}
