//! The message table, the display filter bar, exports and follow-stream, driven like a user
//! would with egui_kittest on real captures.

mod common;

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use framescope::analysis::ws::frame::OpCode;
use framescope::gui::commands::{Command, ExportFormat};
use framescope::store::sort::SortColumn;

use common::gui::{loaded, sample};

/// A fact of every row the table shows, in its order.
fn shown_field<T>(app: &framescope::gui::FramescopeApp, field: impl Fn(&framescope::store::MessageRow) -> T) -> Vec<T> {
    app.view
        .shown()
        .iter()
        .map(|&i| field(&app.store.messages[i as usize]))
        .collect()
}

#[test]
fn clicking_a_header_sorts_the_table_and_a_second_click_reverses_it() {
    let mut harness = loaded(&sample("synthetic-mixed-json.pcap"));
    let total = harness.state().store.messages.len();
    assert!(total > 200);
    harness.get_by_label("decoded").click();
    harness.run_steps(3);
    let app = harness.state();
    let lens = shown_field(app, |m| m.len);
    assert_eq!(lens.len(), total);
    assert!(lens.windows(2).all(|w| w[0] <= w[1]), "ascending by size");
    // Ties keep arrival order.
    let shown = app.view.shown().to_vec();
    for w in shown.windows(2) {
        let (a, b) = (&app.store.messages[w[0] as usize], &app.store.messages[w[1] as usize]);
        if a.len == b.len {
            assert!(w[0] < w[1]);
        }
    }
    harness.get_by_label("decoded ▲").click();
    harness.run_steps(3);
    let app = harness.state();
    let lens = shown_field(app, |m| m.len);
    assert!(lens.windows(2).all(|w| w[0] >= w[1]), "descending by size");
    harness.get_by_label("decoded ▼");
    // Sorting by connection puts each connection's messages together.
    harness.get_by_label("conn").click();
    harness.run_steps(3);
    let app = harness.state();
    let conns = shown_field(app, |m| m.conn);
    assert!(conns.windows(2).all(|w| w[0] <= w[1]));
    // Home and End go to the first and last row of the sorted table.
    harness.key_press(egui::Key::End);
    harness.run_steps(2);
    let last = *harness.state().view.shown().last().expect("rows");
    assert_eq!(harness.state().selection.message, Some(last));
    harness.key_press(egui::Key::Home);
    harness.run_steps(2);
    let first = harness.state().view.shown()[0];
    assert_eq!(harness.state().selection.message, Some(first));
}

#[test]
fn the_display_filter_applies_on_enter_and_reports_mistakes_at_their_column() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    let field = harness.get_by_role_and_label(Role::TextInput, "Display filter");
    field.focus();
    field.type_text("len > \"x\"");
    harness.run_steps(3);
    // The mistake is shown while typing, at the column of the value (7, counting from 1).
    harness.get_by_label_contains("column 7:");
    assert_eq!(harness.state().view.rows.len(), 10, "nothing applied yet");
    let field = harness.get_by_role_and_label(Role::TextInput, "Display filter");
    field.focus();
    for _ in 0.."len > \"x\"".len() {
        harness.key_press(egui::Key::Backspace);
    }
    harness.run_steps(1);
    let field = harness.get_by_role_and_label(Role::TextInput, "Display filter");
    field.type_text("opcode == close || close.code == 4001");
    harness.key_press(egui::Key::Enter);
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.display_filter, "opcode == close || close.code == 4001");
    assert!(!app.view.rows.is_empty());
    assert!(
        app.view
            .rows
            .iter()
            .all(|&i| app.store.messages[i as usize].opcode == OpCode::Close)
    );
    assert_eq!(app.settings.recent_filters[0], "opcode == close || close.code == 4001");
    harness.get_by_label(&format!("{} of 10 messages", app.view.rows.len()));
}

#[test]
fn the_display_filter_completes_field_names_as_you_type() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    let field = harness.get_by_role_and_label(Role::TextInput, "Display filter");
    field.focus();
    field.type_text("close.c");
    harness.run_steps(3);
    harness.get_by_label("close.code").click();
    harness.run_steps(2);
    assert_eq!(harness.state().panes.top_bar.display_draft, "close.code");
}

#[test]
fn saved_filter_buttons_apply_and_clear_a_filter() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness.get_by_label("Closes").click();
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.display_filter, "opcode == close");
    assert_eq!(app.view.rows.len(), 2);
    harness.get_by_label("Closes").click();
    harness.run_steps(3);
    assert_eq!(harness.state().view.rows.len(), 10);
}

