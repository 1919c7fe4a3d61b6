//! Server testing in the window (issue 15): the Scenarios pane runs a scenario against the
//! Python `websockets` chat server (tests/servers/chat_server.py) started here on 127.0.0.1 —
//! steps go green, a deliberately wrong expectation goes red with the message that arrived
//! instead, and clicking a step selects that message in the run's recording; "Replay
//! against…" turns a recorded connection into a scenario that passes the correct server and
//! fails a faulty one; the Probe pane runs the conformance probe against the raw-socket echo
//! server (tests/servers/raw_echo.py), correct and with a wrong pong.

mod common;
mod scenario_support;

use std::path::Path;
use std::time::{Duration, Instant};

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use framescope::analysis::Direction;
use framescope::gui::FramescopeApp;
use framescope::gui::commands::Command;
use framescope::gui::scenario_run::StepState;
use framescope::gui::settings::Settings;
use framescope::gui::testing::TestCommand;
use framescope::probe::Verdict;
use scenario_support::{ChatServer, ListeningScript, have_python_websockets};

fn harness() -> Harness<'static, FramescopeApp> {
    let app = common::gui::new_app(Settings::default());
    Harness::builder()
        .with_size((1400.0, 900.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app)
}

/// Steps the window until `done` holds (at most `secs`).
fn step_until(h: &mut Harness<'static, FramescopeApp>, secs: u64, done: impl Fn(&FramescopeApp) -> bool) {
    let started = Instant::now();
    while !done(h.state()) && started.elapsed() < Duration::from_secs(secs) {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let app = h.state();
    assert!(
        done(app),
        "timed out; status {:?}; scenario error {:?}; rows {:?}; probe error {:?}",
        app.status.as_ref().map(|s| &s.text),
        app.testing.scenarios.error,
        app.testing.scenarios.rows,
        app.testing.probe.error
    );
}

/// A run has ended and its recording is in the tables.
fn scenario_done(app: &FramescopeApp) -> bool {
    app.testing.scenarios.report.is_some() && !app.is_loading() && !app.store.messages.is_empty()
}

const SIGN_IN: &str = r#"Scenario(
    name: "alice signs in",
    clients: { "alice": () },
    steps: [
        Connect(client: "alice"),
        Send(client: "alice", json: {"type": "auth", "token": "alice-token"}),
        Expect(client: "alice", json: {"type": "auth.ok", "user": "A"}, name: "auth.ok for A"),
        Send(client: "alice", json: {"type": "subscribe", "room": "room:lobby"}, name: "alice subscribes to the lobby"),
        Expect(client: "alice", json: {"type": "subscribed", "room": "room:lobby"}, name: "lobby subscription confirmed"),
        Close(client: "alice"),
    ],
)"#;

/// Alice's answer says user "A"; this scenario wants "B".
const WRONG_USER: &str = r#"Scenario(
    name: "alice is taken for bob",
    clients: { "alice": () },
    steps: [
        Connect(client: "alice"),
        Send(client: "alice", json: {"type": "auth", "token": "alice-token"}),
        Expect(client: "alice", json: {"type": "auth.ok", "user": "B"}, name: "auth.ok for B"),
        Close(client: "alice"),
    ],
)"#;

fn write_scenario(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

fn temp_dir(tag: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("framescope-gui-testing-{tag}-{}", std::process::id()))
}

/// Opens the scenario in the pane (through Tools → Scenarios… and the command the dialog
/// gives), types the URL and presses Run.
fn open_and_run(h: &mut Harness<'static, FramescopeApp>, path: &Path, url: &str) {
    tools_item(h, "Scenarios…");
    h.run_steps(2);
    h.state_mut()
        .push(Command::Test(TestCommand::LoadScenario(path.to_owned())));
    h.run_steps(3);
    let field = h.get_by_label("URL");
    field.focus();
    field.type_text(url);
    h.run_steps(2);
    h.get_by_label("Run").click();
    h.run_steps(1);
}

