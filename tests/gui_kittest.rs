//! The window driven like a user would: open a capture, select a connection, filter, select a
//! message, look at the detail, handshake and plot panes. egui_kittest finds widgets through
//! the accessibility tree; no renderer is needed.

mod common;

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::kittest::Queryable;
use framescope::analysis::ws::frame::OpCode;
use framescope::export::pcap_writer::Sender;

use common::gui::{empty_harness, loaded, loaded_in, sample};

#[test]
fn opening_a_capture_fills_the_connection_and_message_tables() {
    let harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    let app = harness.state();
    assert_eq!(app.store.connections.len(), 1);
    assert_eq!(app.store.messages.len(), 10);
    let server = app.store.connections[0].info.server.to_string();
    harness.get_by_label(&server);
    harness.get_by_label("10 of 10 messages");
    harness.get_by_label("closed 4001/4001");
    assert!(
        app.status
            .as_ref()
            .is_some_and(|s| !s.is_error && s.text.contains("1 connections, 10 messages"))
    );
    assert!(
        app.settings.recent_files[0].ends_with("echo-text-binary-ping-close.pcap"),
        "remembered as recent"
    );
}

#[test]
fn selecting_a_message_shows_its_detail_and_keys_move_the_selection() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness
        .get_all_by_label("hello, framescope")
        .next()
        .expect("row")
        .click();
    harness.run_steps(2);
    let first = harness.state().selection.message.expect("selected");
    assert_eq!(harness.state().store.messages[first as usize].opcode, OpCode::Text);
    harness.get_by_label(&format!("#{first} on connection 0 (c2s)"));
    harness.get_by_label("17 B decoded, 23 B on the wire, 1 frame");
    harness.key_press(egui::Key::ArrowDown);
    harness.run_steps(2);
    assert_eq!(harness.state().selection.message, Some(first + 1));
    harness.key_press(egui::Key::Escape);
    harness.run_steps(2);
    assert_eq!(harness.state().selection.message, None);
    harness.get_by_label("Select a message to see its payload.");
}

#[test]
fn the_json_view_keeps_the_key_order_and_number_spelling_of_the_payload() {
    let mut harness = loaded(&sample("synthetic-mixed-json.pcap"));
    harness
        .state_mut()
        .push(framescope::gui::commands::Command::RevealMessage(0));
    harness.state_mut().panes.detail_tab = framescope::gui::app::DetailTab::Json;
    harness.run_steps(3);
    let app = harness.state();
    let payload = String::from_utf8(app.store.payload(&app.store.messages[0]).to_vec()).expect("text");
    assert!(payload.starts_with("{\"seq\":0,\"items\":[{\"id\":"), "{payload:.80}");
    // The tree lists keys as sent (seq before items; id before uuid), not sorted.
    let labels: Vec<String> = harness
        .query_all_by_label_contains(" ")
        .filter_map(|n| {
            let node = egui_kittest::kittest::NodeT::accesskit_node(&n);
            node.label().or_else(|| node.value())
        })
        .collect();
    let at = |prefix: &str| labels.iter().position(|l| l.starts_with(prefix));
    assert!(at("seq: 0").expect("seq") < at("items [").expect("items"), "{labels:?}");
    assert!(at("user: ").expect("user") < at("price: ").expect("price"));
    harness.get_by_label("Tree").click();
    harness.run_steps(3);
    harness.get_by_label("Pretty").click();
    harness.run_steps(3);
    let pretty = framescope::gui::json_layout::relayout(&payload, framescope::gui::json_layout::Layout::Pretty(2))
        .expect("json");
    assert!(pretty.starts_with("{\n  \"seq\": 0,\n  \"items\": [\n    {\n      \"id\": "));
    harness.get_by_label(&pretty);
}

#[test]
fn a_close_message_shows_the_code_name_and_reason() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness
        .get_all_by_label("4001 Private use: test over")
        .next()
        .expect("preview")
        .click();
    harness.run_steps(2);
    harness.get_by_label_contains("4001 Private use — \"test over\"");
}

