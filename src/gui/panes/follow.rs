//! "Follow WebSocket stream": one connection's messages as a transcript, both directions
//! interleaved and coloured, with times; a click selects the message, Save writes the text.

use crate::gui::commands::Command;
use crate::gui::export::{TranscriptLine, transcript, transcript_text};
use crate::gui::model::{Cx, Model};
use crate::gui::theme;

/// Lines drawn at most (the saved text has them all).
const MAX_LINES_DRAWN: usize = 5000;

/// The transcript, built once per connection and view state rather than every frame (a
/// connection of 100k messages would otherwise format them all 60 times a second).
#[derive(Default)]
pub struct FollowCache {
    /// (connection, view generation, rows in the view)
    built_for: Option<(crate::analysis::event::ConnId, u64, usize)>,
    lines: Vec<TranscriptLine>,
}

impl FollowCache {
    fn lines(&mut self, model: &Model, conn: crate::analysis::event::ConnId) -> &[TranscriptLine] {
        let key = (conn, model.view.generation, model.view.rows.len());
        if self.built_for != Some(key) {
            self.lines = transcript(&model.store, &model.view.rows, conn);
            self.built_for = Some(key);
        }
        &self.lines
    }
}

pub fn follow_window_ui(cx: &mut Cx<'_>, cache: &mut FollowCache, ctx: &egui::Context) {
    let Some(conn) = cx.follow else {
        return;
    };
    let lines = cache.lines(cx.model, conn);
    let mut open = true;
    let mut commands = Vec::new();
    super::window(ctx, format!("Follow WebSocket stream — connection {conn}"))
        .id(egui::Id::unique("follow-stream"))
        .open(&mut open)
        .default_size([640.0, 480.0])
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                if let Some(c) = cx.store.connection(conn) {
                    ui.colored_label(theme::CLIENT_TO_SERVER, format!("client {}", c.info.client));
                    ui.colored_label(theme::SERVER_TO_CLIENT, format!("server {}", c.info.server));
                }
                ui.label(format!("{} messages (as filtered)", lines.len()));
                if ui.button("Copy").clicked() {
                    commands.push(Command::CopyText(transcript_text(&cx.store, conn, lines)));
                }
                if ui.button("Save as text…").clicked() {
                    commands.push(Command::SaveTranscript(conn));
                }
            });
            ui.separator();
            egui::ScrollArea::vertical().auto_shrink([false, false]).show(ui, |ui| {
                for line in lines.iter().take(MAX_LINES_DRAWN) {
                    let color = if line.client_to_server {
                        theme::CLIENT_TO_SERVER
                    } else {
                        theme::SERVER_TO_CLIENT
                    };
                    let selected = cx.selection.message == Some(line.message);
                    let head = ui.add(egui::Button::selectable(
                        selected,
                        egui::RichText::new(&line.head).monospace().color(color),
                    ));
                    if head.clicked() {
                        commands.push(Command::RevealMessage(line.message));
                    }
                    ui.indent(line.message, |ui| {
                        ui.label(egui::RichText::new(&line.body).color(color));
                    });
                }
                if lines.len() > MAX_LINES_DRAWN {
                    ui.weak(format!("… {} more (Save has them all)", lines.len() - MAX_LINES_DRAWN));
                }
            });
        });
    if !open {
        commands.push(Command::CloseFollow);
    }
    for c in commands {
        cx.push(c);
    }
}
