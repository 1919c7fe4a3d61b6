//! The message table: virtualised (only visible rows are laid out), sticks to the bottom
//! while loading unless the user scrolls away.

use egui_extras::{Column, TableBuilder};

use crate::analysis::event::Direction;
use crate::analysis::ws::close::describe_close;
use crate::analysis::ws::frame::OpCode;
use crate::gui::app::FramescopeApp;
use crate::gui::commands::Command;
use crate::gui::settings::TimeMode;
use crate::gui::{format, theme};

pub fn messages_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    ui.heading("Messages");
    let selected = app.selection.message;
    let scroll_to = if app.scroll_to_selected {
        app.scroll_to_selected = false;
        selected.and_then(|m| app.view.position_of(m))
    } else {
        None
    };
    let mut clicked = None;
    // Selectable labels would take the clicks meant for the row.
    ui.style_mut().interaction.selectable_labels = false;
    let mut table = TableBuilder::new(ui)
        .id_salt("messages-table")
        .striped(true)
        // Fill the panel, never push it bigger than the size it was given.
        .min_scrolled_height(40.0)
        .auto_shrink([false, false])
        .resizable(true)
        .sense(egui::Sense::click())
        .stick_to_bottom(app.is_loading())
        // Narrow enough that the preview keeps room when the live pane is docked beside.
        .column(Column::initial(56.0).at_least(40.0))
        .column(Column::initial(120.0).at_least(60.0))
        .column(Column::initial(36.0).at_least(30.0))
        .column(Column::initial(72.0).at_least(50.0))
        .column(Column::initial(64.0).at_least(40.0))
        .column(Column::initial(64.0).at_least(40.0))
        .column(Column::initial(46.0).at_least(30.0))
        .column(Column::remainder().at_least(100.0).clip(true));
    if let Some(pos) = scroll_to {
        table = table.scroll_to_row(pos, Some(egui::Align::Center));
    }
    table
        .header(20.0, |mut h| {
            for title in ["#", "time", "dir", "opcode", "wire", "decoded", "frames", "preview"] {
                h.col(|ui| {
                    ui.strong(title);
                });
            }
        })
        .body(|body| {
            body.rows(18.0, app.view.rows.len(), |mut row| {
                let Some(&index) = app.view.rows.get(row.index()) else {
                    return;
                };
                let Some(m) = app.store.messages.get(index as usize) else {
                    return;
                };
                row.set_selected(selected == Some(index));
                row.col(|ui| {
                    ui.label(index.to_string());
                });
                row.col(|ui| {
                    let origin = match app.settings.time_mode {
                        TimeMode::Relative => app.store.connection(m.conn).map(|c| c.info.first_ts),
                        TimeMode::Absolute => None,
                    };
                    ui.label(format::time(m.ts, origin));
                });
                row.col(|ui| {
                    let (text, color, tip) = match m.dir {
                        Direction::ClientToServer => ("c2s", theme::CLIENT_TO_SERVER, "client to server"),
                        Direction::ServerToClient => ("s2c", theme::SERVER_TO_CLIENT, "server to client"),
                    };
                    ui.colored_label(color, text).on_hover_text(tip);
                });
                row.col(|ui| {
                    let mut text = m.opcode.name().into_owned();
                    if let Some(code) = m.close_code {
                        text = format!("close {code}");
                    }
                    ui.label(
                        egui::RichText::new(text)
                            .color(egui::Color32::WHITE)
                            .background_color(theme::opcode_color(m.opcode)),
                    );
                });
                row.col(|ui| {
                    ui.label(format::bytes(m.wire_len));
                });
                row.col(|ui| {
                    let mut text = format::bytes(m.len);
                    if m.compressed {
                        text.push_str(" z");
                    }
                    ui.label(text).on_hover_text(if m.compressed {
                        "permessage-deflate compressed"
                    } else {
                        ""
                    });
                });
                row.col(|ui| {
                    ui.label(m.frames.to_string());
                });
                row.col(|ui| {
                    let payload = app.store.payload(m);
                    if !m.decoded {
                        ui.colored_label(theme::WARNING, "(not inflated) ");
                    }
                    let text = match m.opcode {
                        OpCode::Close => {
                            let reason = m.close_reason(payload).unwrap_or_default();
                            describe_close(m.close_code, &format::preview(reason.as_bytes(), 100))
                        }
                        _ => format::preview(payload, 120),
                    };
                    ui.label(text);
                });
                if row.response().clicked() {
                    clicked = Some(index);
                }
            });
        });
    if let Some(index) = clicked {
        app.push(Command::SelectMessage(Some(index)));
    }
}