#[test]
fn the_row_menu_filters_on_a_value_copies_and_marks() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    let row = harness.get_all_by_label("hello, framescope").next().expect("row");
    row.click_secondary();
    harness.run_steps(2);
    harness.get_by_label("Filter on").hover();
    harness.run_steps(2);
    harness.get_by_label("opcode text").click();
    harness.run_steps(3);
    let app = harness.state();
    assert_eq!(app.display_filter, "opcode == text");
    assert!(
        app.view
            .rows
            .iter()
            .all(|&i| app.store.messages[i as usize].opcode == OpCode::Text)
    );
    let texts = app.view.rows.len();
    assert!(texts >= 2);
    // Mark the row, then jump to it from elsewhere.
    let row = harness.get_all_by_label("hello, framescope").next().expect("row");
    row.click_secondary();
    harness.run_steps(2);
    harness.get_by_label("Mark").click();
    harness.run_steps(2);
    let marked = *harness.state().marks.iter().next().expect("a mark");
    assert_eq!(
        harness
            .state()
            .store
            .payload(&harness.state().store.messages[marked as usize]),
        b"hello, framescope"
    );
    harness.key_press(egui::Key::End);
    harness.run_steps(2);
    harness.state_mut().push(Command::JumpToMark(true));
    harness.run_steps(2);
    assert_eq!(harness.state().selection.message, Some(marked));
    // Copy as a websocat command that reaches the captured server.
    // (Unselect first: the detail pane shows the same text as the row.)
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    let row = harness.get_all_by_label("hello, framescope").next().expect("row");
    row.click_secondary();
    harness.run_steps(3);
    harness.get_by_label("Copy as").hover();
    harness.run_steps(2);
    harness.get_by_label("websocat command").click();
    // The copy is in the output of the frame that handled the click.
    harness.step();
    let copied = harness.output().platform_output.commands.iter().find_map(|c| match c {
        egui::OutputCommand::CopyText(t) => Some(t.clone()),
        _ => None,
    });
    let server = harness.state().store.connections[0].info.server;
    let copied = copied.expect("copied text");
    assert!(
        copied.contains("'hello, framescope'") && copied.contains("websocat -1"),
        "{copied}"
    );
    assert!(copied.contains(&server.port().to_string()), "{copied}");
}

#[test]
fn sorting_by_rtt_puts_answered_pings_first_and_follow_stream_lists_the_connection() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness.state_mut().settings.columns.rtt = true;
    harness.run_steps(2);
    harness.get_by_label("RTT").click();
    harness.run_steps(3);
    let app = harness.state();
    let first = app.view.shown()[0];
    assert!(app.view.annotations.rtt_ms(&app.store, first).is_some());
    assert!(app.store.messages[first as usize].opcode.is_control());
    harness.state_mut().push(Command::FollowStream(0));
    harness.run_steps(3);
    harness.get_by_label_contains("Follow WebSocket stream — connection 0");
    harness.get_by_label_contains("10 messages (as filtered)");
    harness
        .get_all_by_label_contains("c2s  text")
        .next()
        .expect("a client line");
}

#[test]
fn exports_write_the_shown_messages_in_table_order() {
    let mut harness = loaded(&sample("synthetic-mixed-json.pcap"));
    harness.state_mut().display_filter = "conn < 5".into();
    harness.state_mut().push(Command::SortBy(SortColumn::DecodedBytes));
    harness.run_steps(3);
    let shown = harness.state().view.shown().to_vec();
    assert!(!shown.is_empty() && shown.len() < harness.state().store.messages.len());
    let dir = tempfile::tempdir().expect("tempdir");
    let jsonl = dir.path().join("shown.jsonl");
    harness.state_mut().export_to(ExportFormat::JsonLines, &jsonl);
    let text = std::fs::read_to_string(&jsonl).expect("written");
    let lens: Vec<u64> = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("json"))
        .filter(|v| v["type"] == "message")
        .map(|v| v["len"].as_u64().expect("len"))
        .collect();
    let app = harness.state();
    let want = shown_field(app, |m| m.len);
    assert_eq!(lens, want);
    let csv = dir.path().join("shown.csv");
    harness.state_mut().export_to(ExportFormat::Csv, &csv);
    assert_eq!(
        std::fs::read_to_string(&csv).expect("csv").lines().count(),
        shown.len() + 1
    );
    let har = dir.path().join("shown.har");
    harness.state_mut().export_to(ExportFormat::Har, &har);
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&har).expect("har")).expect("json");
    let messages: usize = v["log"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["_webSocketMessages"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(messages, shown.len());
    assert!(harness.state().status.as_ref().is_some_and(|s| !s.is_error));
}

#[test]
fn the_connections_strip_sorts_and_lists_flows_that_are_not_websockets() {
    let mut harness = loaded(&sample("python-many-connections-scripts.pcap"));
    harness.get_by_label("s2c msgs / wire / decoded").click();
    harness.run_steps(3);
    let counts = |h: &mut egui_kittest::Harness<'_, framescope::gui::FramescopeApp>| -> Vec<u64> {
        let app = h.state_mut();
        let order = app.panes.connections_view.order(&app.model.store).to_vec();
        order
            .iter()
            .map(|&i| app.store.connections[i].counters[1].messages)
            .collect()
    };
    let ascending = counts(&mut harness);
    assert_eq!(ascending.len(), 12);
    assert!(ascending.windows(2).all(|w| w[0] <= w[1]), "{ascending:?}");
    assert!(ascending.first() < ascending.last(), "the capture has different counts");
    harness.get_by_label("s2c msgs / wire / decoded ▲").click();
    harness.run_steps(3);
    let descending = counts(&mut harness);
    assert!(descending.windows(2).all(|w| w[0] >= w[1]), "{descending:?}");

    // A TLS capture without its key: no WebSocket, but the flow is listed with why.
    let mut harness = loaded(&sample("tls13-aes128gcm.pcap"));
    assert!(harness.state().store.connections.is_empty());
    let flows = harness.state().store.flows.len();
    assert!(flows >= 1);
    harness.get_by_label(&format!("Other TCP flows ({flows})")).click();
    harness.run_steps(3);
    harness.get_by_label("why it is not a WebSocket connection");
    let reason = harness.state().store.flows[0].reason.clone();
    assert!(reason.to_lowercase().contains("key"), "{reason}");
    harness.get_all_by_label(&reason).next().expect("the reason is shown");
}

