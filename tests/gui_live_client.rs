//! The connect window against a real tokio-tungstenite server on 127.0.0.1: connect by
//! typing the URL, send text, JSON (a bad one refused), binary and a ping, close with a
//! chosen code; the session fills the main tables with exact payloads and close codes, and
//! its recording re-reads to the same messages.

mod common;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use framescope::analysis::Direction;
use framescope::analysis::ws::frame::OpCode;
use framescope::gui::FramescopeApp;
use framescope::gui::panes::client::ComposeKind;
use framescope::gui::settings::Settings;
use framescope::live::client::ClientState;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn harness() -> Harness<'static, FramescopeApp> {
    let app = common::gui::new_app(Settings::default());
    Harness::builder()
        .with_size((1400.0, 900.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app)
}

/// A server for one connection that echoes text and binary with a prefix; returns its port.
fn echo_server() -> u16 {
    common::spawn_server(move |listener| async move {
        let Ok(Ok((tcp, _))) = tokio::time::timeout(Duration::from_secs(20), listener.accept()).await else {
            return;
        };
        let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
        while let Some(Ok(m)) = ws.next().await {
            let reply = match m {
                Message::Text(t) => Message::text(format!("echo: {t}")),
                Message::Binary(b) => Message::binary([&[0xee][..], &b].concat()),
                _ => continue,
            };
            if ws.send(reply).await.is_err() {
                break;
            }
        }
    })
}

/// Steps the window until `done` holds (at most 10 s).
fn step_until(h: &mut Harness<'static, FramescopeApp>, done: impl Fn(&FramescopeApp) -> bool) {
    let started = Instant::now();
    while !done(h.state()) && started.elapsed() < Duration::from_secs(10) {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(
        done(h.state()),
        "timed out; status {:?}; tab error {:?}; prompt {:?}; messages {}",
        h.state().status,
        h.state().clients.current().error,
        h.state().guard.prompt,
        h.state().store.messages.len()
    );
}

fn send(h: &mut Harness<'static, FramescopeApp>, kind: ComposeKind, text: &str) {
    h.state_mut().clients.current_mut().kind = kind;
    h.state_mut().clients.current_mut().text.clear();
    h.run_steps(2);
    let field = h.get_by_role_and_label(Role::MultilineTextInput, "Message");
    field.focus();
    field.type_text(text);
    h.run_steps(2);
    h.get_by_label("Send").click();
    h.run_steps(2);
}

#[test]
fn a_session_from_the_connect_window_fills_the_tables() {
    let port = echo_server();
    let mut h = harness();
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Connect to a WebSocket…").click();
    h.run_steps(2);
    assert!(h.state().clients.open);
    h.state_mut().clients.current_mut().url.clear();
    h.run_steps(1);
    let url = h.get_by_role_and_label(Role::TextInput, "URL");
    url.focus();
    url.type_text(&format!("ws://127.0.0.1:{port}/chat"));
    h.run_steps(2);
    h.get_by_label("Connect").click();
    step_until(&mut h, |app| app.clients.current().state().is_some_and(|s| s.is_open()));
    h.run_steps(2);
    h.get_by_label_contains("Open: 127.0.0.1:");

    send(&mut h, ComposeKind::Text, "hello");
    send(&mut h, ComposeKind::Json, "{\"n\": ");
    // The mistake shows next to Send as typed, and goes when the JSON is fixed.
    h.get_by_label_contains("not JSON");
    h.state_mut().clients.current_mut().text.clear();
    send(&mut h, ComposeKind::Json, "{\"n\": 1}");
    assert!(h.query_by_label_contains("not JSON").is_none());
    send(&mut h, ComposeKind::Binary, "01 02 03");
    send(&mut h, ComposeKind::Ping, "p1");
    step_until(&mut h, |app| app.store.rtts.len() == 1 && app.store.messages.len() >= 8);
    h.get_by_label_contains("Last ping RTT");
    h.get_by_label_contains("Sent 4 messages");
    h.get_by_label_contains("Connected since");

    h.state_mut().clients.current_mut().kind = ComposeKind::Close;
    h.state_mut().clients.current_mut().close_code = 4000;
    h.run_steps(2);
    let reason = h.get_by_role_and_label(Role::TextInput, "Reason");
    reason.focus();
    reason.type_text("done here");
    h.run_steps(1);
    h.get_by_label("Send").click();
    step_until(&mut h, |app| !app.is_loading());
    h.run_steps(2);
    let state = h.state().clients.current().state();
    assert!(
        matches!(&state, Some(ClientState::Closed(why)) if why.contains("4000")),
        "{state:?}"
    );

    let app = h.state();
    assert_eq!(app.store.connections.len(), 1);
    assert_eq!(app.store.connections[0].info.server.port(), port);
    let of = |dir: Direction| -> Vec<(OpCode, Vec<u8>)> {
        app.store
            .messages
            .iter()
            .filter(|m| m.dir == dir)
            .map(|m| (m.opcode, app.store.payload(m).to_vec()))
            .collect()
    };
    let mut close = 4000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"done here");
    assert_eq!(
        of(Direction::ClientToServer),
        vec![
            (OpCode::Text, b"hello".to_vec()),
            (OpCode::Text, b"{\"n\": 1}".to_vec()),
            (OpCode::Binary, vec![1, 2, 3]),
            (OpCode::Ping, b"p1".to_vec()),
            (OpCode::Close, close.clone()),
        ]
    );
    assert_eq!(
        of(Direction::ServerToClient),
        vec![
            (OpCode::Text, b"echo: hello".to_vec()),
            (OpCode::Text, b"echo: {\"n\": 1}".to_vec()),
            (OpCode::Binary, vec![0xee, 1, 2, 3]),
            (OpCode::Pong, b"p1".to_vec()),
            (OpCode::Close, close),
        ]
    );
    assert_eq!(app.store.connections[0].close_codes, [Some(4000), Some(4000)]);
    // The session was recorded; the pcapng re-reads to the same messages.
    h.get_by_label("Save session as .pcapng…");
    let recording = app.clients.current().recording.clone().expect("recorded");
    let (reread, summary) = common::analyze_file(&recording);
    assert_eq!(summary.stopped_early, None);
    assert_eq!(reread.messages.len(), app.store.messages.len());
    assert!(
        reread
            .messages
            .iter()
            .zip(&app.store.messages)
            .all(|(a, b)| a.opcode == b.opcode && a.payload == app.store.payload(b))
    );
    // The sent history keeps what can be sent again (not the bad JSON, not the close).
    let kinds: Vec<ComposeKind> = app.clients.current().history.iter().map(|(k, _)| *k).collect();
    assert_eq!(
        kinds,
        vec![
            ComposeKind::Text,
            ComposeKind::Json,
            ComposeKind::Binary,
            ComposeKind::Ping
        ]
    );
}