#[test]
fn the_text_filter_and_the_opcode_filter_narrow_the_table() {
    let mut harness = loaded(&sample("python-deflate-context-takeover.pcap"));
    harness.get_by_label("14 of 14 messages");
    let field = harness.get_by_role_and_label(Role::TextInput, "Filter");
    field.focus();
    field.type_text("fragmented");
    harness.run_steps(3);
    harness.get_by_label("2 of 14 messages");
    let rows = harness.state().view.rows.clone();
    assert!(rows.iter().all(|&i| {
        harness
            .state()
            .store
            .payload(&harness.state().store.messages[i as usize])
            .starts_with(b"fragmented")
    }));
    harness.get_by_label("Clear filter").click();
    harness.run_steps(2);
    harness.get_by_label("14 of 14 messages");
    harness.get_by_label("Opcode").click();
    harness.run_steps(2);
    harness.get_by_label("control").click();
    harness.run_steps(3);
    harness.get_by_label("4 of 14 messages");
}

#[test]
fn a_bad_regular_expression_is_reported_next_to_the_field() {
    let mut harness = loaded(&sample("python-deflate-context-takeover.pcap"));
    harness.get_by_label("Regex").click();
    harness.run_steps(2);
    let field = harness.get_by_role_and_label(Role::TextInput, "Filter");
    field.focus();
    field.type_text("(unclosed");
    harness.run_steps(3);
    harness.get_by_label_contains("regex: regex parse error");
    harness.get_by_label("14 of 14 messages");
}

#[test]
fn selecting_a_connection_scopes_the_messages() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("two.pcap");
    let mut packets = Vec::new();
    for (i, port) in [41000u16, 41001].iter().enumerate() {
        let mut conv = common::Conversation::new(&format!("10.0.0.1:{port}"), "10.0.0.2:8080", 1, 2);
        conv.ts = framescope::analysis::Timestamp::from_secs_micros(1_700_000_000 + i as i64, 0);
        conv.open();
        conv.send(Sender::Client, &common::upgrade_request(None));
        conv.send(Sender::Server, &common::upgrade_response(None));
        for n in 0..=i {
            let text = format!("conn {i} message {n}");
            conv.send(
                Sender::Client,
                &common::ws_frame(true, false, OpCode::Text, common::CLIENT_KEY, text.as_bytes()),
            );
        }
        packets.extend(conv.packets());
    }
    common::write_pcap(&path, &packets, 65535);
    let mut harness = loaded(&path);
    harness.get_by_label("3 of 3 messages");
    harness.get_by_label("10.0.0.1:41001").click();
    harness.run_steps(3);
    assert_eq!(harness.state().selection.conn, Some(1));
    harness.get_by_label("2 of 3 messages");
    harness.get_by_label("All (2)").click();
    harness.run_steps(3);
    harness.get_by_label("3 of 3 messages");
}

#[test]
fn the_handshake_pane_shows_offers_choices_and_the_accept_check() {
    let mut harness = loaded(&sample("python-deflate-context-takeover.pcap"));
    harness.get_by_label("Handshake").click();
    harness.run_steps(2);
    let hs = harness.state().store.connections[0]
        .info
        .handshake
        .clone()
        .expect("handshake");
    let expected = hs.expected_accept().expect("key");
    harness.get_by_label(&format!("expected {expected}"));
    harness.get_by_label(&format!("valid: {expected}"));
    // In the connection row and in the handshake's "accepted" column.
    assert_eq!(
        harness
            .get_all_by_label("permessage-deflate; server_max_window_bits=12; client_max_window_bits=12")
            .count(),
        2
    );
    harness.get_by_label("accepted by the server");
    harness.get_by_label("GET /chat HTTP/1.1");
    harness.get_by_label("Host: 127.0.0.1:8765");
    // The RFC 6455 checklist: every rule passes on this handshake.
    assert!(harness.query_by_label("FAIL").is_none());
    assert!(harness.get_all_by_label("pass").count() >= 10);
}

