//! The selected message: text (invalid UTF-8 marked), JSON (pretty and as a tree), hex dump,
//! base64; copy and save; close codes with their names.

use base64::Engine as _;

use crate::analysis::ws::close::close_code_name;
use crate::analysis::ws::frame::OpCode;
use crate::gui::app::DetailTab;
use crate::gui::commands::Command;
use crate::gui::model::{Cx, Model};
use crate::gui::panes::reference::ReferenceTopic;
use crate::gui::settings::TimeMode;
use crate::gui::{format, theme};

/// Text and JSON views show at most this much; the hex view pages through everything.
const MAX_TEXT_VIEW_BYTES: usize = 256 << 10;
/// JSON tree nodes drawn at most (a huge document stays responsive).
const MAX_JSON_NODES: usize = 5000;

pub fn detail_ui(cx: &mut Cx<'_>, tab: &mut DetailTab, ui: &mut egui::Ui) {
    ui.heading("Message");
    let Some(index) = cx.selection.message else {
        ui.weak("Select a message to see its payload.");
        return;
    };
    let Some(m) = cx.store.messages.get(index as usize).cloned() else {
        return;
    };
    let payload = cx.store.payload(&m).to_vec();
    // The column can be 200 points wide (1024 px windows): long facts wrap (`wrapped`)
    // rather than push the column's content past its edges.
    let value_width = (ui.available_width() - 70.0).max(100.0);
    // A short column (700 px windows) would spend its height on the facts: one line, and
    // the rest folded.
    let short = ui.available_height() < 320.0;
    let mut facts = |ui: &mut egui::Ui| {
        egui::Grid::new("message-facts")
            .num_columns(2)
            .max_col_width(value_width)
            .show(ui, |ui| {
                ui.label("message");
                wrapped(ui, format!("#{index} on connection {} ({})", m.conn, m.dir.as_str()));
                ui.end_row();
                ui.label("opcode");
                ui.horizontal(|ui| {
                    ui.colored_label(
                        theme::opcode_color(m.opcode),
                        format!("{} (0x{:x})", m.opcode.name(), m.opcode.as_u4()),
                    );
                    if ui.small_button("?").on_hover_text("Opcode reference").clicked() {
                        cx.push(Command::ShowReference(
                            ReferenceTopic::Opcodes,
                            Some(u16::from(m.opcode.as_u4())),
                        ));
                    }
                });
                ui.end_row();
                ui.label("time");
                let since = |origin: Option<crate::analysis::Timestamp>| {
                    origin.map_or_else(String::new, |o| format!("{:.6} s", m.ts.millis_since(o) / 1000.0))
                };
                wrapped(
                    ui,
                    format!(
                        "{} since the capture started, {} since the connection started",
                        since(cx.store.capture_start()),
                        since(cx.store.connection(m.conn).map(|c| c.info.first_ts))
                    ),
                )
                .on_hover_text(format::time_tooltip(m.ts));
                ui.end_row();
                ui.label("");
                ui.label(match cx.settings.time_mode {
                    TimeMode::Local => format::local(m.ts).unwrap_or_else(|| format::utc(m.ts)),
                    _ => format::utc(m.ts),
                });
                ui.end_row();
                ui.label("size");
                wrapped(
                    ui,
                    format!(
                        "{} decoded, {} on the wire, {} frame{}{}",
                        format::bytes(m.len),
                        format::bytes(m.wire_len),
                        m.frames,
                        if m.frames == 1 { "" } else { "s" },
                        if m.compressed { ", permessage-deflate" } else { "" }
                    ),
                );
                ui.end_row();
                if m.opcode == OpCode::Close {
                    ui.label("close");
                    match m.close_code {
                        Some(code) => {
                            // Wrapped: a long reason must not push the "?" past the column.
                            ui.horizontal_wrapped(|ui| {
                                let reason = m.close_reason(&payload).unwrap_or_default();
                                let reason = if reason.is_empty() {
                                    String::new()
                                } else {
                                    format!(" — \"{reason}\"")
                                };
                                ui.label(format!("{code} {}{reason}", close_code_name(code)));
                                if ui.small_button("?").on_hover_text("Close code reference").clicked() {
                                    cx.push(Command::ShowReference(ReferenceTopic::CloseCodes, Some(code)));
                                }
                            });
                        }
                        None => {
                            ui.label("no status code (1005 No Status Received is reported locally)");
                        }
                    }
                    ui.end_row();
                }
            });
    };
    if short {
        let code = m.close_code.map(|c| format!(" {c}")).unwrap_or_default();
        ui.label(format!(
            "#{index} · conn {} · {} · {}{code} · {}",
            m.conn,
            m.dir.as_str(),
            m.opcode.name(),
            format::bytes(m.len)
        ));
        egui::CollapsingHeader::new("Facts")
            .id_salt("detail-facts")
            .default_open(false)
            .show(ui, |ui| {
                egui::ScrollArea::vertical()
                    .id_salt("detail-facts-scroll")
                    .max_height(ui.available_height() * 0.6)
                    .show(ui, facts)
            });
    } else {
        facts(ui);
    }
    if !m.decoded {
        ui.colored_label(
            theme::WARNING,
            "This compressed message could not be inflated; the bytes below are as sent.",
        );
    }
    if m.truncated {
        ui.colored_label(theme::WARNING, "A size cap cut this payload; see the findings.");
    }
    if !m.payload_fully_kept() {
        ui.colored_label(
            theme::WARNING,
            format!("Only the first {} bytes were kept in memory.", m.kept_len),
        );
    }
    ui.horizontal_wrapped(|ui| {
        ui.selectable_value(&mut *tab, DetailTab::Text, "Text");
        ui.selectable_value(&mut *tab, DetailTab::Json, "JSON");
        ui.selectable_value(&mut *tab, DetailTab::Hex, "Hex");
        ui.selectable_value(&mut *tab, DetailTab::Base64, "Base64");
        ui.selectable_value(&mut *tab, DetailTab::Protocol, "Protocol")
            .on_hover_text("What the application protocol (MQTT, Socket.IO, STOMP…) carries");
        ui.separator();
        if ui.button("Copy").clicked() {
            let text = match *tab {
                DetailTab::Hex => payload
                    .chunks(16)
                    .enumerate()
                    .map(|(i, c)| format::hex_line(i * 16, c))
                    .collect::<Vec<_>>()
                    .join("\n"),
                DetailTab::Base64 => base64::engine::general_purpose::STANDARD.encode(&payload),
                _ => String::from_utf8_lossy(&payload).into_owned(),
            };
            cx.push(Command::CopyText(text));
        }
        if ui.button("Save payload as…").clicked() {
            cx.push(Command::SavePayload(index));
        }
    });
    ui.separator();
    let shown = payload
        .get(..payload.len().min(MAX_TEXT_VIEW_BYTES))
        .unwrap_or(&payload);
    match *tab {
        DetailTab::Text if m.opcode == OpCode::Close => close_text_ui(ui, m.close_code, &payload),
        DetailTab::Text => {
            egui::ScrollArea::vertical().id_salt("detail-text").show(ui, |ui| {
                text_with_invalid_utf8_ui(ui, shown);
                if shown.len() < payload.len() {
                    ui.weak(format!(
                        "… {} more bytes (see the hex view)",
                        payload.len() - shown.len()
                    ));
                }
            });
        }
        DetailTab::Json => json_ui(ui, shown),
        DetailTab::Hex => hex_ui(ui, &payload),
        DetailTab::Protocol => protocol_ui(cx.model, ui, index),
        DetailTab::Base64 => {
            let text = base64::engine::general_purpose::STANDARD.encode(shown);
            egui::ScrollArea::vertical().id_salt("detail-b64").show(ui, |ui| {
                ui.add(egui::Label::new(egui::RichText::new(text).monospace()).wrap());
            });
        }
    }
}