#[test]
fn a_refused_connection_says_so_in_the_window() {
    // Bind then drop, so nothing listens on the port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("port")
        .port();
    let mut h = harness();
    h.state_mut().clients.open = true;
    h.state_mut().clients.current_mut().url = format!("ws://127.0.0.1:{port}/");
    h.run_steps(2);
    h.get_by_label("Connect").click();
    step_until(&mut h, |app| {
        app.clients.current().state().is_some_and(|s| s.is_finished()) && !app.is_loading()
    });
    h.run_steps(2);
    h.get_by_label_contains("Failed: connection to 127.0.0.1");
    assert!(
        h.state()
            .status
            .as_ref()
            .is_some_and(|s| s.is_error && s.text.contains("refused"))
    );
    // Nothing was exchanged, so there is no session to save.
    assert!(h.query_by_label("Save session as .pcapng…").is_none());
}

#[test]
fn two_tabs_hold_two_connections_each_with_its_own_transcript() {
    let (port_a, port_b) = (echo_server(), echo_server());
    let mut h = harness();
    h.state_mut().clients.open = true;
    h.state_mut().clients.current_mut().url = format!("ws://127.0.0.1:{port_a}/a");
    h.run_steps(2);
    h.get_by_label("Connect").click();
    step_until(&mut h, |app| app.clients.current().state().is_some_and(|s| s.is_open()));
    send(&mut h, ComposeKind::Text, "to a");

    // A second tab starts from the first one's settings and has its own session.
    h.get_by_label("New tab").click();
    h.run_steps(2);
    assert_eq!((h.state().clients.tabs.len(), h.state().clients.current), (2, 1));
    assert_eq!(h.state().clients.current().url, format!("ws://127.0.0.1:{port_a}/a"));
    assert!(h.state().clients.current().session.is_none());
    h.state_mut().clients.current_mut().url = format!("ws://127.0.0.1:{port_b}/b");
    h.run_steps(2);
    h.get_by_label("Connect").click();
    step_until(&mut h, |app| {
        app.clients.tabs.iter().all(|t| t.state().is_some_and(|s| s.is_open()))
    });
    h.run_steps(2);
    h.get_by_label("2 live connections");

    // JSON typed compact, laid out by "Pretty" (order and number spelling kept), sent with
    // Ctrl+Enter from the text field, which must not add a newline.
    h.state_mut().clients.current_mut().kind = ComposeKind::Json;
    h.state_mut().clients.current_mut().text.clear();
    h.run_steps(2);
    let field = h.get_by_role_and_label(Role::MultilineTextInput, "Message");
    field.focus();
    field.type_text("{\"z\":[1,2.50],\"a\":{}}");
    h.run_steps(2);
    h.get_by_label("Pretty").click();
    h.run_steps(2);
    let pretty = "{\n  \"z\": [\n    1,\n    2.50\n  ],\n  \"a\": {}\n}";
    assert_eq!(h.state().clients.current().text, pretty);
    h.get_by_role_and_label(Role::MultilineTextInput, "Message").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(h.state().clients.current().text, pretty, "Ctrl+Enter changed the text");

    // A file's bytes as one binary message.
    let file = std::env::temp_dir().join(format!("framescope-tabs-{}.bin", std::process::id()));
    let bytes: Vec<u8> = (0..=255u8).cycle().take(3000).collect();
    std::fs::write(&file, &bytes).expect("write");
    h.state_mut().clients.current_mut().kind = ComposeKind::File;
    h.state_mut().clients.current_mut().text = file.display().to_string();
    h.run_steps(2);
    h.get_by_label_contains("3000 bytes, sent as one binary message");
    h.get_by_label("Send").click();
    step_until(&mut h, |app| app.store.messages.len() >= 6);
    std::fs::remove_file(&file).expect("remove");

    let app = h.state();
    assert_eq!(app.clients.tabs[0].conns, vec![0]);
    assert_eq!(app.clients.tabs[1].conns, vec![1]);
    assert_eq!(app.store.connections[0].info.server.port(), port_a);
    assert_eq!(app.store.connections[1].info.server.port(), port_b);
    let of = |conn: u32| -> Vec<(Direction, Vec<u8>)> {
        app.store
            .messages
            .iter()
            .filter(|m| m.conn == conn)
            .map(|m| (m.dir, app.store.payload(m).to_vec()))
            .collect()
    };
    use Direction::{ClientToServer as Up, ServerToClient as Down};
    assert_eq!(of(0), vec![(Up, b"to a".to_vec()), (Down, b"echo: to a".to_vec())]);
    let echoed_file = [&[0xee][..], &bytes].concat();
    assert_eq!(
        of(1),
        vec![
            (Up, pretty.as_bytes().to_vec()),
            (Down, format!("echo: {pretty}").into_bytes()),
            (Up, bytes.clone()),
            (Down, echoed_file),
        ]
    );

    // Picking a tab scopes the tables to its connection: its own transcript.
    h.get_by_label_contains("Tab 1: 127.0.0.1").click();
    h.run_steps(3);
    assert_eq!(h.state().clients.current, 0);
    assert_eq!(h.state().selection.conn, Some(0));
    assert_eq!(h.state().view.rows.len(), 2);
    h.get_by_label_contains("Sent 1 message (");
    h.get_by_label_contains("In the tables as connection #0");

    // Closing the first tab asks about its recording, then ends its connection only.
    h.get_by_label("Close tab").click();
    step_until(&mut h, |app| app.guard.prompt.is_some());
    // A new window is laid out unseen in its first frame.
    h.run_steps(3);
    h.get_by_label_contains("Closing the tab would lose 1 recording not");
    h.get_by_label("Discard").click();
    step_until(&mut h, |app| {
        app.clients.tabs.len() == 1 && app.store.connections[0].end.is_some()
    });
    let app = h.state();
    assert_eq!(app.clients.current().number, 2);
    assert!(app.clients.current().state().is_some_and(|s| s.is_open()));
    assert!(app.store.connections[1].end.is_none());
}

