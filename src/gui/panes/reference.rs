//! Reference tables: every opcode, and the close-code registry with meanings and whether a
//! code may be sent on the wire. Opened from the Help menu and from the message detail.

use crate::analysis::ws::close::{
    REGISTERED_CLOSE_CODES, close_code_allowed_on_wire, close_code_description, close_code_name,
};
use crate::analysis::ws::frame::OpCode;
use crate::gui::theme;

/// What the reference window points at.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReferenceTopic {
    #[default]
    Opcodes,
    CloseCodes,
}

/// The reference window's state.
#[derive(Default)]
pub struct ReferencePanel {
    pub open: bool,
    pub topic: ReferenceTopic,
    /// The opcode or close code to highlight.
    pub highlight: Option<u16>,
}

fn opcode_notes(op: OpCode) -> &'static str {
    match op {
        OpCode::Continuation => "a later fragment of the message in progress",
        OpCode::Text => "starts a text message; its payload, once joined and inflated, is UTF-8",
        OpCode::Binary => "starts a binary message",
        OpCode::Close => "starts the closing handshake; payload: optional 2-byte code and UTF-8 reason",
        OpCode::Ping => "asks for a pong with the same payload; at most 125 bytes",
        OpCode::Pong => "answers a ping (or is sent unsolicited as a heartbeat)",
        OpCode::Reserved(v) if v < 8 => "reserved for future non-control frames",
        OpCode::Reserved(_) => "reserved for future control frames",
    }
}

pub fn reference_window_ui(reference: &mut ReferencePanel, ctx: &egui::Context) {
    if !reference.open {
        return;
    }
    let mut open = true;
    super::window(ctx, "Reference")
        .open(&mut open)
        .default_width(720.0)
        .show(ctx, |ui| {
            ui.horizontal(|ui| {
                ui.selectable_value(
                    &mut reference.topic,
                    ReferenceTopic::Opcodes,
                    "Opcodes (RFC 6455 §5.2, §11.8)",
                );
                ui.selectable_value(
                    &mut reference.topic,
                    ReferenceTopic::CloseCodes,
                    "Close codes (§7.4, IANA registry)",
                );
            });
            ui.separator();
            let highlight = reference.highlight;
            egui::ScrollArea::vertical()
                .id_salt("reference")
                .show(ui, |ui| match reference.topic {
                    ReferenceTopic::Opcodes => {
                        egui::Grid::new("opcodes").num_columns(4).striped(true).show(ui, |ui| {
                            for title in ["value", "name", "kind", "meaning"] {
                                ui.strong(title);
                            }
                            ui.end_row();
                            for v in 0..16u8 {
                                let op = OpCode::from_u4(v);
                                let mark = highlight == Some(u16::from(v));
                                let value = egui::RichText::new(format!("0x{v:x}")).monospace();
                                ui.label(if mark {
                                    value.background_color(theme::WARNING).color(egui::Color32::BLACK)
                                } else {
                                    value
                                });
                                ui.colored_label(theme::opcode_color(op), op.name());
                                ui.label(if op.is_reserved() {
                                    "reserved"
                                } else if op.is_control() {
                                    "control"
                                } else {
                                    "data"
                                });
                                ui.label(opcode_notes(op));
                                ui.end_row();
                            }
                        });
                    }
                    ReferenceTopic::CloseCodes => {
                        egui::Grid::new("close-codes")
                            .num_columns(4)
                            .striped(true)
                            .show(ui, |ui| {
                                for title in ["code", "name", "may be sent", "meaning"] {
                                    ui.strong(title);
                                }
                                ui.end_row();
                                let mut rows: Vec<(String, u16)> =
                                    REGISTERED_CLOSE_CODES.iter().map(|c| (c.to_string(), *c)).collect();
                                rows.extend([
                                    ("0-999".to_owned(), 500),
                                    ("1016-2999".to_owned(), 2000),
                                    ("3001-3999".to_owned(), 3500),
                                    ("4000-4999".to_owned(), 4500),
                                ]);
                                if let Some(h) = highlight
                                    && !REGISTERED_CLOSE_CODES.contains(&h)
                                {
                                    rows.push((h.to_string(), h));
                                }
                                for (label, code) in rows {
                                    let mark = highlight == Some(code)
                                        || highlight.is_some_and(|h| label.contains('-') && range_contains(&label, h));
                                    let text = egui::RichText::new(&label).monospace();
                                    ui.label(if mark {
                                        text.background_color(theme::WARNING).color(egui::Color32::BLACK)
                                    } else {
                                        text
                                    });
                                    ui.label(close_code_name(code));
                                    if close_code_allowed_on_wire(code) {
                                        ui.colored_label(theme::OK, "yes");
                                    } else {
                                        ui.colored_label(theme::ERROR, "no");
                                    }
                                    ui.label(close_code_description(code));
                                    ui.end_row();
                                }
                            });
                    }
                });
        });
    if !open {
        reference.open = false;
    }
}

fn range_contains(label: &str, code: u16) -> bool {
    label
        .split_once('-')
        .and_then(|(a, b)| Some((a.parse::<u16>().ok()?, b.parse::<u16>().ok()?)))
        .is_some_and(|(a, b)| (a..=b).contains(&code))
}
