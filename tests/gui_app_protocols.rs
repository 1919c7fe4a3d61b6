//! Application protocols in the window (issue 16), driven with egui_kittest on the real
//! library captures of `captures/app-*.pcap`: the summary column (the same summaries as
//! `analyze --jsonl`, sorted or not, found by the text filter), the detail pane's protocol
//! tab, "Decode as…" per server and path, the application RTT plot and the composer's form.

mod common;

use egui_kittest::kittest::Queryable;
use framescope::gui::FramescopeApp;
use framescope::gui::app::{DetailTab, LowerTab, PlotTab};
use framescope::gui::commands::Command;
use framescope::store::sort::SortColumn;
use serde_json::Value;

use common::gui::{loaded, sample};

/// `analyze --jsonl`'s message records of a capture.
fn jsonl_messages(capture: &str) -> Vec<Value> {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_framescope"))
        .arg("analyze")
        .arg(sample(capture))
        .arg("--jsonl")
        .output()
        .expect("run framescope");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).expect("json"))
        .filter(|r| r["type"] == "message")
        .collect()
}

/// Every stored message's summary as the window decodes it.
fn window_summaries(app: &FramescopeApp) -> Vec<Option<String>> {
    let mut apps = app.view.apps.borrow_mut();
    (0..app.store.messages.len() as u32)
        .map(|i| apps.summary(&app.store, i).map(str::to_owned))
        .collect()
}

#[test]
fn the_summary_column_agrees_with_analyze_and_survives_sorting() {
    for capture in [
        "app-mqtt.pcap",
        "app-socketio.pcap",
        "app-stomp.pcap",
        "app-graphql-ws.pcap",
    ] {
        let mut harness = loaded(&sample(capture));
        harness.run_steps(2);
        // Drawing the table decoded the rows shown; their summaries are in the table.
        let first = harness.state().view.shown().first().copied().expect("rows");
        let drawn = harness
            .state()
            .view
            .apps
            .borrow_mut()
            .summary(&harness.state().store, first)
            .map(str::to_owned);
        if let Some(s) = drawn {
            assert!(harness.query_all_by_label(&s).next().is_some(), "{capture}: {s}");
        }
        let expected: Vec<Option<String>> = jsonl_messages(capture)
            .iter()
            .map(|r| r["app"]["summary"].as_str().map(str::to_owned))
            .collect();
        assert!(expected.iter().filter(|s| s.is_some()).count() >= 4, "{capture}");
        // Sorted by size first: each connection still decodes in its own order.
        harness.state_mut().push(Command::SortBy(SortColumn::DecodedBytes));
        harness.run_steps(3);
        assert_eq!(window_summaries(harness.state()), expected, "{capture}");
    }
}

#[test]
fn the_text_filter_finds_mqtt_packets_by_their_summary() {
    let mut harness = loaded(&sample("app-mqtt.pcap"));
    // "SUBACK" is nowhere in the binary payloads, only in what the summary column shows.
    harness.state_mut().filter.text = "SUBACK".into();
    harness.run_steps(3);
    let app = harness.state();
    let shown = app.view.shown().to_vec();
    assert!(!shown.is_empty());
    let mut apps = app.view.apps.borrow_mut();
    for m in shown {
        let s = apps.summary(&app.store, m).expect("decoded").to_owned();
        assert!(s.starts_with("SUBACK"), "{s}");
    }
    let all = (0..app.store.messages.len() as u32)
        .filter(|&i| apps.summary(&app.store, i).is_some_and(|s| s.contains("SUBACK")))
        .count();
    assert_eq!(app.view.shown().len(), all);
}

#[test]
fn the_protocol_tab_shows_the_decoded_tree_of_the_selected_message() {
    let mut harness = loaded(&sample("app-mqtt.pcap"));
    let target = {
        let app = harness.state();
        let mut apps = app.view.apps.borrow_mut();
        (0..app.store.messages.len() as u32)
            .find(|&i| {
                apps.get(&app.store, i)
                    .is_some_and(|d| d.field("mqtt.topic") == Some(&Value::from("sensors/t1")))
            })
            .expect("a PUBLISH to sensors/t1")
    };
    harness.state_mut().push(Command::RevealMessage(target));
    harness.state_mut().panes.detail_tab = DetailTab::Protocol;
    harness.run_steps(4);
    for label in ["topic: \"sensors/t1\"", "qos: 1", "mqtt"] {
        assert!(harness.query_all_by_label(label).next().is_some(), "{label}");
    }
}

