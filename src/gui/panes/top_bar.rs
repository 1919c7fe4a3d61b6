//! Menu bar and filter bar.

use crate::analysis::event::Direction;
use crate::gui::app::FramescopeApp;
use crate::gui::commands::{Command, ExportFormat};
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
                ui.menu_button("Export shown messages", |ui| {
                    for format in [ExportFormat::JsonLines, ExportFormat::Csv, ExportFormat::Har] {
                        if ui.button(format.label()).clicked() {
                            app.push(Command::Export(format));
                            ui.close();
                        }
                    }
                });
                if ui
                    .button("Save shown connections as pcapng…")
                    .on_hover_text("Only their packets, with the TLS keys that decrypt them embedded")
                    .clicked()
                {
                    app.push(Command::ExportConnectionsPcapng);
                    ui.close();
                }
                ui.menu_button("TLS key log", |ui| {
                    if let Some(command) = super::tls_keys::keylog_row(ui, app.settings.tls_keylog.as_deref()) {
                        app.push(command);
                        ui.close();
                    }
                });
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
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    app.push(Command::Quit);
                    ui.close();
                }
            });
            ui.menu_button("View", |ui| {
                if ui.checkbox(&mut app.settings.dark_mode, "Dark theme").changed() {
                    ui.close();
                }
                ui.separator();
                ui.label("Time");
                for mode in TimeMode::ALL {
                    ui.radio_value(&mut app.settings.time_mode, mode, mode.label());
                }
                ui.separator();
                ui.menu_button("Columns", |ui| {
                    crate::gui::panes::messages::column_chooser_ui(&mut app.settings.columns, ui);
                });
            });
            ui.menu_button("Go", |ui| {
                for (label, shortcut, command) in [
                    ("Next mark", "Ctrl+Shift+N", Command::JumpToMark(true)),
                    ("Previous mark", "Ctrl+Shift+B", Command::JumpToMark(false)),
                ] {
                    if ui.add(egui::Button::new(label).shortcut_text(shortcut)).clicked() {
                        app.push(command);
                        ui.close();
                    }
                }
                ui.weak("Home/End: first/last row; Ctrl+Home/End: of the selected connection; Ctrl+M marks");
            });
            ui.menu_button("Tools", |ui| {
                if ui.button("Frame builder").clicked() {
                    app.builder.open = !app.builder.open;
                    ui.close();
                }
                crate::gui::panes::scenarios::tools_menu_ui(app, ui);
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
                ui.label(format!(
                    "framescope {} — WebSocket inspector and traffic analyser",
                    crate::build_info::VERSION_WITH_COMMIT
                ));
                ui.label("Ctrl+O open, Ctrl+F filter, arrows and PgUp/PgDn move, Esc clears the selection");
                ui.label("Drop a .pcap or .pcapng file on the window to open it.");
            });
            if let Some(source) = &app.source {
                ui.separator();
                ui.weak(source.label());
            }
        });
    });
    egui::Panel::top("filter").show(ui, |ui| {
        display_filter_ui(app, ui);
        filter_bar_ui(app, ui);
    });
}

