//! Live capture from the window: pick `lo`, type a BPF filter (a bad one is refused with
//! libpcap's message), start, run a real tokio-tungstenite session on 127.0.0.1, stop; the
//! messages are in the tables and the saved pcapng holds the same session.
//! Needs the right to capture (root in CI); says so and skips without it.

mod common;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use framescope::analysis::ws::frame::OpCode;
use framescope::gui::FramescopeApp;
use framescope::gui::settings::Settings;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

fn harness() -> Harness<'static, FramescopeApp> {
    let app = common::gui::new_app(Settings::default());
    Harness::builder()
        .with_size((1400.0, 900.0))
        .build_ui_state(|ui, app: &mut FramescopeApp| app.show(ui), app)
}

fn can_capture() -> bool {
    match pcap::Capture::from_device("lo").and_then(|c| c.open()) {
        Ok(_) => true,
        Err(e) => {
            // CI runs as root: there a capture that cannot start is a failure, not a skip.
            assert!(
                std::env::var_os("CI").is_none(),
                "CI is set but capturing on lo failed: {e}"
            );
            eprintln!("skipping: cannot capture on lo ({e})");
            false
        }
    }
}

/// One echo exchange on 127.0.0.1:port, run on its own runtime.
fn websocket_session(port_tx: std::sync::mpsc::Sender<u16>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        port_tx.send(port).expect("port");
        // Give the capture time to start after the port is known.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let server = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.expect("accept");
            let mut ws = tokio_tungstenite::accept_async(tcp).await.expect("handshake");
            while let Some(Ok(m)) = ws.next().await {
                if m.is_text() {
                    ws.send(m).await.expect("echo");
                }
            }
        });
        let (mut client, _) = tokio_tungstenite::connect_async(format!("ws://127.0.0.1:{port}/live"))
            .await
            .expect("connect");
        client.send(Message::text("captured live")).await.expect("send");
        let _ = client.next().await;
        client.close(None).await.expect("close");
        while let Some(Ok(_)) = client.next().await {}
        drop(client);
        let _ = server.await;
    });
}

#[test]
fn a_bad_capture_filter_is_refused_with_libpcaps_message() {
    let mut h = harness();
    h.get_by_label("File").click();
    h.run_steps(2);
    h.get_by_label("Capture from an interface…").click();
    h.run_steps(3);
    assert!(h.state().panes.capture.open);
    let field = h.get_by_role_and_label(Role::TextInput, "Capture filter (BPF)");
    field.focus();
    field.type_text("tcp port banana");
    h.run_steps(3);
    h.get_by_label_contains("filter:");
    assert!(
        h.state()
            .panes
            .capture
            .filter_check
            .as_ref()
            .is_some_and(|(_, v)| v.is_err())
    );
    // Start stays disabled while the filter does not compile.
    h.get_by_label("Start").click();
    h.run_steps(2);
    assert!(h.state().feed.is_none());
}

#[test]
fn capturing_on_lo_fills_the_tables_and_saves_a_pcapng() {
    if !can_capture() {
        return;
    }
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let session = std::thread::spawn(move || websocket_session(port_tx));
    let port = port_rx.recv_timeout(Duration::from_secs(10)).expect("port");

    let mut h = harness();
    h.state_mut()
        .push(framescope::gui::commands::Command::ToggleCaptureWindow);
    h.run_steps(2);
    let lo = h
        .state()
        .panes
        .capture
        .interfaces
        .clone()
        .and_then(|r| r.ok())
        .and_then(|l| l.into_iter().find(|i| i.loopback))
        .expect("loopback listed");
    h.state_mut().panes.capture.interface = lo.name.clone();
    h.run_steps(2);
    let picked = h
        .get_by_role_and_label(Role::ComboBox, "Interface")
        .value()
        .unwrap_or_default();
    assert!(
        picked.contains("(loopback)") && picked.contains("127.0.0.1"),
        "{picked}"
    );
    let field = h.get_by_role_and_label(Role::TextInput, "Capture filter (BPF)");
    field.focus();
    field.type_text(&format!("tcp port {port}"));
    h.run_steps(2);
    h.get_by_label("Start").click();
    h.run_steps(2);
    assert!(
        h.state().feed.as_ref().is_some_and(|j| j.live.is_some()),
        "{:?}",
        h.state().status
    );
    session.join().expect("session");
    // Let the last packets arrive, then stop.
    let started = Instant::now();
    while h.state().store.messages.len() < 4 && started.elapsed() < Duration::from_secs(10) {
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.get_all_by_label("Stop").next().expect("stop").click();
    let started = Instant::now();
    while h.state().is_loading() && started.elapsed() < Duration::from_secs(10) {
        h.step();
        std::thread::sleep(Duration::from_millis(5));
    }
    h.run_steps(2);
    let app = h.state();
    assert_eq!(app.store.connections.len(), 1);
    assert_eq!(app.store.connections[0].info.server.port(), port);
    let texts: Vec<&[u8]> = app
        .store
        .messages
        .iter()
        .filter(|m| m.opcode == OpCode::Text)
        .map(|m| app.store.payload(m))
        .collect();
    assert_eq!(texts, vec![&b"captured live"[..], &b"captured live"[..]]);
    h.get_by_label_contains("packets");

    // The recording re-reads to the same messages.
    let recording = app.panes.capture.recording.clone().expect("recorded");
    let dir = tempfile::tempdir().expect("tmp");
    let saved = dir.path().join("saved.pcapng");
    framescope::capture::live::save_recording(&recording, &saved).expect("save");
    let (sink, summary) = common::analyze_file(&saved);
    assert_eq!(summary.stopped_early, None);
    assert_eq!(sink.messages.len(), app.store.messages.len());
    assert!(
        sink.messages
            .iter()
            .zip(&app.store.messages)
            .all(|(a, b)| a.payload == app.store.payload(b))
    );
}