/// Clicks an entry of the Tools menu (opening the menu again if a click only closed it).
fn tools_item(h: &mut Harness<'static, FramescopeApp>, item: &str) {
    for _ in 0..3 {
        h.get_by_label("Tools").click();
        h.run_steps(3);
        if h.query_by_label(item).is_some() {
            h.get_by_label(item).click();
            h.run_steps(2);
            return;
        }
    }
    panic!("the Tools menu shows no {item:?}");
}

fn row(app: &FramescopeApp, title: &str) -> framescope::gui::scenario_run::StepRow {
    app.testing
        .scenarios
        .rows
        .iter()
        .find(|r| r.title == title)
        .cloned()
        .unwrap_or_else(|| panic!("no step {title:?} in {:?}", app.testing.scenarios.rows))
}

/// The selected message's payload, a message the server sent.
fn selected_text(app: &FramescopeApp) -> String {
    selected_from(app, Direction::ServerToClient)
}

/// The selected message's payload, after checking who sent it.
fn selected_from(app: &FramescopeApp, dir: Direction) -> String {
    let m = app.selection.message.expect("a message is selected");
    let row = &app.store.messages[m as usize];
    assert_eq!(row.facts.dir, dir);
    String::from_utf8_lossy(app.store.payload(row)).into_owned()
}