/// The display filter: the query language of `analyze --filter`, checked as you type (the
/// mistake's column shown under the field), applied with Enter, with completions, recent
/// filters and saved filter buttons.
fn display_filter_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    let draft_check = if app.display_draft.trim().is_empty() {
        Ok(())
    } else {
        crate::query::Filter::compile(&app.display_draft).map(|_| ())
    };
    let mut apply = None;
    let mut completion = None;
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Display filter");
        let fill = match (&draft_check, app.display_draft.trim().is_empty()) {
            (_, true) => None,
            (Ok(()), false) => Some(egui::Color32::from_rgba_unmultiplied(70, 180, 90, 40)),
            (Err(_), false) => Some(egui::Color32::from_rgba_unmultiplied(225, 70, 60, 50)),
        };
        let mut edit = egui::TextEdit::singleline(&mut app.display_draft)
            .id(egui::Id::unique("display-filter"))
            .hint_text("e.g. opcode == close || json.type == \"order.paid\"  (Enter applies)")
            .desired_width((ui.available_width() - 330.0 - 95.0 * app.settings.saved_filters.len() as f32).max(220.0));
        if let Some(fill) = fill {
            edit = edit.background_color(fill);
        }
        let output = edit.show(ui);
        let response = (*output.response).clone().labelled_by(label.id);
        let cursor = output
            .cursor_range
            .map(|r| r.primary.index)
            .and_then(|chars| app.display_draft.char_indices().nth(chars.0).map(|(b, _)| b))
            .unwrap_or(app.display_draft.len());
        if response.has_focus() || response.lost_focus() {
            completion = Some(crate::query::suggest(&app.display_draft, cursor));
        }
        if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            apply = Some(app.display_draft.clone());
        }
        if ui
            .add_enabled(draft_check.is_ok(), egui::Button::new("Apply"))
            .clicked()
        {
            apply = Some(app.display_draft.clone());
        }
        if !app.display_filter.is_empty() && ui.button("Clear").clicked() {
            apply = Some(String::new());
        }
        ui.menu_button("Recent", |ui| {
            if app.settings.recent_filters.is_empty() {
                ui.label("(none yet)");
            }
            for f in app.settings.recent_filters.clone() {
                if ui.button(&f).clicked() {
                    apply = Some(f);
                    ui.close();
                }
            }
        });
        if draft_check.is_ok()
            && !app.display_draft.trim().is_empty()
            && ui
                .button("Save")
                .on_hover_text("Keep this filter as a button")
                .clicked()
        {
            let expression = app.display_draft.trim().to_owned();
            let name: String = expression.chars().take(24).collect();
            app.settings.saved_filters.retain(|f| f.expression != expression);
            app.settings
                .saved_filters
                .push(crate::gui::settings::SavedFilter { name, expression });
        }
        ui.separator();
        let mut remove = None;
        for (i, f) in app.settings.saved_filters.iter().enumerate() {
            let on = app.display_filter.trim() == f.expression;
            let response = ui
                .add(egui::Button::selectable(on, &f.name))
                .on_hover_text(format!("{}\n(right-click to remove)", f.expression));
            if response.clicked() {
                apply = Some(if on { String::new() } else { f.expression.clone() });
            }
            response.context_menu(|ui| {
                if ui.button("Remove this button").clicked() {
                    remove = Some(i);
                    ui.close();
                }
            });
        }
        if let Some(i) = remove {
            app.settings.saved_filters.remove(i);
        }
        ui.separator();
        ui.label(format!(
            "{} of {} messages",
            app.view.rows.len(),
            app.store.messages.len()
        ));
    });
    // Under the field: the mistake, or the completions for the word at the cursor.
    if let Err(e) = &draft_check {
        ui.horizontal(|ui| {
            ui.colored_label(
                crate::gui::theme::ERROR,
                format!("column {}: {}", e.column + 1, e.message),
            )
            .on_hover_text(egui::RichText::new(e.render(&app.display_draft)).monospace());
        });
    }
    if let Some(c) = completion.filter(|c| !c.candidates.is_empty()) {
        let take_first = ui.input(|i| i.key_pressed(egui::Key::Tab));
        ui.horizontal_wrapped(|ui| {
            ui.weak("complete:");
            for (k, candidate) in c.candidates.iter().take(12).enumerate() {
                if ui.small_button(candidate).clicked() || (take_first && k == 0) {
                    let mut next = app.display_draft.clone();
                    next.replace_range(c.replace.clone(), candidate);
                    app.display_draft = next;
                    ui.memory_mut(|m| m.request_focus(egui::Id::unique("display-filter")));
                }
            }
        });
    }
    if let Some(expr) = apply {
        app.display_draft = expr.clone();
        app.push(Command::SetDisplayFilter(expr));
    }
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