#[test]
fn a_drop_and_its_reconnect_show_on_the_timeline() {
    let port = common::dropping_server();
    let mut h = harness();
    h.state_mut().clients.open = true;
    {
        let tab = h.state_mut().clients.current_mut();
        tab.url = format!("ws://127.0.0.1:{port}/");
        tab.reconnect = true;
        tab.reconnect_base = 0.2;
        tab.reconnect_attempts = 3;
    }
    h.run_steps(2);
    h.get_by_label("Connect").click();
    step_until(&mut h, |app| app.clients.current().state().is_some_and(|s| s.is_open()));
    send(&mut h, ComposeKind::Text, "first");
    // The server drops the socket; the tab reconnects after 100-200 ms and the second
    // connection echoes.
    step_until(&mut h, |app| app.clients.current().conns.len() == 2);
    step_until(&mut h, |app| app.clients.current().state().is_some_and(|s| s.is_open()));
    send(&mut h, ComposeKind::Text, "second");
    step_until(&mut h, |app| app.store.messages.len() >= 3);
    h.run_steps(2);
    assert_eq!(h.state().clients.current().conns, vec![0, 1]);
    h.get_by_label_contains("Reconnect attempts: 1 (2 connections");
    // The timeline shades the gap from the drop to the reconnection and marks the attempt
    // (their names are in the plot's legend).
    h.state_mut().panes.lower.tab = framescope::gui::app::LowerTab::Plots;
    h.state_mut().panes.lower.plot_tab = framescope::gui::app::PlotTab::Timeline;
    h.run_steps(3);
    assert!(h.query_all_by_label("reconnect gap").count() >= 1);
    assert!(h.query_all_by_label("reconnect attempt").count() >= 1);
    let marks = h
        .state()
        .clients
        .current()
        .session
        .as_ref()
        .expect("session")
        .client
        .marks();
    let gap = framescope::gui::panes::plots::reconnect_marks(&marks, marks[0].at, marks[0].at).gaps;
    assert_eq!(gap.len(), 1);
    assert!((0.1..1.0).contains(&gap[0].1), "gap of {} s", gap[0].1);
}

