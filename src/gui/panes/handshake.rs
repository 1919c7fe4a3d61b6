//! The selected connection's upgrade: both header blocks, offers against choices, and the
//! Sec-WebSocket-Accept check with the expected value. For a WebSocket inside HTTP/2
//! (RFC 8441) the two header lists of the extended CONNECT as HPACK decoded them, and the
//! RFC 8441 checklist instead of the accept walkthrough.

use crate::gui::model::Cx;
use crate::gui::theme;

pub fn handshake_ui(cx: &mut Cx<'_>, ui: &mut egui::Ui) {
    // The selected message's connection first (the table may show many connections), then
    // the selected connection, then the only one.
    let conn = cx
        .selection
        .message
        .and_then(|m| cx.store.messages.get(m as usize))
        .map(|m| m.conn)
        .or(cx.selection.conn)
        .or(if cx.store.connections.len() == 1 { Some(0) } else { None });
    let Some(c) = conn.and_then(|c| cx.store.connection(c)) else {
        ui.weak("Select a connection or a message to see its handshake.");
        return;
    };
    let Some(hs) = &c.info.handshake else {
        ui.label(format!(
            "Connection {} was found by its frames: the capture starts after the handshake.",
            c.info.conn
        ));
        return;
    };
    let stream = c
        .info
        .h2_stream
        .map(|s| format!(", HTTP/2 stream {s}"))
        .unwrap_or_default();
    ui.weak(format!(
        "connection {}: {} → {}{stream}",
        c.info.conn, c.info.client, c.info.server
    ));
    egui::ScrollArea::vertical().id_salt("handshake").show(ui, |ui| {
        // Each side's title and its lines.
        let (left, right): (Side, Side) = if hs.http2 {
            // HPACK-decoded header lists: pseudo-headers first, in the order sent.
            (
                (
                    "CONNECT request HEADERS (client to server)",
                    hs.request
                        .iter()
                        .flat_map(|r| &r.headers)
                        .map(|(k, v)| format!("{k}: {v}"))
                        .collect(),
                ),
                (
                    "Response HEADERS (server to client)",
                    hs.response.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect(),
                ),
            )
        } else {
            let request = match &hs.request {
                Some(req) => std::iter::once(format!("{} {} HTTP/1.{}", req.method, req.path, req.version_minor))
                    .chain(req.headers.iter().map(|(k, v)| format!("{k}: {v}")))
                    .collect(),
                None => Vec::new(),
            };
            let response = std::iter::once(format!(
                "HTTP/1.{} {} {}",
                hs.response.version_minor, hs.response.status, hs.response.reason
            ))
            .chain(hs.response.headers.iter().map(|(k, v)| format!("{k}: {v}")))
            .collect();
            (
                ("Request (client to server)", request),
                ("Response (server to client)", response),
            )
        };
        ui.columns(2, |cols| {
            for (col, (title, lines)) in cols.iter_mut().zip([left, right]) {
                // Left-aligned, not justified: a long header value wraps without its letters
                // spread apart.
                col.with_layout(egui::Layout::top_down(egui::Align::LEFT), |ui| {
                    ui.strong(title);
                    if lines.is_empty() {
                        ui.weak("(request not captured)");
                    }
                    for line in lines {
                        ui.add(egui::Label::new(egui::RichText::new(line).monospace()).wrap());
                    }
                });
            }
        });
        ui.separator();
        egui::Grid::new("offers").num_columns(3).striped(true).show(ui, |ui| {
            ui.strong("");
            ui.strong("offered by the client");
            ui.strong("accepted by the server");
            ui.end_row();
            ui.label("subprotocol");
            ui.label(if hs.offered_subprotocols.is_empty() {
                "-".into()
            } else {
                hs.offered_subprotocols.join(", ")
            });
            ui.label(hs.subprotocol.clone().unwrap_or_else(|| "-".into()));
            ui.end_row();
            ui.label("extensions");
            let offered: Vec<String> = hs.offered_extensions.iter().map(ToString::to_string).collect();
            let accepted: Vec<String> = hs.extensions.iter().map(ToString::to_string).collect();
            ui.label(if offered.is_empty() {
                "-".into()
            } else {
                offered.join(", ")
            });
            ui.label(if accepted.is_empty() {
                "-".into()
            } else {
                accepted.join(", ")
            });
            ui.end_row();
            ui.label("Sec-WebSocket-Accept");
            if hs.http2 {
                ui.weak("none over HTTP/2 (RFC 8441 §5)");
                ui.weak("-");
                ui.end_row();
                return;
            }
            ui.label(format!(
                "expected {}",
                hs.expected_accept().unwrap_or_else(|| "(no key)".into())
            ));
            match hs.accept_valid() {
                Some(true) => ui.colored_label(theme::OK, format!("valid: {}", hs.accept.clone().unwrap_or_default())),
                Some(false) => ui.colored_label(
                    theme::ERROR,
                    format!("WRONG: {}", hs.accept.clone().unwrap_or_default()),
                ),
                None => ui.weak("not checked"),
            };
            ui.end_row();
        });
        if let Some(key) = &hs.key {
            ui.separator();
            ui.strong("How the server computes Sec-WebSocket-Accept (RFC 6455 §4.2.2)");
            let steps = crate::analysis::http::handshake::accept_steps(key);
            egui::Grid::new("accept-steps").num_columns(2).show(ui, |ui| {
                ui.label("1. Sec-WebSocket-Key from the request");
                ui.monospace(&steps.key);
                ui.end_row();
                ui.label("2. append the GUID");
                ui.monospace(&steps.key_and_guid);
                ui.end_row();
                ui.label("3. SHA-1 of that text");
                ui.monospace(&steps.sha1_hex);
                ui.end_row();
                ui.label("4. base64 of the 20 digest bytes");
                ui.monospace(&steps.accept);
                ui.end_row();
                ui.label("5. the server sent");
                let sent = hs.accept.clone().unwrap_or_else(|| "(nothing)".into());
                if hs.accept_valid() == Some(true) {
                    ui.colored_label(theme::OK, format!("{sent} (matches)"));
                } else {
                    ui.colored_label(theme::ERROR, format!("{sent} (does not match)"));
                }
                ui.end_row();
            });
        }
        ui.separator();
        ui.strong(if hs.http2 {
            "RFC 8441 §4-5 checklist"
        } else {
            "RFC 6455 §4 checklist"
        });
        for check in hs.checks() {
            let (mark, color) = if check.passed {
                ("pass", theme::OK)
            } else {
                ("FAIL", theme::ERROR)
            };
            ui.horizontal(|ui| {
                ui.colored_label(color, mark);
                ui.label(check.rule);
                ui.weak(check.detail);
            });
        }
    });
}

/// One side of the handshake as shown: its title and its lines.
type Side = (&'static str, Vec<String>);