#[test]
fn a_har_from_mitmproxy_opens_in_the_window() {
    let harness = loaded(&sample("mitmproxy-websockets.har"));
    let app = harness.state();
    assert!(!app.store.connections.is_empty());
    assert!(!app.store.messages.is_empty());
    assert!(app.store.frames.is_empty(), "a HAR has no packets, so no frames");
    harness.get_by_label(&format!(
        "{} of {} messages",
        app.store.messages.len(),
        app.store.messages.len()
    ));
}

#[test]
fn a_dialog_that_answers_at_once_was_never_shown() {
    use framescope::gui::dialogs::was_shown;
    assert!(!was_shown(std::time::Duration::from_millis(3)));
    assert!(was_shown(std::time::Duration::from_millis(900)));
}

#[test]
fn application_fields_filter_in_the_window_as_in_analyze() {
    let mut harness = loaded(&sample("app-mqtt.pcap"));
    let total = harness.state().store.messages.len();
    // 9 messages carry a topic; 2 of them carry sensors/t1 (one holds two PUBLISH packets).
    for (expr, want) in [("mqtt.topic", 9), ("mqtt.topic == \"sensors/t1\"", 2)] {
        // The same expression through `analyze --filter` gives the oracle count.
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_framescope"))
            .args([
                "analyze",
                sample("app-mqtt.pcap").to_str().expect("utf-8"),
                "--filter",
                expr,
                "--jsonl",
            ])
            .output()
            .expect("run");
        let cli = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|l| l.contains("\"type\":\"message\""))
            .count();
        assert_eq!(cli, want, "{expr} in analyze");
        harness.state_mut().push(Command::SetDisplayFilter(expr.to_owned()));
        harness.run_steps(3);
        let app = harness.state();
        assert_eq!(app.view.rows.len(), want, "{expr} in the window");
        assert!(app.view.display_error.is_none());
        assert!(want < total);
    }
}

#[test]
fn the_summary_column_appears_only_when_a_connection_carries_a_known_protocol() {
    // Plain JSON chat: no protocol to summarise, so the column would be 180 px of nothing.
    let harness = loaded(&sample("synthetic-mixed-json.pcap"));
    assert!(harness.state().settings.columns.summary, "on by default");
    assert!(harness.query_by_label("summary").is_none());
    assert!(harness.query_by_label("preview").is_some());
    // MQTT: the column is there and shows the packets' summaries.
    let harness = loaded(&sample("app-mqtt.pcap"));
    assert!(harness.query_by_label("summary").is_some());
}

#[test]
fn windows_never_cover_the_menu_bar() {
    let mut harness = loaded(&sample("synthetic-mixed-json.pcap"));
    let menu_bottom = harness.get_by_label("File").rect().max.y;
    for command in [Command::ToggleBuilder, Command::ToggleCaptureWindow] {
        harness.state_mut().push(command);
    }
    harness.run_steps(4);
    for title in ["Frame builder", "Capture"] {
        let top = harness.get_by_label(title).rect().min.y;
        assert!(top > menu_bottom, "{title} at y {top}, the menu ends at {menu_bottom}");
    }
}
