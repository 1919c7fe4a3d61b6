//! Stopping runs early from another thread (`load::Cancel`): a `framescope load` run and
//! scenario runs (a long `Sleep`, a long `Repeat`) against a tokio-tungstenite echo server on
//! 127.0.0.1 end within seconds and still report. Apart from `load_echo.rs`, whose timing
//! assertions should not share the process with these runs.

mod common;

use std::time::Duration;

use common::tokio_echo_server as server;
use framescope::live::target::parse_target;
use framescope::load::{LoadOptions, Mode};

fn opts(port: u16) -> LoadOptions {
    LoadOptions {
        target: parse_target(&format!("ws://127.0.0.1:{port}/")).unwrap(),
        connections: 4,
        ramp_up: Duration::from_millis(200),
        duration: Duration::from_secs(60),
        rate: 20.0,
        size: 100,
        churn: 0.0,
        mode: Mode::Echo,
        connect_timeout: Duration::from_secs(5),
        live: false,
        tls: None,
        threads: 0,
    }
}

#[test]
fn a_load_run_stops_early_when_cancelled_and_still_reports() {
    let port = server(Duration::ZERO, false);
    let o = opts(port);
    let cancel = framescope::load::Cancel::new();
    let stopper = cancel.clone();
    let started = std::time::Instant::now();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1200));
        stopper.cancel();
    });
    let r = framescope::load::run_until(o, &cancel).unwrap();
    let took = started.elapsed();
    assert!(r.stopped_early);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert!(r.seconds < 5.0, "{}", r.seconds);
    // About a second at 4 × 20 msg/s was measured before the stop.
    assert!((50..=130).contains(&r.messages_sent), "sent {}", r.messages_sent);
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert!(r.text().contains("stopped before its end"));
}

#[test]
fn a_scenario_run_stops_early_when_cancelled() {
    use framescope::scenario::report::Status;
    use framescope::scenario::runner::STOPPED;
    let port = server(Duration::ZERO, false);
    let scenario = framescope::scenario::load::parse(
        r#"Scenario(
    name: "long",
    clients: { "c": () },
    steps: [
        Connect(client: "c"),
        Send(client: "c", text: "hi"),
        Expect(client: "c", text: "hi"),
        Sleep(ms: 60000),
        Send(client: "c", text: "never"),
    ],
)"#,
    )
    .unwrap();
    let report = stopped_after(&scenario, port, Duration::from_millis(800));
    assert!(report.stopped_early && !report.passed);
    let statuses: Vec<Status> = report.steps.iter().map(|s| s.status).collect();
    assert_eq!(
        statuses,
        [Status::Pass, Status::Pass, Status::Pass, Status::Fail, Status::Skipped]
    );
    assert_eq!(report.steps[3].detail.as_deref(), Some(STOPPED));
    assert!(framescope::scenario::report::text(&report).contains("STOPPED"));
}

#[test]
fn a_cancelled_repeat_ends_at_the_iteration_that_was_running() {
    use framescope::scenario::report::Status;
    use framescope::scenario::runner::STOPPED;
    let port = server(Duration::ZERO, false);
    let scenario = framescope::scenario::load::parse(
        r#"Scenario(
    name: "many",
    clients: { "c": () },
    steps: [
        Connect(client: "c"),
        Repeat(times: 1000000, steps: [
            Send(client: "c", text: "n${i}"),
            Expect(client: "c", text: "n${i}"),
            Sleep(ms: 20),
        ]),
        Send(client: "c", text: "never"),
    ],
)"#,
    )
    .unwrap();
    let report = stopped_after(&scenario, port, Duration::from_millis(700));
    let repeat = &report.steps[1];
    assert_eq!(repeat.status, Status::Fail);
    // Some iterations passed before the stop; the last one listed is the one it cut short:
    // failed, with its running step stopped or (stopped between two steps) the rest skipped.
    let last = repeat.steps.last().expect("iterations");
    assert!(
        repeat.steps.len() >= 2 && repeat.steps.len() < 1000,
        "{}",
        repeat.steps.len()
    );
    assert!(repeat.steps.iter().rev().skip(1).all(|it| it.status == Status::Pass));
    assert_eq!(last.status, Status::Fail);
    assert!(
        last.steps
            .iter()
            .any(|s| s.detail.as_deref() == Some(STOPPED) || s.status == Status::Skipped),
        "{last:#?}"
    );
    assert_eq!(report.steps[2].status, Status::Skipped);
    assert!(report.stopped_early && !report.passed);
}

/// Runs `scenario` against the echo server on `port`, stopping it after `after`; the run
/// must end within 5 s of its start.
fn stopped_after(
    scenario: &framescope::scenario::model::Scenario,
    port: u16,
    after: Duration,
) -> framescope::scenario::report::RunReport {
    use framescope::scenario::runner::{RunOptions, run_until};
    let cancel = framescope::load::Cancel::new();
    let stopper = cancel.clone();
    std::thread::spawn(move || {
        std::thread::sleep(after);
        stopper.cancel();
    });
    let started = std::time::Instant::now();
    let report = run_until(
        scenario,
        RunOptions {
            url: Some(format!("ws://127.0.0.1:{port}/")),
            ..Default::default()
        },
        &cancel,
    )
    .unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    report
}
