//! Menu bar and filter bar.

use crate::analysis::event::Direction;
use crate::gui::commands::{Command, ExportFormat, SettingsChange};
use crate::gui::model::{Cx, TopBarState};
use crate::gui::settings::TimeMode;
use crate::store::OpcodeFilter;

pub fn top_bar_ui(cx: &mut Cx<'_>, state: &mut TopBarState, ui: &mut egui::Ui) {
    egui::Panel::top("menu").show(ui, |ui| {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.add(egui::Button::new("Open…").shortcut_text("Ctrl+O")).clicked() {
                    cx.push(Command::OpenDialog);
                    ui.close();
                }
                if ui.button("Capture from an interface…").clicked() {
                    cx.push(Command::ToggleCaptureWindow);
                    ui.close();
                }
                if ui.button("Connect to a WebSocket…").clicked() {
                    cx.push(Command::ToggleConnectWindow);
                    ui.close();
                }
                ui.menu_button("Export shown messages", |ui| {
                    for format in [ExportFormat::JsonLines, ExportFormat::Csv, ExportFormat::Har] {
                        if ui.button(format.label()).clicked() {
                            cx.push(Command::Export(format));
                            ui.close();
                        }
                    }
                });
                if ui
                    .button("Save shown connections as pcapng…")
                    .on_hover_text("Only their packets, with the TLS keys that decrypt them embedded")
                    .clicked()
                {
                    cx.push(Command::ExportConnectionsPcapng);
                    ui.close();
                }
                ui.menu_button("TLS key log", |ui| {
                    if let Some(command) =
                        super::tls_keys::keylog_row(ui, cx.settings.tls_keylog.as_deref(), cx.keylog_present)
                    {
                        cx.push(command);
                        ui.close();
                    }
                });
                ui.menu_button("Open recent", |ui| {
                    if cx.settings.recent_files.is_empty() {
                        ui.label("(none yet)");
                    }
                    for path in cx.settings.recent_files.clone() {
                        if ui.button(path.display().to_string()).clicked() {
                            cx.push(Command::Open(path));
                            ui.close();
                        }
                    }
                });
                ui.separator();
                if ui.add(egui::Button::new("Quit").shortcut_text("Ctrl+Q")).clicked() {
                    cx.push(Command::Quit);
                    ui.close();
                }
            });
            ui.menu_button("View", |ui| {
                let mut dark = cx.settings.dark_mode;
                if ui.checkbox(&mut dark, "Dark theme").changed() {
                    cx.push(Command::Settings(SettingsChange::DarkMode(dark)));
                    ui.close();
                }
                ui.separator();
                ui.label("Time");
                let mut time_mode = cx.settings.time_mode;
                for mode in TimeMode::ALL {
                    ui.radio_value(&mut time_mode, mode, mode.label());
                }
                if time_mode != cx.settings.time_mode {
                    cx.push(Command::Settings(SettingsChange::TimeMode(time_mode)));
                }
                ui.separator();
                ui.menu_button("Columns", |ui| {
                    let mut columns = cx.settings.columns;
                    crate::gui::panes::messages::column_chooser_ui(&mut columns, ui);
                    if columns != cx.settings.columns {
                        cx.push(Command::Settings(SettingsChange::Columns(columns)));
                    }
                });
            });
            ui.menu_button("Go", |ui| {
                for (label, shortcut, command) in [
                    ("Next mark", "Ctrl+Shift+N", Command::JumpToMark(true)),
                    ("Previous mark", "Ctrl+Shift+B", Command::JumpToMark(false)),
                ] {
                    if ui.add(egui::Button::new(label).shortcut_text(shortcut)).clicked() {
                        cx.push(command);
                        ui.close();
                    }
                }
                ui.weak("Home/End: first/last row; Ctrl+Home/End: of the selected connection; Ctrl+M marks");
            });
            ui.menu_button("Tools", |ui| {
                if ui.button("Frame builder").clicked() {
                    cx.push(Command::ToggleBuilder);
                    ui.close();
                }
                crate::gui::panes::scenarios::tools_menu_ui(cx, ui);
            });
            ui.menu_button("Help", |ui| {
                ui.menu_button("Samples", |ui| {
                    for (i, lesson) in crate::gui::lessons::LESSONS.iter().enumerate() {
                        if ui.button(lesson.title).clicked() {
                            cx.push(Command::OpenLesson(i));
                            ui.close();
                        }
                    }
                });
                if ui.button("Reference: opcodes and close codes").clicked() {
                    cx.push(Command::ShowReference(
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
            if let Some(source) = &cx.source {
                ui.separator();
                ui.weak(source.label());
            }
        });
    });
    egui::Panel::top("filter").show(ui, |ui| {
        display_filter_ui(cx, state, ui);
        filter_bar_ui(cx, state, ui);
    });
}

/// The display filter: the query language of `analyze --filter`, checked as you type (the
/// mistake's column shown under the field), applied with Enter, with completions, recent
/// filters and saved filter buttons.
fn display_filter_ui(cx: &mut Cx<'_>, state: &mut TopBarState, ui: &mut egui::Ui) {
    let draft_check = if state.display_draft.trim().is_empty() {
        Ok(())
    } else {
        crate::query::Filter::compile(&state.display_draft).map(|_| ())
    };
    let mut apply = None;
    let mut completion = None;
    ui.horizontal_wrapped(|ui| {
        let label = ui.label("Display filter");
        let fill = match (&draft_check, state.display_draft.trim().is_empty()) {
            (_, true) => None,
            (Ok(()), false) => Some(egui::Color32::from_rgba_unmultiplied(70, 180, 90, 40)),
            (Err(_), false) => Some(egui::Color32::from_rgba_unmultiplied(225, 70, 60, 50)),
        };
        let has_draft = !state.display_draft.trim().is_empty();
        let mut edit = egui::TextEdit::singleline(&mut state.display_draft)
            .id(egui::Id::unique("display-filter"))
            .hint_text("e.g. opcode == close || json.type == \"order.paid\"  (Enter applies)")
            // Room kept for Apply, Recent, the saved filters, the quick filters and the count
            // (and Clear and Save once there is a filter), so the count stays on this row.
            .desired_width(
                (ui.available_width()
                    - 330.0
                    - if has_draft { 120.0 } else { 0.0 }
                    - 95.0 * cx.settings.saved_filters.len() as f32)
                    .max(220.0),
            );
        if let Some(fill) = fill {
            edit = edit.background_color(fill);
        }
        let output = edit.show(ui);
        let response = (*output.response).clone().labelled_by(label.id);
        let cursor = output
            .cursor_range
            .map(|r| r.primary.index)
            .and_then(|chars| state.display_draft.char_indices().nth(chars.0).map(|(b, _)| b))
            .unwrap_or(state.display_draft.len());
        if response.has_focus() || response.lost_focus() {
            completion = Some(crate::query::suggest(&state.display_draft, cursor));
        }
        if response.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            apply = Some(state.display_draft.clone());
        }
        if ui
            .add_enabled(draft_check.is_ok(), egui::Button::new("Apply"))
            .clicked()
        {
            apply = Some(state.display_draft.clone());
        }
        if !cx.display_filter.is_empty() && ui.button("Clear").clicked() {
            apply = Some(String::new());
        }
        ui.menu_button("Recent", |ui| {
            if cx.settings.recent_filters.is_empty() {
                ui.label("(none yet)");
            }
            for f in cx.settings.recent_filters.clone() {
                if ui.button(&f).clicked() {
                    apply = Some(f);
                    ui.close();
                }
            }
        });
        if draft_check.is_ok()
            && !state.display_draft.trim().is_empty()
            && ui
                .button("Save")
                .on_hover_text("Keep this filter as a button")
                .clicked()
        {
            let expression = state.display_draft.trim().to_owned();
            let name: String = expression.chars().take(24).collect();
            let mut saved = cx.settings.saved_filters.clone();
            saved.retain(|f| f.expression != expression);
            saved.push(crate::gui::settings::SavedFilter { name, expression });
            cx.push(Command::Settings(SettingsChange::SavedFilters(saved)));
        }
        ui.separator();
        let mut remove = None;
        for (i, f) in cx.settings.saved_filters.iter().enumerate() {
            let on = cx.display_filter.trim() == f.expression;
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
            let mut saved = cx.settings.saved_filters.clone();
            saved.remove(i);
            cx.push(Command::Settings(SettingsChange::SavedFilters(saved)));
        }
        ui.separator();
        // One line: a count broken over two rows pushes the whole bar down.
        ui.add(
            egui::Label::new(format!(
                "{} of {} messages",
                cx.view.rows.len(),
                cx.store.messages.len()
            ))
            .extend(),
        );
    });
    // Under the field: the mistake, or the completions for the word at the cursor.
    if let Err(e) = &draft_check {
        ui.horizontal(|ui| {
            ui.colored_label(
                crate::gui::theme::ERROR,
                format!("column {}: {}", e.column + 1, e.message),
            )
            .on_hover_text(egui::RichText::new(e.render(&state.display_draft)).monospace());
        });
    }
    if let Some(c) = completion.filter(|c| !c.candidates.is_empty()) {
        let take_first = ui.input(|i| i.key_pressed(egui::Key::Tab));
        ui.horizontal_wrapped(|ui| {
            ui.weak("complete:");
            for (k, candidate) in c.candidates.iter().take(12).enumerate() {
                if ui.small_button(candidate).clicked() || (take_first && k == 0) {
                    let mut next = state.display_draft.clone();
                    next.replace_range(c.replace.clone(), candidate);
                    state.display_draft = next;
                    ui.memory_mut(|m| m.request_focus(egui::Id::unique("display-filter")));
                }
            }
        });
    }
    if let Some(expr) = apply {
        state.display_draft = expr.clone();
        cx.push(Command::SetDisplayFilter(expr));
    }
}

fn filter_bar_ui(cx: &mut Cx<'_>, state: &mut TopBarState, ui: &mut egui::Ui) {
    ui.horizontal_wrapped(|ui| {
        let mut filter = cx.filter.clone();
        let f = &mut filter;
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
        if state.focus_filter {
            response.request_focus();
            state.focus_filter = false;
        }
        ui.checkbox(&mut f.regex, "Regex");
        if !f.is_empty() && ui.button("Clear filter").clicked() {
            *f = Default::default();
        }
        if let Some(err) = &cx.view.error {
            ui.colored_label(crate::gui::theme::ERROR, format!("regex: {err}"));
        }
        if filter != cx.filter {
            cx.push(Command::SetFilter(filter));
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
