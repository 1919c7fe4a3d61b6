//! "Decode as…" (issue 16): the connections strip's context menu picks the application
//! protocol of a connection's server and path — remembered in the settings, applied to the
//! table's summaries, the detail pane's protocol tab, the display filter and the plots — and
//! a small window takes the `.proto` files and message types for protobuf.

use std::path::PathBuf;

use crate::analysis::app::{ProtoSchema, Protocol};
use crate::analysis::event::ConnId;
use crate::gui::app::{FramescopeApp, StatusLine};
use crate::gui::commands::Command;
use crate::gui::model::{Cx, Model};
use crate::gui::settings::DecodeRule;

/// The rule's protocol id that turns decoding off for a server and path.
pub const NO_PROTOCOL: &str = "none";

/// The protobuf window's fields while it is open.
#[derive(Clone, Debug, Default)]
pub struct ProtoDialog {
    pub conn: ConnId,
    /// `.proto` paths, one per line.
    pub files: String,
    pub c2s: String,
    pub s2c: String,
    pub error: Option<String>,
}

/// The "Decode as" submenu of a connection's context menu.
pub fn decode_as_menu_ui(model: &Model, ui: &mut egui::Ui, conn: ConnId, commands: &mut Vec<Command>) {
    let Some(c) = model.store.connection(conn) else {
        return;
    };
    let current = model.view.apps.borrow().rule_for(&c.info).map(|r| r.protocol.clone());
    let detected = model.view.apps.borrow().protocol_of(conn);
    ui.menu_button("Decode as…", |ui| {
        let auto = match detected {
            Some(p) if current.is_none() => format!("Automatic ({})", p.id()),
            _ => "Automatic".to_owned(),
        };
        if ui.radio(current.is_none(), auto).clicked() {
            commands.push(Command::DecodeAs(conn, None));
            ui.close();
        }
        if ui
            .radio(current.as_deref() == Some(NO_PROTOCOL), "None (plain messages)")
            .clicked()
        {
            commands.push(Command::DecodeAs(conn, Some(NO_PROTOCOL.to_owned())));
            ui.close();
        }
        ui.separator();
        for p in Protocol::ALL {
            if ui.radio(current.as_deref() == Some(p.id()), p.id()).clicked() {
                commands.push(Command::DecodeAs(conn, Some(p.id().to_owned())));
                ui.close();
            }
        }
        ui.separator();
        if ui.button("protobuf with .proto files…").clicked() {
            commands.push(Command::OpenProtoDialog(conn));
            ui.close();
        }
    });
}

impl FramescopeApp {
    /// Compiles the remembered rules' `.proto` files and hands the rules to the decoders
    /// (after a new store, or when a rule changed). A schema that no longer compiles is
    /// reported and that rule decodes protobuf without field names.
    pub fn apply_decode_rules(&mut self) {
        let rules = self.settings.decode_rules.clone();
        let mut errors = Vec::new();
        let schemas: Vec<Option<ProtoSchema>> = rules
            .iter()
            .map(|r| match proto_schema(r) {
                Ok(s) => s,
                Err(e) => {
                    errors.push(format!("{}{}: {e}", r.server, r.path));
                    None
                }
            })
            .collect();
        self.view.apps.get_mut().set_rules(rules, schemas);
        if !errors.is_empty() {
            self.status = Some(StatusLine {
                text: format!("Decode as protobuf: {}", errors.join("; ")),
                is_error: true,
            });
        }
    }

    /// Decode a connection's server and path as `protocol` (`None`: automatic again).
    pub fn set_decode_as(&mut self, conn: ConnId, protocol: Option<String>) {
        let Some(skeleton) = self.rule_skeleton(conn) else {
            return;
        };
        let key = rule_key(&skeleton);
        let rule = protocol.map(|protocol| DecodeRule { protocol, ..skeleton });
        self.replace_rule(&key, rule);
    }

    /// Stores a complete rule (the protobuf window's), replacing the one for its server and path.
    pub fn set_decode_rule(&mut self, rule: DecodeRule) {
        let key = (rule.server.clone(), rule.path.clone());
        self.replace_rule(&key, Some(rule));
    }

    fn replace_rule(&mut self, key: &(String, String), rule: Option<DecodeRule>) {
        self.settings
            .decode_rules
            .retain(|r| (r.server.as_str(), r.path.as_str()) != (key.0.as_str(), key.1.as_str()));
        if let Some(rule) = rule {
            self.settings.decode_rules.push(rule);
        }
        self.apply_decode_rules();
    }