/// The message as its application protocol sees it: the summary, the decoded tree (nested
/// MessagePack/CBOR/protobuf values included) and the findings about its data.
fn protocol_ui(model: &Model, ui: &mut egui::Ui, index: u32) {
    let mut apps = model.view.apps.borrow_mut();
    let decoded = apps.full(&model.store, index);
    let findings = apps.findings(&model.store, index).to_vec();
    let conn = model.store.messages.get(index as usize).map(|m| m.conn);
    let carried = conn.and_then(|c| apps.protocol_of(c));
    let not_kept = apps.trees_not_kept;
    drop(apps);
    egui::ScrollArea::vertical().id_salt("detail-protocol").show(ui, |ui| {
        if not_kept > 0 {
            ui.colored_label(
                theme::WARNING,
                format!(
                    "{not_kept} decoded trees were not kept (over {} MiB); they are decoded again when selected",
                    crate::gui::app_decode::MAX_KEPT_FIELD_BYTES >> 20
                ),
            );
        }
        for f in &findings {
            ui.colored_label(theme::ERROR, format!("{}: {}", f.kind.slug(), f.detail))
                .on_hover_text(f.kind.explanation());
        }
        let Some(d) = decoded else {
            ui.weak(match carried {
                Some(p) => format!(
                    "This message carries nothing {} decodes (a control frame or a lost part).",
                    p.id()
                ),
                None => "No application protocol recognised on this connection. Right-click the \
                         connection in the strip above and choose Decode as… to pick one."
                    .to_owned(),
            });
            return;
        };
        ui.horizontal(|ui| {
            ui.label(egui::RichText::new(d.protocol.id()).strong());
            ui.label(egui::RichText::new(&d.summary).monospace());
        });
        ui.separator();
        let mut budget = MAX_JSON_NODES;
        match &d.fields {
            serde_json::Value::Object(map) => {
                for (k, v) in map {
                    json_tree_ui(ui, k, v, &mut budget);
                }
            }
            other => json_tree_ui(ui, "(value)", other, &mut budget),
        }
        if budget == 0 {
            ui.weak("… (tree cut at 5000 nodes)");
        }
    });
}

