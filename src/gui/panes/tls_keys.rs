//! The TLS key log setting: which `SSLKEYLOGFILE` decrypts wss:// traffic, shown the same way
//! in the File menu and in the capture window.

use std::path::{Path, PathBuf};

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
    // A typed path works where no file dialog does (no desktop portal) and for a file that
    // does not exist yet (the browser creates it with its first connection).
    let id = ui.make_persistent_id("tls-keylog-path");
    let mut draft: String = ui.data_mut(|d| d.get_temp(id)).unwrap_or_default();
    ui.horizontal(|ui| {
        let edit = ui.add(
            egui::TextEdit::singleline(&mut draft)
                .hint_text("or type its path, Enter to use it")
                .desired_width(280.0),
        );
        let entered = edit.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
        let typed = draft.trim();
        if (entered || (!typed.is_empty() && ui.button("Use").clicked())) && !typed.is_empty() {
            asked = Some(Command::SetKeylog(Some(typed_path(typed))));
            draft.clear();
        }
    });
    ui.data_mut(|d| d.insert_temp(id, draft));
    asked
}

/// A typed path: `~/` is the home folder, as in a shell.
fn typed_path(typed: &str) -> PathBuf {
    match (typed.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => PathBuf::from(typed),
    }
}

/// Whether the file at `path` is a TLS key log (NSS format): its first line that is not a
/// comment starts with one of the labels, or it is a `.keys` file.
pub fn is_key_log(path: &Path) -> bool {
    use std::io::Read;
    if path.extension().is_some_and(|e| e == "keys") {
        return true;
    }
    let mut head = [0u8; 4096];
    let read = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = String::from_utf8_lossy(head.get(..read).unwrap_or(&[]));
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .is_some_and(|line| {
            [
                "CLIENT_RANDOM ",
                "CLIENT_HANDSHAKE_TRAFFIC_SECRET ",
                "SERVER_HANDSHAKE_TRAFFIC_SECRET ",
                "CLIENT_TRAFFIC_SECRET_0 ",
                "SERVER_TRAFFIC_SECRET_0 ",
                "CLIENT_EARLY_TRAFFIC_SECRET ",
                "EXPORTER_SECRET ",
            ]
            .iter()
            .any(|label| line.starts_with(label))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_logs_are_told_from_captures_by_their_first_line() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("sslkeys.log");
        std::fs::write(&log, "# SSL/TLS secrets log file\nCLIENT_RANDOM 00 11\n").unwrap();
        assert!(is_key_log(&log));
        let captures = Path::new(env!("CARGO_MANIFEST_DIR")).join("captures");
        assert!(!is_key_log(&captures.join("echo-text-binary-ping-close.pcap")));
        assert!(is_key_log(&captures.join("tls13-aes128gcm.keys")));
        assert!(!is_key_log(&dir.path().join("missing.log")));
        assert_eq!(typed_path("/tmp/k.log"), PathBuf::from("/tmp/k.log"));
    }
}
