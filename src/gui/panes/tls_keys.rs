//! The TLS key log setting: which `SSLKEYLOGFILE` decrypts wss:// traffic, shown the same way
//! in the File menu and in the capture window.

use std::path::Path;

use crate::gui::commands::Command;

/// "TLS key log: /path [Choose…] [Forget]": returns what the user asked for.
pub fn keylog_row(ui: &mut egui::Ui, current: Option<&Path>, present: bool) -> Option<Command> {
    let mut asked = None;
    ui.horizontal(|ui| {
        ui.label("TLS key log");
        match current {
            Some(path) => {
                let shown = path.display().to_string();
                let r = ui.monospace(&shown);
                if !present {
                    r.on_hover_text("Not there yet: a browser creates it with its first TLS connection");
                    ui.colored_label(crate::gui::theme::WARNING, "(missing)");
                }
            }
            None => {
                ui.weak("none").on_hover_text(
                    "Start the browser or client with SSLKEYLOGFILE=/some/file and choose that file: \
wss:// connections then decrypt. Keys in a pcapng (Decryption Secrets Blocks) are used without this.",
                );
            }
        }
        if ui.button("Choose…").clicked() {
            asked = Some(Command::PickKeylog);
        }
        if current.is_some() && ui.button("Forget").clicked() {
            asked = Some(Command::SetKeylog(None));
        }
    });
    asked
}