#[test]
fn a_saved_profile_connects_in_a_tab_of_its_own() {
    let port = echo_server();
    let mut settings = Settings::default();
    let mut form = framescope::gui::panes::client::ClientPanel::default();
    form.url = format!("ws://127.0.0.1:{port}/p");
    form.headers = "X-From: profile".to_owned();
    form.heartbeat = true;
    form.heartbeat_every = 0.2;
    settings.profiles.push(form.to_profile("echo"));
    form.url = "ws://127.0.0.1:9/never".to_owned();
    settings.profiles.push(form.to_profile("other"));
    let app = common::gui::new_app(settings);
    let mut h = Harness::builder()
        .with_size((1400.0, 900.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app);
    let e = h.state_mut().connect_profile("missing").unwrap_err();
    assert_eq!(e, "no saved profile named 'missing' (saved: echo, other)");
    h.state_mut().connect_profile("echo").expect("known profile");
    step_until(&mut h, |app| {
        app.clients.current().state().is_some_and(|s| s.is_open()) && !app.store.rtts.is_empty()
    });
    let app = h.state();
    assert!(app.clients.open);
    assert_eq!(app.clients.tabs.len(), 1);
    assert_eq!(app.clients.current().profile_name, "echo");
    // The profile's header went out in the request, and its heartbeat pings.
    let handshake = app.store.connections[0].info.handshake.as_ref().expect("handshake");
    let request = handshake.request.as_ref().expect("request");
    assert!(
        request
            .headers
            .iter()
            .any(|(k, v)| k.eq_ignore_ascii_case("x-from") && v == "profile"),
        "{:?}",
        request.headers
    );
}

#[test]
fn the_live_pane_is_docked_beside_the_messages_and_can_float() {
    let mut h = harness();
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Connect to a WebSocket…").click();
    h.run_steps(2);
    // Docked: the pane sits left of the message table, which stays visible beside it.
    let url = h.get_by_role_and_label(Role::TextInput, "URL").rect();
    let table = h.get_by_label("preview").rect();
    assert!(
        url.right() < table.left(),
        "URL field {url:?} overlaps the table {table:?}"
    );
    h.get_by_label("Float").click();
    // The setting changes at the end of the frame; a new window shows a frame later.
    h.run_steps(4);
    assert!(h.state().settings.live_pane_floating);
    h.get_by_label("Dock").click();
    h.run_steps(2);
    assert!(!h.state().settings.live_pane_floating);
    h.get_by_label("Hide").click();
    h.run_steps(2);
    assert!(!h.state().clients.open);
}

#[test]
fn ctrl_enter_sends_only_from_the_message_field() {
    let port = echo_server();
    let mut h = harness();
    h.state_mut()
        .push(framescope::gui::commands::Command::ToggleConnectWindow);
    h.run_steps(2);
    h.state_mut().clients.current_mut().url = format!("ws://127.0.0.1:{port}/");
    h.run_steps(1);
    h.get_by_label("Connect").click();
    step_until(&mut h, |app| app.clients.current().state().is_some_and(|s| s.is_open()));
    h.run_steps(2);
    let field = h.get_by_role_and_label(Role::MultilineTextInput, "Message");
    field.focus();
    field.type_text("typed");
    h.run_steps(2);

    // Typing in the filter bar and pressing Ctrl+Enter there sends nothing.
    h.get_by_role_and_label(Role::TextInput, "Filter").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run_steps(3);
    assert!(h.state().clients.current().history.is_empty());

    // From the message field it sends, and the echo comes back.
    h.get_by_role_and_label(Role::MultilineTextInput, "Message").focus();
    h.run_steps(1);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::Enter);
    h.run_steps(2);
    assert_eq!(
        h.state().clients.current().history,
        vec![(ComposeKind::Text, "typed".to_owned())]
    );
    step_until(&mut h, |app| {
        app.store
            .messages
            .iter()
            .any(|m| app.store.payload(m) == b"echo: typed")
    });

    // A fast Ctrl+Enter (as xdotool sends it): Ctrl is already released when the frame
    // runs; the Enter event's own modifiers still count.
    h.get_by_role_and_label(Role::MultilineTextInput, "Message").focus();
    h.run_steps(1);
    let ctrl = egui::Modifiers::COMMAND;
    for event in [
        egui::Event::Key {
            key: egui::Key::Enter,
            physical_key: None,
            pressed: true,
            repeat: false,
            modifiers: ctrl,
        },
        egui::Event::ModifiersChanged(egui::Modifiers::NONE),
        egui::Event::Key {
            key: egui::Key::Enter,
            physical_key: None,
            pressed: false,
            repeat: false,
            modifiers: egui::Modifiers::NONE,
        },
    ] {
        h.event(event);
    }
    h.run_steps(2);
    assert_eq!(h.state().clients.current().text, "typed", "no newline was inserted");
    step_until(&mut h, |app| {
        let echoes = app
            .store
            .messages
            .iter()
            .filter(|m| app.store.payload(m) == b"echo: typed");
        echoes.count() == 2
    });
}