#[test]
fn decode_as_is_remembered_per_server_and_path_and_applies_to_table_and_filter() {
    let mut harness = loaded(&sample("app-mqtt.pcap"));
    harness.state_mut().display_filter = "mqtt.topic == \"sensors/t1\"".into();
    harness.run_steps(4);
    let matched = harness.state().view.shown().len();
    assert!(matched >= 2);
    let conn = harness.state().store.messages[harness.state().view.shown()[0] as usize].conn;
    // Decode as none: the summaries and the filter's app fields are gone for that connection.
    harness.state_mut().push(Command::DecodeAs(conn, Some("none".into())));
    harness.run_steps(4);
    let app = harness.state();
    let rule = app.settings.decode_rules.first().expect("a rule").clone();
    let info = &app.store.connection(conn).expect("conn").info;
    assert_eq!(rule.server, info.server.to_string());
    assert_eq!(Some(rule.path.as_str()), info.handshake.as_ref().and_then(|h| h.path()));
    assert_eq!(rule.protocol, "none");
    let of_conn: Vec<u32> = (0..app.store.messages.len() as u32)
        .filter(|&i| app.store.messages[i as usize].conn == conn)
        .collect();
    assert!(
        of_conn
            .iter()
            .all(|&i| app.view.apps.borrow_mut().summary(&app.store, i).is_none())
    );
    assert!(
        app.view
            .shown()
            .iter()
            .all(|&i| app.store.messages[i as usize].conn != conn)
    );
    // Kept in the settings (RON), so the next window decodes that server and path the same.
    let ron = ron::to_string(&app.settings).expect("ron");
    let back: framescope::gui::settings::Settings = ron::from_str(&ron).expect("parse");
    assert_eq!(back.decode_rules, app.settings.decode_rules);
    // Automatic again: everything comes back.
    harness.state_mut().push(Command::DecodeAs(conn, None));
    harness.run_steps(4);
    assert!(harness.state().settings.decode_rules.is_empty());
    assert_eq!(harness.state().view.shown().len(), matched);
}

#[test]
fn decode_as_from_the_connections_context_menu() {
    let mut harness = loaded(&sample("app-stomp.pcap"));
    let server = harness.state().store.connections[0].info.server.to_string();
    harness
        .query_all_by_label(&server)
        .next()
        .expect("the server's cell")
        .click_secondary();
    harness.run_steps(2);
    harness.get_by_label("Decode as…").click();
    harness.run_steps(2);
    harness.get_by_label("None (plain messages)").click();
    harness.run_steps(3);
    assert_eq!(harness.state().settings.decode_rules.len(), 1);
    assert_eq!(harness.state().settings.decode_rules[0].protocol, "none");
}

#[test]
fn the_application_rtt_plot_has_analyzes_round_trips_with_percentiles() {
    let mut harness = loaded(&sample("app-mqtt.pcap"));
    harness.state_mut().panes.lower.tab = LowerTab::Plots;
    harness.state_mut().panes.lower.plot_tab = PlotTab::AppRtt;
    harness.run_steps(4);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_framescope"))
        .arg("analyze")
        .arg(sample("app-mqtt.pcap"))
        .arg("--jsonl")
        .output()
        .expect("run");
    let cli: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|r| r["type"] == "app_rtt")
        .collect();
    let app = harness.state();
    let origin = app.store.capture_start().expect("origin");
    let stats = framescope::gui::panes::app_rtt::app_rtt_stats(app, origin);
    let total: usize = stats.values().map(|g| g.points.len()).sum();
    assert_eq!(total, cli.len());
    let t1 = stats.get("mqtt sensors/t1").expect("sensors/t1 round trips");
    let cli_t1: Vec<f64> = cli
        .iter()
        .filter(|r| r["key"] == "sensors/t1")
        .filter_map(|r| r["rtt_ms"].as_f64())
        .collect();
    assert_eq!(t1.points.len(), cli_t1.len());
    let p50 = t1.p50.expect("p50");
    assert!(cli_t1.iter().any(|v| (v - p50).abs() <= 0.0006), "{p50} in {cli_t1:?}");
    assert!(harness.query_all_by_label("mqtt sensors/t1").next().is_some());
    assert!(
        harness
            .state()
            .panes
            .lower
            .plots
            .transform(framescope::gui::panes::plots::PlotLane::AppRtt)
            .is_some()
    );
}

#[test]
fn the_composers_form_puts_an_mqtt_publish_in_the_composer() {
    let mut harness = common::gui::empty_harness();
    harness.state_mut().push(Command::ToggleConnectWindow);
    harness.run_steps(3);
    harness
        .get_by_label("Application message (Socket.IO, MQTT, STOMP, GraphQL)")
        .click();
    harness.run_steps(3);
    {
        let tab = harness.state_mut().clients.current_mut();
        tab.app_form.kind = framescope::gui::app_form::AppFormKind::MqttPublish;
        tab.app_form.topic = "a/b".into();
        tab.app_form.payload = "hi".into();
        tab.app_form.qos = 1;
        tab.app_form.id = "5".into();
    }
    harness.run_steps(2);
    harness.get_by_label("Put in composer").click();
    harness.run_steps(2);
    let tab = harness.state_mut().clients.current_mut();
    assert_eq!(tab.kind, framescope::live::compose::ComposeKind::Binary);
    assert_eq!(tab.text, "32 09 00 03 61 2f 62 00 05 68 69");
    assert_eq!(
        tab.compose(),
        Ok(framescope::live::client::ClientCommand::Binary(vec![
            0x32, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x05, b'h', b'i'
        ]))
    );
}