#[test]
fn the_rtt_plot_pane_reports_samples_and_percentiles() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness.get_by_label("Ping/pong RTT").click();
    harness.run_steps(2);
    let rtt = harness.state().store.rtts[0].rtt_ms();
    harness.get_by_label("1 samples");
    harness.get_by_label(&format!("p50 {rtt:.3} ms"));
    harness.get_by_label("Throughput").click();
    harness.run_steps(2);
    harness.get_by_label("Timeline").click();
    harness.run_steps(2);
}

#[test]
fn findings_are_listed_and_a_click_selects_the_message() {
    let mut harness = loaded(&sample("python-ipv6-capture-drops.pcap"));
    harness.get_by_label("Findings (2)").click();
    harness.run_steps(2);
    harness.get_by_label("tcp-gap");
    harness.get_by_label_contains("bytes not captured").click();
    harness.run_steps(2);
    let selected = harness.state().selection.message.expect("a message is selected");
    let row = &harness.state().store.messages[selected as usize];
    assert_eq!(row.opcode, OpCode::Text, "the first message after the lost bytes");
    assert_eq!(harness.state().store.payload(row), b"hello over IPv6");
}

#[test]
fn an_unreadable_file_is_reported_in_the_status_bar() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("notes.pcap");
    std::fs::write(&path, b"definitely not a capture file").expect("write");
    let harness = loaded(&path);
    let status = harness.state().status.clone().expect("status");
    assert!(status.is_error);
    assert!(status.text.contains("not a pcap or pcapng capture"), "{}", status.text);
    harness.get_by_label_contains("not a pcap or pcapng capture");
}

#[test]
fn the_anatomy_view_lays_out_a_known_frame_and_walks_through_unmasking() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness
        .get_all_by_label("hello, framescope")
        .next()
        .expect("row")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Frame anatomy").click();
    harness.run_steps(3);
    let app = harness.state();
    let row = app.store.messages[app.selection.message.expect("selected") as usize].clone();
    let frame = framescope::gui::panes::anatomy::message_frames(&app.store, &row)[0].clone();
    let key = frame.header.mask.expect("client frames are masked");
    let key_text = key.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(" ");
    harness.get_by_label(&format!(
        "Frame 1 of 1 — 23 bytes on the wire at stream offset {}",
        frame.stream_offset
    ));
    harness.get_by_label("text (UTF-8) message");
    harness.get_by_label("final frame of the message");
    harness.get_by_label("17 bytes of payload");
    harness.get_by_label(&key_text);
    harness.get_by_label("payload is masked (client to server)");
    // The walkthrough shows the first 16 bytes unmasked.
    harness.get_by_label("gives \"hello, framescop\"");
    assert!(
        harness.query_by_label_contains("breaks").is_none(),
        "a clean frame breaks no rule"
    );
}

#[test]
fn the_handshake_walkthrough_shows_each_step_of_the_accept() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness.get_by_label("Handshake").click();
    harness.run_steps(2);
    let hs = harness.state().store.connections[0]
        .info
        .handshake
        .clone()
        .expect("handshake");
    let steps = framescope::analysis::http::handshake::accept_steps(hs.key.as_deref().expect("key"));
    harness.get_by_label(&steps.key_and_guid);
    harness.get_by_label(&steps.sha1_hex);
    harness.get_by_label(&format!("{} (matches)", steps.accept));
}

