//! The capture window: interface picker, BPF filter checked as it is typed, start/stop,
//! counters, and saving the recording as pcapng.

use std::sync::atomic::Ordering;

use crate::capture::live::check_filter;
use crate::gui::commands::Command;
use crate::gui::model::{CapturePanel, Cx};
use crate::gui::{format, theme};

pub fn capture_window_ui(cx: &mut Cx<'_>, capture: &mut CapturePanel, ctx: &egui::Context) {
    if !capture.open {
        return;
    }
    let mut open = true;
    super::window(ctx, "Capture")
        .open(&mut open)
        .default_width(520.0)
        .show(ctx, |ui| {
            let capturing = cx.feed.as_ref().is_some_and(|j| j.live.is_some());
            ui.horizontal(|ui| {
                let label = ui.label("Interface");
                let selected = capture.interface.clone();
                let interfaces = capture.interfaces.clone();
                let shown = match &interfaces {
                    Some(Ok(list)) => list.iter().find(|i| i.name == selected).map(|i| i.label()),
                    _ => None,
                };
                egui::ComboBox::from_id_salt("capture-interface")
                    .selected_text(shown.unwrap_or_else(|| {
                        if selected.is_empty() {
                            "(choose)".to_owned()
                        } else {
                            selected.clone()
                        }
                    }))
                    .width(360.0)
                    .show_ui(ui, |ui| {
                        if let Some(Ok(list)) = &interfaces {
                            for iface in list {
                                ui.selectable_value(&mut capture.interface, iface.name.clone(), iface.label());
                            }
                        }
                    })
                    .response
                    .labelled_by(label.id);
                if ui.button("Refresh").clicked() {
                    cx.push(Command::RefreshInterfaces);
                }
            });
            if let Some(Err(e)) = &capture.interfaces {
                ui.colored_label(theme::ERROR, format!("cannot list interfaces: {e}"));
            }
            ui.horizontal(|ui| {
                let label = ui.label("Capture filter (BPF)");
                ui.add(
                    egui::TextEdit::singleline(&mut capture.filter)
                        .hint_text("e.g. tcp port 8080")
                        .desired_width(300.0),
                )
                .labelled_by(label.id);
            });
            if capture.filter_check.as_ref().is_none_or(|(f, _)| *f != capture.filter) {
                let verdict = check_filter(&capture.filter);
                capture.filter_check = Some((capture.filter.clone(), verdict));
            }
            if let Some(command) = super::tls_keys::keylog_row(ui, cx.settings.tls_keylog.as_deref(), cx.keylog_present)
            {
                cx.push(command);
            }
            let filter_ok = match capture.filter_check.as_ref().map(|(_, v)| v) {
                Some(Err(e)) => {
                    ui.colored_label(theme::ERROR, format!("filter: {e}"));
                    false
                }
                _ => true,
            };
            ui.horizontal(|ui| {
                if capturing {
                    if ui.button("Stop").clicked() {
                        cx.push(Command::StopFeed);
                    }
                } else {
                    let can_start = filter_ok && !capture.interface.is_empty();
                    if ui.add_enabled(can_start, egui::Button::new("Start")).clicked() {
                        cx.push(Command::StartCapture);
                    }
                }
                let can_save = !capturing && capture.recording.is_some();
                if ui
                    .add_enabled(can_save, egui::Button::new("Save capture as .pcapng…"))
                    .clicked()
                {
                    cx.push(Command::SaveRecording);
                }
            });
            if let Some(stats) = cx.feed.as_ref().and_then(|j| j.live.clone()) {
                egui::Grid::new("capture-counters").num_columns(2).show(ui, |ui| {
                    ui.label("packets");
                    ui.label(stats.packets.load(Ordering::Relaxed).to_string());
                    ui.end_row();
                    ui.label("bytes");
                    ui.label(format::bytes(stats.bytes.load(Ordering::Relaxed)));
                    ui.end_row();
                    ui.label("dropped by the kernel");
                    ui.label(stats.kernel_dropped.load(Ordering::Relaxed).to_string());
                    ui.end_row();
                    ui.label("dropped by the interface");
                    ui.label(stats.interface_dropped.load(Ordering::Relaxed).to_string());
                    ui.end_row();
                });
            }
            if let Some(status) = &cx.status
                && status.is_error
                && status.text.contains("not allowed to capture")
            {
                ui.separator();
                ui.colored_label(theme::ERROR, &status.text);
            }
        });
    if !open {
        capture.open = false;
    }
}
