//! Progress, cancel, and what happened last.

use std::sync::atomic::Ordering;

use crate::gui::app::FramescopeApp;
use crate::gui::commands::Command;
use crate::gui::theme;

pub fn status_bar_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            if let Some(stats) = app.feed.as_ref().and_then(|j| j.live.clone()) {
                ui.colored_label(theme::ERROR, "capturing");
                ui.label(format!(
                    "{} packets, {}, {} dropped by the kernel, {} by the interface",
                    stats.packets.load(Ordering::Relaxed),
                    crate::gui::format::bytes(stats.bytes.load(Ordering::Relaxed)),
                    stats.kernel_dropped.load(Ordering::Relaxed),
                    stats.interface_dropped.load(Ordering::Relaxed)
                ));
                if ui.button("Stop").clicked() {
                    app.push(Command::StopFeed);
                }
            } else if app.clients.running().next().is_some() {
                let n = app.clients.running().count();
                ui.colored_label(
                    theme::OK,
                    if n == 1 {
                        "1 live connection".to_owned()
                    } else {
                        format!("{n} live connections")
                    },
                );
                if ui
                    .button(if n == 1 { "Disconnect" } else { "Disconnect all" })
                    .clicked()
                {
                    for tab in app.clients.running() {
                        if let Some(s) = &tab.session {
                            s.client.abort();
                        }
                    }
                }
            } else if let Some((fraction, waits)) = app
                .feed
                .as_ref()
                .map(|j| (j.fraction(), j.progress.full_channel_waits.load(Ordering::Relaxed)))
            {
                ui.add(
                    egui::ProgressBar::new(fraction)
                        .desired_width(240.0)
                        .text(format!("{:.0}%", fraction * 100.0)),
                );
                if ui.button("Cancel").clicked() {
                    app.push(Command::StopFeed);
                }
                if waits > 0 {
                    ui.weak(format!("loader waited for the window {waits}×"));
                }
            }
            match &app.status {
                Some(s) if s.is_error => {
                    ui.colored_label(theme::ERROR, &s.text);
                }
                Some(s) => {
                    ui.label(&s.text);
                }
                None => {
                    ui.weak("Open a capture (Ctrl+O) or drop a .pcap/.pcapng file here.");
                }
            }
        });
    });
}
