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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_ws_passes() {
    let dir = format!("{}/tests/node", env!("CARGO_MANIFEST_DIR"));
    if !std::path::Path::new(&format!("{dir}/node_modules/ws")).is_dir() {
        common::skip_or_fail_in_ci("Node ws is not installed (npm install --prefix tests/node)");
        return;
    }
    let mut child = Command::new("node")
        .arg(format!("{dir}/ws_echo.js"))
        .arg("0")
        .stdout(Stdio::piped())
        .spawn()
        .expect("node starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let server = Server(child, line.trim().trim_start_matches("listening ").parse().unwrap());
    let results = probe(server.1, "1.*,2.*,3.*,4.*,5.*,6.1.*,6.3.*,6.4.*,7.*,9.7.*,10.*,h.*").await;
    assert!(failures(&results).is_empty(), "{:#?}", failures(&results));
    // ws checks UTF-8 once a message is complete: the fail-fast cases are non-strict.
    let v641 = results.iter().find(|r| r.id == "6.4.1").unwrap();
    assert_eq!((v641.verdict, v641.close_code), (Verdict::NonStrict, Some(1007)));
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

fn framescope() -> Command {
    Command::new(env!("CARGO_BIN_EXE_framescope"))
}

#[test]
fn the_command_writes_reports_and_a_recording_and_exits_by_verdict() {
    if !python_ok(None) {
        common::skip_or_fail_in_ci("python3 is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let good = start("raw_echo.py", &[]);
    let (json, html, pcap) = (
        dir.path().join("r.json"),
        dir.path().join("r.html"),
        dir.path().join("r.pcapng"),
    );
    let st = framescope()
        .args([
            "probe",
            &format!("ws://127.0.0.1:{}/", good.1),
            "--cases",
            "2.*",
            "--quiet",
        ])
        .arg("--report")
        .arg(&json)
        .arg("--html")
        .arg(&html)
        .arg("--record")
        .arg(&pcap)
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(0));
    let rows: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(rows.len(), 11);
    let keys: Vec<&str> = rows[0].as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["id", "category", "description", "verdict", "close_code", "detail"]
    );
    assert_eq!(rows[4]["id"], "2.5");
    assert_eq!(rows[4]["verdict"], "pass");
    assert_eq!(rows[4]["close_code"], 1002);
    assert!(
        std::fs::read_to_string(&html)
            .unwrap()
            .contains("<td class=\"pass\">pass</td>")
    );
    // Every case is one connection of the recording, with its frames, as the window reads it.
    let (sink, _) = common::analyze_file(&pcap);
    assert_eq!(sink.connections.len(), 11);
    let pings = sink
        .messages
        .iter()
        .filter(|m| m.opcode == framescope::analysis::ws::frame::OpCode::Ping)
        .count();
    assert!(pings >= 19, "pings recorded: {pings}");
    // A faulty server: exit 1.
    let bad = start("raw_echo.py", &["--fault", "wrong-pong"]);
    let st = framescope()
        .args([
            "probe",
            &format!("ws://127.0.0.1:{}/", bad.1),
            "--cases",
            "2.2",
            "--quiet",
        ])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(1));
    // Usage errors: exit 2.
    let st = framescope()
        .args(["probe", &format!("ws://127.0.0.1:{}/", good.1), "--cases", "2;x"])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let st = framescope()
        .args(["probe", &format!("ws://127.0.0.1:{closed}/")])
        .status()
        .unwrap();
    assert_eq!(st.code(), Some(2));
}

#[test]
fn serve_mode_tests_a_tungstenite_client() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("clients.json");
    let mut server = framescope()
        .args([
            "probe",
            "--serve",
            &format!("127.0.0.1:{port}"),
            "--clients",
            "5",
            "--total-timeout",
            "60",
            "--quiet",
        ])
        .arg("--report")
        .arg(&json)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        use futures_util::{SinkExt, StreamExt};
        for _ in 0..5 {
            // Wait for the listener, then behave as a normal client: read until the end.
            let mut ws = None;
            for _ in 0..50 {
                if let Ok((w, _)) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/")).await {
                    ws = Some(w);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let mut ws = ws.expect("the probe listens");
            let _ = ws.send(tungstenite::Message::text("hello")).await;
            while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {}
        }
    });
    let st = server.wait().unwrap();
    let rows: Vec<serde_json::Value> = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let verdicts: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r["id"].as_str().unwrap(), r["verdict"].as_str().unwrap()))
        .collect();
    assert_eq!(verdicts.len(), 5);
    assert_eq!(verdicts[0], ("c.1", "pass"), "{rows:#?}");
    // tokio-tungstenite reports each broken frame as an error and this client then drops the
    // connection without a close frame: the connection is failed, but not with a close code.
    for row in rows.iter().skip(1) {
        assert_eq!(row["verdict"], "non-strict", "{rows:#?}");
        assert_eq!(row["detail"], "the client dropped TCP without a close frame");
    }
    assert_eq!(st.code(), Some(0));
}