/// A close frame's payload as what it means: the two status bytes as a code with its name,
/// then the reason (only the reason is UTF-8 text, RFC 6455 §5.5.1).
fn close_text_ui(ui: &mut egui::Ui, code: Option<u16>, payload: &[u8]) {
    match (code, payload.get(..2)) {
        (Some(code), Some(status)) => {
            ui.label(format!(
                "status code {code} {} (bytes {:02x} {:02x})",
                close_code_name(code),
                status.first().copied().unwrap_or(0),
                status.get(1).copied().unwrap_or(0)
            ));
            let reason = payload.get(2..).unwrap_or_default();
            if reason.is_empty() {
                ui.weak("no reason");
            } else {
                ui.label("reason:");
                text_with_invalid_utf8_ui(ui, reason);
            }
        }
        _ if payload.is_empty() => {
            ui.weak("empty close frame: no status code (read as 1005)");
        }
        _ => {
            ui.colored_label(
                theme::ERROR,
                format!("a {}-byte close payload cannot hold a status code", payload.len()),
            );
        }
    }
}

/// Text with every invalid UTF-8 byte shown as `\xNN` on a red background.
pub fn text_with_invalid_utf8_ui(ui: &mut egui::Ui, payload: &[u8]) {
    let mut job = egui::text::LayoutJob::default();
    let normal = egui::TextFormat {
        font_id: egui::FontId::monospace(13.0),
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let bad = egui::TextFormat {
        background: theme::ERROR,
        color: egui::Color32::WHITE,
        ..normal.clone()
    };
    let mut invalid = 0usize;
    for chunk in payload.utf8_chunks() {
        job.append(chunk.valid(), 0.0, normal.clone());
        for b in chunk.invalid() {
            invalid += 1;
            job.append(&format!("\\x{b:02x}"), 0.0, bad.clone());
        }
    }
    if invalid > 0 {
        ui.colored_label(
            theme::ERROR,
            format!("{invalid} byte(s) are not valid UTF-8 (marked red)"),
        );
    }
    job.wrap.max_width = ui.available_width();
    ui.label(job);
}

fn json_ui(ui: &mut egui::Ui, payload: &[u8]) {
    match serde_json::from_slice::<serde_json::Value>(payload) {
        Err(e) => {
            ui.weak(format!("not JSON: {e}"));
        }
        Ok(value) => {
            egui::ScrollArea::vertical().id_salt("detail-json").show(ui, |ui| {
                egui::CollapsingHeader::new("Tree").default_open(true).show(ui, |ui| {
                    let mut budget = MAX_JSON_NODES;
                    json_tree_ui(ui, "(root)", &value, &mut budget);
                    if budget == 0 {
                        ui.weak("… (tree cut at 5000 nodes)");
                    }
                });
                egui::CollapsingHeader::new("Pretty")
                    .default_open(false)
                    .show(ui, |ui| {
                        // Laid out from the text itself: keys in the order sent, numbers as
                        // spelled.
                        let text = String::from_utf8_lossy(payload);
                        let pretty =
                            crate::gui::json_layout::relayout(&text, crate::gui::json_layout::Layout::Pretty(2))
                                .unwrap_or_else(|e| e);
                        ui.label(egui::RichText::new(pretty).monospace());
                    });
            });
        }
    }
}

fn json_tree_ui(ui: &mut egui::Ui, key: &str, value: &serde_json::Value, budget: &mut usize) {
    if *budget == 0 {
        return;
    }
    *budget -= 1;
    match value {
        serde_json::Value::Object(map) => {
            egui::CollapsingHeader::new(format!("{key} {{{}}}", map.len()))
                .id_salt(ui.scope_id().with(key).with(*budget))
                .default_open(map.len() <= 20)
                .show(ui, |ui| {
                    for (k, v) in map {
                        json_tree_ui(ui, k, v, budget);
                    }
                });
        }
        serde_json::Value::Array(items) => {
            egui::CollapsingHeader::new(format!("{key} [{}]", items.len()))
                .id_salt(ui.scope_id().with(key).with(*budget))
                .default_open(items.len() <= 20)
                .show(ui, |ui| {
                    for (i, v) in items.iter().enumerate() {
                        json_tree_ui(ui, &i.to_string(), v, budget);
                    }
                });
        }
        scalar => {
            ui.label(egui::RichText::new(format!("{key}: {scalar}")).monospace());
        }
    }
}

fn hex_ui(ui: &mut egui::Ui, payload: &[u8]) {
    let lines = payload.len().div_ceil(16);
    let row_height = ui.text_style_height(&egui::TextStyle::Monospace);
    // Both ways: a dump line (offset, 16 bytes, their ASCII) is wider than a narrow column
    // and must not wrap its ASCII onto the next line.
    egui::ScrollArea::both()
        .id_salt("detail-hex")
        .show_rows(ui, row_height, lines, |ui, range| {
            for line in range {
                let start = line * 16;
                let chunk = payload.get(start..(start + 16).min(payload.len())).unwrap_or(&[]);
                ui.add(egui::Label::new(egui::RichText::new(format::hex_line(start, chunk)).monospace()).extend());
            }
        });
}

/// A label that wraps at the width it is given.
fn wrapped(ui: &mut egui::Ui, text: String) -> egui::Response {
    ui.add(egui::Label::new(text).wrap())
}