#[test]
fn the_frame_builder_builds_bytes_and_decodes_them_back() {
    let mut harness = empty_harness();
    harness.get_by_label("Tools").click();
    harness.run_steps(2);
    harness.get_by_label("Frame builder").click();
    harness.run_steps(3);
    // The default is RFC 6455 §5.7's masked "Hello".
    harness.get_by_label("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    harness.get_by_label("valid: no rule of RFC 6455 is broken");
    // A fragmented ping: the real decoder's finding appears.
    harness.state_mut().panes.builder.spec.opcode = 9;
    harness.get_by_role_and_label(Role::CheckBox, "FIN").click();
    harness.run_steps(3);
    harness.get_by_label_contains("fragmented-control:");
    // Pasted bytes decode to the message they carry.
    let field = harness.get_by_role_and_label(Role::MultilineTextInput, "Hex bytes of one direction");
    field.focus();
    field.type_text("81 85 37 fa 21 3d 7f 9f 4d 51 58");
    harness.run_steps(3);
    harness.get_by_label("message: text of 5 bytes: Hello");
}

#[test]
fn a_lesson_opens_its_capture_at_the_message_and_view_it_explains() {
    let mut harness = empty_harness();
    harness.get_by_label("Help").click();
    harness.run_steps(2);
    harness.get_by_label("Samples").click();
    harness.run_steps(2);
    harness.get_by_label("4. Fragmentation").click();
    let started = Instant::now();
    while (harness.state().is_loading() || harness.state().selection.message.is_none())
        && started.elapsed() < Duration::from_secs(10)
    {
        harness.step();
        std::thread::sleep(Duration::from_millis(2));
    }
    harness.run_steps(3);
    assert_eq!(harness.state().selection.message, Some(6));
    harness.get_by_label_contains("joins back into \"frag-mented\"");
    // The anatomy tab shows both frames of the fragmented message.
    harness.get_by_label_contains("Frame 1 of 2");
    harness.get_by_label_contains("Frame 2 of 2");
    harness.get_by_label("continuation of a fragmented message");
}

#[test]
fn the_reference_opens_from_a_close_message_at_its_code() {
    let mut harness = loaded(&sample("echo-text-binary-ping-close.pcap"));
    harness
        .get_all_by_label("4001 Private use: test over")
        .next()
        .expect("preview")
        .click();
    harness.run_steps(2);
    // A short detail column folds the facts (the close code's row among them).
    if let Some(facts) = harness.query_by_label("Facts") {
        facts.click();
        harness.run_steps(2);
    }
    harness.get_all_by_label("?").last().expect("close code link").click();
    harness.run_steps(3);
    assert!(harness.state().panes.reference.open);
    assert_eq!(harness.state().panes.reference.highlight, Some(4001));
    harness.get_by_label("the connection closed without a close frame; reported locally, MUST NOT be sent");
    // The code's own row and its range's row.
    assert_eq!(
        harness
            .get_all_by_label("for private use by applications; no registration")
            .count(),
        2
    );
}

#[test]
fn the_deflate_walkthrough_says_when_the_earlier_window_is_needed() {
    let mut harness = loaded(&sample("python-deflate-context-takeover.pcap"));
    harness.get_by_label("Frame anatomy").click();
    harness
        .state_mut()
        .push(framescope::gui::commands::Command::SelectMessage(Some(0)));
    harness.run_steps(3);
    harness.get_by_label("00 00 ff ff");
    harness.get_by_label("not needed: this message inflates on its own");
    let first = harness.state().store.messages[0].clone();
    harness.get_by_label(&format!(
        "{} bytes ({:.1}:1)",
        first.len,
        first.len as f64 / harness.state().store.compressed_payload(&first).len() as f64
    ));
    // Message 2 repeats message 0: with context takeover it is a few back-references.
    harness
        .state_mut()
        .push(framescope::gui::commands::Command::SelectMessage(Some(2)));
    harness.run_steps(3);
    harness.get_by_label_contains("needed: it refers back to text of earlier messages");
}

#[test]
fn hovering_links_fields_and_bytes_and_the_unmasking_steps_one_by_one() {
    let mut harness = loaded_in(&sample("echo-text-binary-ping-close.pcap"), (1400.0, 1400.0));
    harness
        .get_all_by_label("hello, framescope")
        .next()
        .expect("row")
        .click();
    harness.run_steps(2);
    harness.get_by_label("Frame anatomy").click();
    harness.run_steps(3);
    let fields_of_frame = {
        let app = harness.state();
        let row = app.store.messages[app.selection.message.expect("selected") as usize].clone();
        let frame = framescope::gui::panes::anatomy::message_frames(&app.store, &row)[0].clone();
        framescope::analysis::ws::anatomy::fields(&frame.header, false)
    };
    let key_field = fields_of_frame
        .iter()
        .position(|f| f.name == "masking key")
        .expect("masked");
    // Hovering the masking key's box in the bit layout (bits 16-31 of the first row, drawn
    // under the frame heading and a row of bit numbers) selects the field: its bytes light up.
    let heading = harness.get_by_label_contains("Frame 1 of 1").rect();
    let first_row_y = heading.max.y + 4.0 + 0.6 * 34.0 + 17.0;
    harness.hover_at(egui::pos2(heading.min.x + 24.0 * 24.0, first_row_y));
    harness.run_steps(2);
    assert_eq!(harness.state().panes.lower.anatomy.hover, Some((0, key_field)));
    assert_eq!(fields_of_frame[key_field].byte_range(), (2, 5));
    // The walkthrough steps one byte at a time.
    // Drag the lower area's splitter up, as a user would, to see the legend and walkthrough.
    let top = harness.get_by_label("Plots").rect().min.y;
    let splitter = (1..=16)
        .map(|d| egui::pos2(700.0, top - d as f32))
        .find(|p| {
            harness
                .query_all_by_label("Resize panel")
                .any(|n| n.rect().expand(1.0).contains(*p))
        })
        .expect("the lower area's splitter");
    harness.drag_at(splitter);
    harness.run_steps(1);
    harness.hover_at(egui::pos2(700.0, 600.0));
    harness.run_steps(1);
    harness.drop_at(egui::pos2(700.0, 600.0));
    harness.run_steps(3);
    // Hovering a byte names its field: byte 0 is FIN..opcode, byte 2 is the masking key.
    harness.get_by_label("81").hover();
    harness.run_steps(2);
    assert_eq!(
        harness
            .state()
            .panes
            .lower
            .anatomy
            .hover
            .map(|(_, f)| fields_of_frame[f].name),
        Some("FIN")
    );
    harness.get_by_label("masking key").hover();
    harness.run_steps(2);
    assert_eq!(
        harness.state().panes.lower.anatomy.hover,
        Some((0, key_field)),
        "the legend's names link too"
    );
    harness.get_by_label("Restart").click();
    harness.run_steps(2);
    harness.get_by_label("gives \"\"");
    harness.get_by_label("Step").click();
    harness.run_steps(2);
    harness.get_by_label("Step").click();
    harness.run_steps(2);
    harness.get_by_label("gives \"he\"");
    harness.get_by_label("Show all").click();
    harness.run_steps(2);
    harness.get_by_label("gives \"hello, framescop\"");
}

#[test]
fn text_in_many_scripts_renders_as_glyphs_not_boxes() {
    let harness = loaded(&sample("python-many-connections-scripts.pcap"));
    let app = harness.state();
    assert_eq!(app.store.connections.len(), 12);
    // The previews of the table hold these scripts; every character must have a glyph in
    // the fonts the window installed (CI installs the packages the README names).
    for text in [
        "こんにちは、世界",
        "你好，世界",
        "안녕하세요",
        "Привет, мир",
        "مرحبا بالعالم",
        "שלום עולם",
        "नमस्ते दुनिया",
        "✓ 🎉",
    ] {
        let covered = harness
            .ctx
            .fonts_mut(|f| f.has_glyphs(&egui::FontId::proportional(14.0), &text.replace(' ', "")));
        if !covered {
            common::skip_or_fail_in_ci(&format!(
                "no system font covers {text:?} (make font-deps installs them)"
            ));
            continue;
        }
        assert!(
            covered,
            "{text}: missing glyphs (fallbacks found: {:?})",
            framescope::gui::fonts::fallbacks_found()
        );
    }
    harness
        .get_all_by_label_contains("こんにちは")
        .next()
        .expect("a Japanese preview");
}
