//! Progress, cancel, and what happened last.

use std::sync::atomic::Ordering;

use crate::gui::commands::Command;
use crate::gui::model::Cx;
use crate::gui::sessions::ClientTabs;
use crate::gui::theme;

pub fn status_bar_ui(cx: &mut Cx<'_>, clients: &ClientTabs, ui: &mut egui::Ui) {
    egui::Panel::bottom("status").show(ui, |ui| {
        ui.horizontal(|ui| {
            if let Some(stats) = cx.feed.as_ref().and_then(|j| j.live.clone()) {
                ui.colored_label(theme::ERROR, "capturing");
                ui.label(format!(
                    "{} packets, {}, {} dropped by the kernel, {} by the interface",
                    stats.packets.load(Ordering::Relaxed),
                    crate::gui::format::bytes(stats.bytes.load(Ordering::Relaxed)),
                    stats.kernel_dropped.load(Ordering::Relaxed),
                    stats.interface_dropped.load(Ordering::Relaxed)
                ));
                if ui.button("Stop").clicked() {
                    cx.push(Command::StopFeed);
                }
            } else if clients.running().next().is_some() {
                let n = clients.running().count();
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
                    cx.push(Command::DisconnectAll);
                }
            } else if let Some((fraction, waits)) = cx
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
                    cx.push(Command::StopFeed);
                }
                if waits > 0 {
                    ui.weak(format!("loader waited for the window {waits}×"));
                }
            }
            match &cx.status {
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