    /// Opens the protobuf window for a connection, filled from its rule when it has one.
    pub fn open_proto_dialog(&mut self, conn: ConnId) {
        let existing = self
            .rule_skeleton(conn)
            .and_then(|k| {
                self.settings
                    .decode_rules
                    .iter()
                    .find(|r| r.server == k.server && r.path == k.path)
                    .cloned()
            })
            .filter(|r| r.protocol == Protocol::Protobuf.id());
        self.panes.proto_dialog = Some(match existing {
            Some(r) => ProtoDialog {
                conn,
                files: r
                    .proto_files
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
                c2s: r.proto_c2s,
                s2c: r.proto_s2c,
                error: None,
            },
            None => ProtoDialog {
                conn,
                ..ProtoDialog::default()
            },
        });
    }
}

fn rule_key(rule: &DecodeRule) -> (String, String) {
    (rule.server.clone(), rule.path.clone())
}

/// The message types of a protobuf rule, compiled from its `.proto` files.
fn proto_schema(rule: &DecodeRule) -> Result<Option<ProtoSchema>, String> {
    if rule.protocol != Protocol::Protobuf.id() || (rule.proto_c2s.is_empty() && rule.proto_s2c.is_empty()) {
        return Ok(None);
    }
    let messages: Vec<String> = [("c2s", &rule.proto_c2s), ("s2c", &rule.proto_s2c)]
        .into_iter()
        .filter(|(_, name)| !name.trim().is_empty())
        .map(|(dir, name)| format!("{dir}={}", name.trim()))
        .collect();
    crate::cli::analyze::load_proto_schema(&rule.proto_files, &[], &messages).map(Some)
}

/// The protobuf window: `.proto` files and a message type per direction, checked by
/// compiling them before the rule is kept.
impl Model {
    /// A rule naming the connection's server and path, protocol still empty.
    pub fn rule_skeleton(&self, conn: ConnId) -> Option<DecodeRule> {
        let info = &self.store.connection(conn)?.info;
        Some(DecodeRule {
            server: info.server.to_string(),
            path: info.handshake.as_ref().and_then(|h| h.path()).unwrap_or("").to_owned(),
            ..DecodeRule::default()
        })
    }
}

pub fn proto_dialog_ui(cx: &mut Cx<'_>, slot: &mut Option<ProtoDialog>, ctx: &egui::Context) {
    let Some(mut dialog) = slot.take() else {
        return;
    };
    let mut open = true;
    let mut done = false;
    crate::gui::panes::window(ctx, "Decode as protobuf")
        .open(&mut open)
        .collapsible(false)
        .show(ctx, |ui| {
            ui.label(".proto files (one path per line; imports are looked for beside them):");
            ui.add(
                egui::TextEdit::multiline(&mut dialog.files)
                    .desired_rows(3)
                    .id_salt("proto-files"),
            );
            egui::Grid::new("proto-types").num_columns(2).show(ui, |ui| {
                ui.label("client → server message type");
                ui.add(
                    egui::TextEdit::singleline(&mut dialog.c2s)
                        .hint_text("pkg.Request")
                        .id_salt("proto-c2s"),
                );
                ui.end_row();
                ui.label("server → client message type");
                ui.add(
                    egui::TextEdit::singleline(&mut dialog.s2c)
                        .hint_text("pkg.Reply")
                        .id_salt("proto-s2c"),
                );
                ui.end_row();
            });
            if let Some(e) = &dialog.error {
                ui.colored_label(crate::gui::theme::ERROR, e);
            }
            if ui.button("Decode").clicked() {
                let Some(skeleton) = cx.rule_skeleton(dialog.conn) else {
                    done = true;
                    return;
                };
                let rule = DecodeRule {
                    protocol: Protocol::Protobuf.id().to_owned(),
                    proto_files: dialog
                        .files
                        .lines()
                        .map(str::trim)
                        .filter(|l| !l.is_empty())
                        .map(PathBuf::from)
                        .collect(),
                    proto_c2s: dialog.c2s.trim().to_owned(),
                    proto_s2c: dialog.s2c.trim().to_owned(),
                    ..skeleton
                };
                match proto_schema(&rule) {
                    Ok(_) => {
                        cx.push(Command::SetDecodeRule(rule));
                        done = true;
                    }
                    Err(e) => dialog.error = Some(e),
                }
            }
        });
    if open && !done {
        *slot = Some(dialog);
    }
}