/// kosoku's verdict folded as framescope folds Autobahn's two columns (src/probe/mod.rs).
fn kosoku_fails(id: &str, r: &serde_json::Value) -> bool {
    let b = r["behavior"].as_str().unwrap_or("");
    let c = r["behaviorClose"].as_str().unwrap_or("");
    if b == "UNIMPLEMENTED" || b == "INFORMATIONAL" {
        return false;
    }
    b == "FAILED" || c == "FAILED" || (id.starts_with("7.") && c == "UNCLEAN")
}

/// kosoku (Autobahn's case files run natively) and framescope agree case by case on the
/// correct raw server and on one faulty one. The full comparison (every category, every
/// fault, websockets) is scripts/probe-vs-kosoku.py; its figures are in the README.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kosoku_agrees_case_by_case() {
    if Command::new("kosoku")
        .arg("-h")
        .stdout(Stdio::null())
        .status()
        .map(|s| !s.success())
        .unwrap_or(true)
    {
        common::skip_or_fail_in_ci("kosoku is not installed (pip install kosoku)");
        return;
    }
    for (fault, cases) in [
        (None, "1.*,2.*,3.*,4.*,5.*,6.4.*,7.*"),
        (Some("accept-rsv"), "3.*,6.4.*"),
    ] {
        let server = match fault {
            Some(f) => start("raw_echo.py", &["--fault", f]),
            None => start("raw_echo.py", &[]),
        };
        let dir = tempfile::tempdir().unwrap();
        let mut k = Command::new("kosoku");
        k.arg(format!("127.0.0.1:{}", server.1))
            .arg("-p")
            .arg("4")
            .arg("-o")
            .arg(dir.path());
        for c in cases.split(',') {
            k.arg("-i").arg(c);
        }
        let status = tokio::task::spawn_blocking(move || k.stdout(Stdio::null()).stderr(Stdio::null()).status())
            .await
            .unwrap()
            .unwrap();
        assert!(status.code().is_some());
        let index: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join("index.json")).unwrap()).unwrap();
        let theirs = index
            .as_object()
            .unwrap()
            .values()
            .next()
            .unwrap()
            .as_object()
            .unwrap()
            .clone();
        let mine = probe(server.1, cases).await;
        let mut compared = 0;
        for r in &mine {
            let Some(k) = theirs.get(&r.id) else { continue };
            compared += 1;
            assert_eq!(
                r.verdict == Verdict::Fail,
                kosoku_fails(&r.id, k),
                "{:?} case {}: framescope {:?} ({}), kosoku {k}",
                fault,
                r.id,
                r.verdict,
                r.detail
            );
        }
        assert_eq!(
            compared,
            theirs.len(),
            "every case kosoku ran was run by framescope too"
        );
        assert!(compared > 10);
    }
}
