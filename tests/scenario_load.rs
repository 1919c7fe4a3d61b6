//! A scenario's `Load` step against the Python `websockets` echo server on 127.0.0.1
//! (tests/servers/websockets_echo.py): loose thresholds pass with the load report as the
//! step's detail; an impossible one fails naming the percentile it missed; a server that is
//! gone fails on errors; and examples/scenarios/echo-load.ron is a valid scenario.

mod common;
mod scenario_support;

use framescope::scenario::report::Status;
use framescope::scenario::runner::{RunOptions, run};

fn scenario(load: &str) -> String {
    format!(
        r#"Scenario(
    name: "load",
    clients: {{ "c": () }},
    steps: [
        Connect(client: "c"),
        Send(client: "c", text: "hi"),
        Expect(client: "c", text: "hi"),
        {load},
    ],
)"#
    )
}

/// Runs the scenario text against `url`; the load step's (status, detail).
fn load_step(text: &str, url: &str, tag: &str) -> (Status, String, bool) {
    let dir = std::env::temp_dir().join(format!("framescope-scenario-load-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("load.ron");
    std::fs::write(&path, text).unwrap();
    let s = framescope::scenario::load::load(&path, &[]).expect("the scenario is valid");
    let report = run(
        &s,
        RunOptions {
            url: Some(url.to_owned()),
            file: path,
            ..Default::default()
        },
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(dir);
    let step = report.steps.last().expect("the load step");
    (step.status, step.detail.clone().unwrap_or_default(), report.passed)
}

#[test]
fn a_load_step_passes_loose_thresholds_and_fails_a_missed_one() {
    if !scenario_support::have_python_websockets() {
        return;
    }
    let server = scenario_support::ListeningScript::start("websockets_echo.py", &[]);
    let url = server.url();
    let loose = scenario(
        "Load(connections: 4, duration_ms: 1500, rate: 20, size: 32, \
         thresholds: [(stat: P95, below_ms: 1000), (measure: Connect, stat: Max, below_ms: 2000)], \
         min_messages_per_second: 20)",
    );
    let (status, detail, passed) = load_step(&loose, &url, "pass");
    assert_eq!(status, Status::Pass, "{detail}");
    assert!(passed);
    // The detail is the load report: 4 connections, 4 × 20 msg/s for 1.5 s ≈ 120 echoes.
    assert!(detail.contains("4 connections opened"), "{detail}");
    let received: u64 = detail
        .split(" received")
        .next()
        .and_then(|s| s.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .expect("a received count");
    assert!((80..=160).contains(&received), "{received} echoes: {detail}");
    assert!(detail.contains("no errors"), "{detail}");

    // No loopback echo takes under a microsecond at p50.
    let strict =
        scenario("Load(connections: 2, duration_ms: 1000, rate: 20, thresholds: [(stat: P50, below_ms: 0.001)])");
    let (status, detail, passed) = load_step(&strict, &url, "fail");
    assert_eq!(status, Status::Fail);
    assert!(!passed);
    assert!(
        detail.starts_with("p50 of round trip = ") && detail.contains("not below 0.001 ms"),
        "{detail}"
    );
}

#[test]
fn a_load_step_against_no_server_fails_on_its_errors() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    let text = r#"Scenario(name: "gone", clients: {}, steps: [
        Load(connections: 3, duration_ms: 300, rate: 0),
    ])"#;
    let (status, detail, _) = load_step(text, &format!("ws://127.0.0.1:{port}/"), "gone");
    assert_eq!(status, Status::Fail);
    assert!(
        detail.contains("errors, more than the 0 allowed") && detail.contains("refused"),
        "{detail}"
    );
}

#[test]
fn the_load_example_is_a_valid_scenario() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/scenarios/echo-load.ron");
    let s = framescope::scenario::load::load(&path, &[]).expect("echo-load.ron loads");
    assert!(
        s.steps
            .iter()
            .any(|st| matches!(st, framescope::scenario::model::Step::Load(l) if l.thresholds.len() == 3))
    );
}