#[test]
fn at_1024_by_700_the_table_and_the_composer_stay_visible() {
    let port = echo_server();
    let app = common::gui::new_app(Settings::default());
    let mut h = Harness::builder()
        .with_size((1024.0, 700.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app);
    h.state_mut()
        .push(framescope::gui::commands::Command::ToggleConnectWindow);
    h.run_steps(2);
    h.state_mut().clients.current_mut().url = format!("ws://127.0.0.1:{port}/");
    h.run_steps(1);
    h.get_by_label("Connect").click();
    step_until(&mut h, |app| app.clients.current().state().is_some_and(|s| s.is_open()));
    for i in 0..12 {
        send(&mut h, ComposeKind::Text, &format!("message {i}"));
    }
    step_until(&mut h, |app| app.store.messages.len() >= 24);
    h.run_steps(3);
    let screen = egui::Rect::from_min_size(egui::Pos2::ZERO, egui::vec2(1024.0, 700.0));
    // The composer and Send are on screen.
    let send_button = h.get_by_label("Send").rect();
    assert!(screen.contains_rect(send_button), "Send at {send_button:?}");
    let field = h.get_by_role_and_label(Role::MultilineTextInput, "Message").rect();
    assert!(screen.contains_rect(field), "message field at {field:?}");
    // The table beside it keeps its preview column and shows several rows.
    let preview = h.get_by_label("preview").rect();
    assert!(screen.contains_rect(preview), "preview header at {preview:?}");
    assert!(preview.left() > send_button.right(), "the table is beside the pane");
    let rows_on_screen = h
        .get_all_by_label_contains("message ")
        .filter(|n| n.rect().left() >= preview.left() - 1.0 && screen.contains_rect(n.rect()))
        .count();
    assert!(rows_on_screen >= 6, "only {rows_on_screen} table rows on screen");
}