#[test]
fn a_scenario_runs_green_and_its_steps_select_their_messages() {
    if !have_python_websockets() {
        return;
    }
    let server = ChatServer::start(None);
    let dir = temp_dir("green");
    let path = write_scenario(&dir, "sign-in.ron", SIGN_IN);
    let mut h = harness();
    h.state_mut().testing.scenarios.url.clear();
    open_and_run(&mut h, &path, &server.url());
    assert!(
        h.state().testing.scenarios.running(),
        "{:?}",
        h.state().testing.scenarios.error
    );
    // Live: the first steps are reported before the run is over.
    step_until(&mut h, 20, scenario_done);
    let app = h.state();
    let report = app.testing.scenarios.report.as_ref().unwrap();
    assert!(report.passed, "{:?}", app.testing.scenarios.rows);
    assert_eq!((report.counts.passed, report.counts.failed), (6, 0));
    assert!(app.testing.scenarios.rows.iter().all(|r| r.state == StepState::Pass));
    // Its recording is open: one connection, with the server's answers.
    assert_eq!(app.store.connections.len(), 1);
    h.get_by_label_contains("passed, 0 failed");
    h.get_by_label_contains("auth.ok for A").click();
    h.run_steps(3);
    let text = selected_text(h.state());
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&text).unwrap(),
        serde_json::json!({"type": "auth.ok", "user": "A"})
    );
    h.get_by_label_contains("lobby subscription confirmed").click();
    h.run_steps(3);
    assert!(selected_text(h.state()).contains("\"subscribed\""));
    // A step that sent selects what it sent: the client's second message.
    h.get_by_label_contains("alice subscribes to the lobby").click();
    h.run_steps(3);
    let sent = selected_from(h.state(), Direction::ClientToServer);
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&sent).unwrap(),
        serde_json::json!({"type": "subscribe", "room": "room:lobby"})
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_failing_step_is_red_with_what_arrived_instead() {
    if !have_python_websockets() {
        return;
    }
    let server = ChatServer::start(None);
    let dir = temp_dir("red");
    let path = write_scenario(&dir, "wrong-user.ron", WRONG_USER);
    let mut h = harness();
    open_and_run(&mut h, &path, &server.url());
    step_until(&mut h, 20, scenario_done);
    let app = h.state();
    let report = app.testing.scenarios.report.as_ref().unwrap();
    assert!(!report.passed);
    let failed = row(app, "auth.ok for B");
    assert_eq!(failed.state, StepState::Fail);
    let detail = failed.detail.clone().unwrap();
    assert!(detail.contains(r#""user": "A""#), "{detail}");
    assert_eq!(
        row(app, "alice closes with 1000").state,
        StepState::Skipped,
        "{:?}",
        app.testing.scenarios.rows
    );
    // The red step's detail is on screen, and clicking it selects what arrived.
    h.get_by_label(&detail);
    h.get_by_label_contains("auth.ok for B").click();
    h.run_steps(3);
    assert!(selected_text(h.state()).contains(r#""user": "A""#));
    // "Failures only" leaves the red step alone in the list.
    h.get_by_label("Failures only").click();
    h.run_steps(3);
    h.get_by_label_contains("auth.ok for B");
    assert!(h.query_by_label_contains("connect alice").is_none());
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn replay_against_turns_a_recorded_connection_into_a_test() {
    if !have_python_websockets() {
        return;
    }
    let good = ChatServer::start(None);
    let dir = temp_dir("replay");
    let path = write_scenario(&dir, "sign-in.ron", SIGN_IN);
    let mut h = harness();
    open_and_run(&mut h, &path, &good.url());
    step_until(&mut h, 20, scenario_done);
    // Select the recorded connection; Tools → Replay the selected connection against…
    h.state_mut().push(Command::SelectConnection(Some(0)));
    h.run_steps(2);
    // The pane's window sits over the menu bar: hide it (Replay shows it again).
    h.state_mut().testing.scenarios.open = false;
    h.run_steps(2);
    tools_item(&mut h, "Replay the selected connection against…");
    h.run_steps(3);
    assert_eq!(h.state().testing.replay.conn, Some(0));
    h.state_mut().testing.replay.url = good.url();
    h.state_mut().testing.replay.fast = true;
    h.get_by_label("Replay").click();
    h.run_steps(1);
    let name = h.state().testing.scenarios.scenario.as_ref().map(|s| s.name.clone());
    assert!(name.unwrap_or_default().starts_with("replay of connection 0"));
    step_until(&mut h, 20, scenario_done);
    let report = h.state().testing.scenarios.report.clone().unwrap();
    assert!(report.passed, "{:?}", h.state().testing.scenarios.rows);
    // Connect, two sends with their two answers, and the close: as recorded.
    assert_eq!(report.counts.passed, 6);

    // The same connection against a server that drops TCP instead of answering the close:
    // the replay fails at the close, and only there.
    let bad = ChatServer::start(Some("drop-on-close"));
    h.state_mut().push(Command::SelectConnection(Some(0)));
    h.state_mut().push(Command::Test(TestCommand::ReplayAgainst(0)));
    h.run_steps(3);
    h.state_mut().testing.replay.url = bad.url();
    h.get_by_label("Replay").click();
    h.run_steps(1);
    step_until(&mut h, 20, scenario_done);
    let app = h.state();
    let report = app.testing.scenarios.report.as_ref().unwrap();
    assert!(!report.passed);
    let failed: Vec<_> = app
        .testing
        .scenarios
        .rows
        .iter()
        .filter(|r| r.state == StepState::Fail)
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", app.testing.scenarios.rows);
    assert!(failed[0].title.starts_with("client closes with"), "{:?}", failed[0]);
    assert!(
        failed[0]
            .detail
            .as_deref()
            .unwrap_or_default()
            .contains("no close frame"),
        "{:?}",
        failed[0]
    );
    let _ = std::fs::remove_dir_all(dir);
}

fn raw_echo(fault: Option<&str>) -> ListeningScript {
    match fault {
        Some(f) => ListeningScript::start("raw_echo.py", &["--fault", f]),
        None => ListeningScript::start("raw_echo.py", &[]),
    }
}

/// Runs the probe from the pane: Tools → Conformance probe…, URL and cases typed, Run probe.
fn probe_in_window(port: u16, cases: &str) -> Harness<'static, FramescopeApp> {
    let mut h = harness();
    tools_item(&mut h, "Conformance probe…");
    h.run_steps(3);
    h.state_mut().testing.probe.cases = cases.to_owned();
    let field = h.get_by_label("URL");
    field.focus();
    field.type_text(&format!("ws://127.0.0.1:{port}/"));
    h.run_steps(2);
    h.get_by_label("Run probe").click();
    h.run_steps(1);
    assert!(h.state().testing.probe.running(), "{:?}", h.state().testing.probe.error);
    step_until(&mut h, 60, |a| {
        !a.testing.probe.running() && a.testing.probe.recording.is_some() && !a.is_loading()
    });
    h
}

#[test]
fn the_probe_pane_judges_a_correct_and_a_faulty_server() {
    if std::process::Command::new("python3").arg("-V").output().is_err() {
        common::skip_or_fail_in_ci("python3 is not installed");
        return;
    }
    let good = raw_echo(None);
    let mut h = probe_in_window(good.port, "1.1.*,2.*");
    let results = h.state().testing.probe.results.clone();
    assert!(results.len() >= 10, "{} cases", results.len());
    assert!(
        results.iter().all(|r| r.verdict != Verdict::Fail),
        "{:?}",
        results
            .iter()
            .filter(|r| r.verdict == Verdict::Fail)
            .collect::<Vec<_>>()
    );
    // One connection per case, each found by the case id it carries.
    assert_eq!(h.state().store.connections.len(), results.len());
    h.get_by_label_contains("2.3 ").click();
    h.run_steps(3);
    let conn = h.state().selection.conn.expect("the case's connection is selected");
    assert_eq!(h.state().follow, Some(conn));
    let request = h.state().store.connections[conn as usize]
        .info
        .handshake
        .as_ref()
        .and_then(|hs| hs.request.as_ref())
        .and_then(|r| r.header("x-framescope-case").map(str::to_owned));
    assert_eq!(request.as_deref(), Some("2.3"));
    drop(h);

    let bad = raw_echo(Some("wrong-pong"));
    let h = probe_in_window(bad.port, "1.1.*,2.*");
    let results = &h.state().testing.probe.results;
    let failed: Vec<&str> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .map(|r| r.category.as_str())
        .collect();
    assert!(!failed.is_empty());
    assert!(failed.iter().all(|c| c.starts_with("2 ")), "{failed:?}");
    h.get_by_label_contains("2 ping/pong —");
}

/// Alice signs in, then waits a minute: only Stop ends this run in time.
const LONG_WAIT: &str = r#"Scenario(
    name: "alice waits",
    clients: { "alice": () },
    steps: [
        Connect(client: "alice"),
        Send(client: "alice", json: {"type": "auth", "token": "alice-token"}),
        Expect(client: "alice", json: {"type": "auth.ok", "user": "A"}, name: "auth.ok for A"),
        Sleep(ms: 60000),
        Close(client: "alice"),
    ],
)"#;

#[test]
fn stop_ends_a_running_scenario_and_keeps_its_report_and_recording() {
    if !have_python_websockets() {
        return;
    }
    let server = ChatServer::start(None);
    let dir = temp_dir("stop");
    let path = write_scenario(&dir, "long-wait.ron", LONG_WAIT);
    let mut h = harness();
    open_and_run(&mut h, &path, &server.url());
    // Stop once the sign-in has passed and the minute's wait has begun.
    step_until(&mut h, 20, |app| {
        app.testing
            .scenarios
            .rows
            .iter()
            .any(|r| r.title == "auth.ok for A" && r.state == StepState::Pass)
    });
    let asked = Instant::now();
    h.get_by_label("Stop").click();
    step_until(&mut h, 20, scenario_done);
    assert!(
        asked.elapsed() < Duration::from_secs(15),
        "stopped after {:?}",
        asked.elapsed()
    );
    let app = h.state();
    let report = app.testing.scenarios.report.as_ref().unwrap();
    assert!(!report.passed && report.stopped_early);
    assert_eq!(row(app, "auth.ok for A").state, StepState::Pass);
    // The sign-in was recorded and opened: the server's auth.ok is in the table.
    assert_eq!(app.store.connections.len(), 1);
    assert!(
        app.store
            .messages
            .iter()
            .any(|m| String::from_utf8_lossy(app.store.payload(m)).contains("auth.ok"))
    );
    let _ = std::fs::remove_dir_all(dir);
}
