//! Menu bar and filter bar.

use crate::analysis::event::Direction;
use crate::gui::app::FramescopeApp;
use crate::gui::commands::Command;
use crate::gui::settings::TimeMode;
use crate::store::OpcodeFilter;

pub fn top_bar_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    egui::Panel::top("menu").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.add(egui::Button::new("Open…").shortcut_text("Ctrl+O")).clicked() {
                    app.push(Command::OpenDialog);
                    ui.close();
                }
                if ui.button("Capture from an interface…").clicked() {
                    app.push(Command::ToggleCaptureWindow);
                    ui.close();
                }
                if ui.button("Connect to a WebSocket…").clicked() {
                    app.push(Command::ToggleConnectWindow);
                    ui.close();
                }
                ui.menu_button("Open recent", |ui| {
                    if app.settings.recent_files.is_empty() {
                        ui.label("(none yet)");
                    }
                    for path in app.settings.recent_files.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            app.push(Command::Open(path));
                            ui.close();
                        }
                    }
                });
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("View", |ui| {
                if ui.checkbox(&mut app.settings.dark_mode, "Dark theme").changed() {
                    ui.close();
                }
                ui.separator();
                ui.radio_value(
                    &mut app.settings.time_mode,
                    TimeMode::Relative,
                    "Time relative to the connection",
                );
                ui.radio_value(&mut app.settings.time_mode, TimeMode::Absolute, "Absolute time (UTC)");
            });
            ui.menu_button("Tools", |ui| {
                if ui.button("Frame builder").clicked() {
                    app.builder.open = !app.builder.open;
                    ui.close();
                }
            });
            ui.menu_button("Help", |ui| {
                ui.menu_button("Samples", |ui| {
                    for (i, lesson) in crate::gui::lessons::LESSONS.iter().enumerate() {
                        if ui.button(lesson.title).clicked() {
                            app.push(Command::OpenLesson(i));
                            ui.close();
                        }
                    }
                });
                if ui.button("Reference: opcodes and close codes").clicked() {
                    app.push(Command::ShowReference(
                        crate::gui::panes::reference::ReferenceTopic::Opcodes,
                        None,
                    ));
                    ui.close();
                }
                ui.label("framescope — WebSocket inspector and traffic analyser");
                ui.label("Ctrl+O open, Ctrl+F filter, arrows and PgUp/PgDn move, Esc clears the selection");
                ui.label("Drop a .pcap or .pcapng file on the window to open it.");
            });
            if let Some(source) = &app.source {
                ui.separator();
                ui.weak(source.label());
            }
        });
    });
    egui::Panel::top("filter").show(ui, |ui| filter_bar_ui(app, ui));
}

fn filter_bar_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        let f = &mut app.filter;
        egui::ComboBox::from_label("Direction")
            .selected_text(match f.dir {
                None => "both",
                Some(Direction::ClientToServer) => "client to server",
                Some(Direction::ServerToClient) => "server to client",
            })
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut f.dir, None, "both");
                ui.selectable_value(&mut f.dir, Some(Direction::ClientToServer), "client to server");
                ui.selectable_value(&mut f.dir, Some(Direction::ServerToClient), "server to client");
            });
        egui::ComboBox::from_label("Opcode")
            .selected_text(f.opcode.label())
            .show_ui(ui, |ui| {
                for op in OpcodeFilter::ALL {
                    ui.selectable_value(&mut f.opcode, op, op.label());
                }
            });
        size_field_ui(ui, "Min bytes", &mut f.min_len);
        size_field_ui(ui, "Max bytes", &mut f.max_len);
        let label = ui.label("Filter");
        let edit = egui::TextEdit::singleline(&mut f.text)
            .hint_text(if f.regex {
                "regular expression over payloads"
            } else {
                "text in payloads"
            })
            .desired_width(260.0);
        let response = ui.add(edit).labelled_by(label.id);
        if app.focus_filter {
            response.request_focus();
            app.focus_filter = false;
        }
        ui.checkbox(&mut f.regex, "Regex");
        if !f.is_empty() && ui.button("Clear filter").clicked() {
            *f = Default::default();
        }
        if let Some(err) = &app.view.error {
            ui.colored_label(crate::gui::theme::ERROR, format!("regex: {err}"));
        }
        ui.separator();
        ui.label(format!(
            "{} of {} messages",
            app.view.rows.len(),
            app.store.messages.len()
        ));
    });
}

/// An optional number field: empty means no bound.
fn size_field_ui(ui: &mut egui::Ui, label: &str, value: &mut Option<u64>) {
    let id = ui.scope_id().with(label);
    let mut text = ui
        .data_mut(|d| d.get_temp::<String>(id))
        .unwrap_or_else(|| value.map(|v| v.to_string()).unwrap_or_default());
    let label = ui.label(label);
    let response = ui
        .add(egui::TextEdit::singleline(&mut text).desired_width(60.0))
        .labelled_by(label.id);
    if response.changed() {
        *value = text.trim().parse().ok();
    }
    ui.data_mut(|d| d.insert_temp(id, text));
}
