//! Frame anatomy: the selected message's frames in RFC 6455's 32-bits-per-row layout, each
//! field coloured and labelled with its value and meaning; hovering a field highlights its
//! bytes in the hex row below and hovering a byte names its field; rules broken are marked.
//! Then the unmasking walkthrough for the first payload bytes.

use crate::analysis::event::FrameEvent;
use crate::analysis::ws::anatomy::{fields, unmask_steps};
use crate::analysis::ws::frame::OpCode;
use crate::analysis::ws::mask::apply_mask;
use crate::gui::app::FramescopeApp;
use crate::gui::theme;
use crate::store::{MessageRow, Store};

const BIT_WIDTH: f32 = 24.0;
const ROW_HEIGHT: f32 = 34.0;
/// Payload bytes drawn in the bit layout and the hex row.
const PAYLOAD_BYTES_SHOWN: usize = 8;
/// Payload bytes the unmasking walkthrough steps through.
const UNMASK_STEPS: usize = 16;

const FIELD_COLORS: [egui::Color32; 10] = [
    egui::Color32::from_rgb(94, 129, 172),
    egui::Color32::from_rgb(136, 192, 208),
    egui::Color32::from_rgb(129, 161, 193),
    egui::Color32::from_rgb(143, 188, 187),
    egui::Color32::from_rgb(180, 142, 173),
    egui::Color32::from_rgb(208, 135, 112),
    egui::Color32::from_rgb(235, 203, 139),
    egui::Color32::from_rgb(163, 190, 140),
    egui::Color32::from_rgb(191, 97, 106),
    egui::Color32::from_rgb(120, 120, 120),
];

/// The frames of message `index`, in order (control frames of the same direction that sat
/// between its fragments are skipped).
pub fn message_frames<'s>(store: &'s Store, row: &MessageRow) -> Vec<&'s FrameEvent> {
    let Some(first) = row.first_frame else {
        return Vec::new();
    };
    let data_message = !row.opcode.is_control();
    store
        .frames
        .iter()
        .skip(first as usize)
        .filter(|f| f.conn == row.conn && f.dir == row.dir)
        .filter(|f| !data_message || !f.header.opcode.is_control())
        .take(row.frames as usize)
        .collect()
}

/// The payload bytes as they were on the wire, when they can be rebuilt exactly: a
/// single-frame uncompressed message whose payload was kept (masking is undone by masking
/// again with the same key).
fn wire_payload_prefix(store: &Store, row: &MessageRow, frame: &FrameEvent) -> Option<Vec<u8>> {
    if row.frames != 1 || row.compressed || !row.payload_fully_kept() {
        return None;
    }
    let mut bytes = store.payload(row).get(..UNMASK_STEPS.min(row.len as usize))?.to_vec();
    if let Some(key) = frame.header.mask {
        apply_mask(&mut bytes, key, 0);
    }
    Some(bytes)
}

pub fn anatomy_ui(app: &mut FramescopeApp, ui: &mut egui::Ui) {
    let Some(row) = app
        .selection
        .message
        .and_then(|m| app.store.messages.get(m as usize))
        .cloned()
    else {
        ui.weak("Select a message to see its frames bit by bit.");
        return;
    };
    let frames: Vec<FrameEvent> = message_frames(&app.store, &row).into_iter().cloned().collect();
    if frames.is_empty() {
        ui.weak("The frames of this message were not recorded.");
        return;
    }
    let negotiated = app
        .store
        .connection(row.conn)
        .and_then(|c| c.info.handshake.as_ref())
        .is_none_or(|h| h.deflate().is_some());
    egui::ScrollArea::both().id_salt("anatomy").show(ui, |ui| {
        for (i, frame) in frames.iter().enumerate() {
            ui.strong(format!(
                "Frame {} of {} — {} bytes on the wire at stream offset {}",
                i + 1,
                frames.len(),
                frame.header.wire_len(),
                frame.stream_offset
            ));
            let header_bytes = frame.header.to_bytes();
            let payload = wire_payload_prefix(&app.store, &row, frame);
            let drawn = payload
                .as_deref()
                .map(|p| p.get(..PAYLOAD_BYTES_SHOWN.min(p.len())).unwrap_or(p));
            frame_ui(
                ui,
                i,
                &frame.header,
                &header_bytes,
                drawn,
                negotiated,
                &mut app.anatomy_hover,
            );
            if i == 0
                && let (Some(key), Some(masked)) = (frame.header.mask, &payload)
            {
                unmasking_ui(ui, masked, key, row.opcode == OpCode::Text, &mut app.unmask_step);
            }
            if i + 1 == frames.len() && row.compressed {
                deflate_ui(ui, &row, app.store.compressed_payload(&row));
            }
            ui.add_space(8.0);
        }
    });
}

/// What the pointer rests on in the anatomy views: (frame index, field index). Kept in the
/// app so the next frame highlights the field's bytes (and tests can see it).
pub type AnatomyHover = Option<(usize, usize)>;

/// One frame: bit layout, bytes, legend. `frame_index` keeps hover state apart per frame.
pub fn frame_ui(
    ui: &mut egui::Ui,
    frame_index: usize,
    header: &crate::analysis::ws::frame::FrameHeader,
    header_bytes: &[u8],
    payload: Option<&[u8]>,
    negotiated_rsv1: bool,
    hover: &mut AnatomyHover,
) {
    let fields = fields(header, negotiated_rsv1);
    let mut bytes = header_bytes.to_vec();
    bytes.extend_from_slice(payload.unwrap_or(&[]));
    let shown_bits = (header_bytes.len() + payload.map_or(1, |p| p.len().max(1))) * 8;
    let hovered_field: Option<usize> = hover.filter(|(f, _)| *f == frame_index).map(|(_, field)| field);
    let mut now_hovered = None;

    // Bit numbers on top, as in RFC 6455 §5.2.
    let rows = shown_bits.div_ceil(32);
    let (rect, _) = ui.allocate_exact_size(
        egui::vec2(32.0 * BIT_WIDTH, (rows as f32 + 0.6) * ROW_HEIGHT),
        egui::Sense::hover(),
    );
    let painter = ui.painter_at(rect);
    for b in 0..32 {
        painter.text(
            rect.min + egui::vec2(b as f32 * BIT_WIDTH + BIT_WIDTH / 2.0, 8.0),
            egui::Align2::CENTER_CENTER,
            (b % 10).to_string(),
            egui::FontId::monospace(10.0),
            ui.visuals().weak_text_color(),
        );
    }
    let top = rect.min.y + 0.6 * ROW_HEIGHT;
    let pointer = ui.input(|i| i.pointer.hover_pos());
    for (fi, field) in fields.iter().enumerate() {
        let end_bit = (field.bit_start + field.bit_len).min(shown_bits);
        if field.bit_start >= end_bit {
            continue;
        }
        let color = if field.violation.is_some() {
            theme::ERROR
        } else {
            FIELD_COLORS[fi % FIELD_COLORS.len()]
        };
        // A field may wrap over several 32-bit rows: one box per row piece.
        let mut bit = field.bit_start;
        while bit < end_bit {
            let row_index = bit / 32;
            let piece_end = end_bit.min((row_index + 1) * 32);
            let x0 = rect.min.x + (bit % 32) as f32 * BIT_WIDTH;
            let x1 = rect.min.x + (if piece_end % 32 == 0 { 32 } else { piece_end % 32 }) as f32 * BIT_WIDTH;
            let y0 = top + row_index as f32 * ROW_HEIGHT;
            let piece = egui::Rect::from_min_max(
                egui::pos2(x0 + 1.0, y0 + 1.0),
                egui::pos2(x1 - 1.0, y0 + ROW_HEIGHT - 1.0),
            );
            let highlight = hovered_field == Some(fi);
            painter.rect_filled(piece, 3.0, if highlight { color } else { color.gamma_multiply(0.8) });
            if highlight {
                painter.rect_stroke(
                    piece,
                    3.0,
                    egui::Stroke::new(2.0, egui::Color32::WHITE),
                    egui::StrokeKind::Inside,
                );
            }
            let label = if piece.width() > 90.0 {
                format!("{} = {}", field.name, field.value)
            } else if piece.width() > 40.0 {
                field.value.clone()
            } else {
                bit_value(&bytes, bit).to_string()
            };
            painter.text(
                piece.center(),
                egui::Align2::CENTER_CENTER,
                label,
                egui::FontId::proportional(12.0),
                egui::Color32::BLACK,
            );
            if pointer.is_some_and(|p| piece.contains(p)) {
                now_hovered = Some(fi);
            }
            bit = piece_end;
        }
    }
    // The same bytes in hex; a hovered byte names its field.
    ui.horizontal_wrapped(|ui| {
        ui.label("bytes:");
        for (i, b) in bytes.iter().enumerate() {
            let field = fields.iter().position(|f| f.contains_byte(i));
            let highlighted = field.is_some() && field == hovered_field;
            let mut text = egui::RichText::new(format!("{b:02x}")).monospace();
            if highlighted {
                text = text
                    .background_color(FIELD_COLORS[field.unwrap_or(0) % FIELD_COLORS.len()])
                    .color(egui::Color32::BLACK);
            }
            let response = ui.label(text);
            if let Some(fi) = field
                && let Some(f) = fields.get(fi)
            {
                if response.hovered() {
                    now_hovered = Some(fi);
                }
                response.on_hover_text(format!("byte {i}: {}", f.name));
            }
        }
        if payload.is_none() {
            ui.weak("(payload bytes on the wire not kept for this message)");
        }
    });
    // The legend: every field with its value, meaning and any broken rule.
    egui::Grid::new(("anatomy-fields", frame_index))
        .num_columns(3)
        .striped(true)
        .show(ui, |ui| {
            for (fi, field) in fields.iter().enumerate() {
                let color = FIELD_COLORS[fi % FIELD_COLORS.len()];
                let name = ui.colored_label(color, field.name);
                if name.hovered() {
                    now_hovered = Some(fi);
                }
                ui.monospace(&field.value);
                match field.violation {
                    Some(rule) => ui.colored_label(theme::ERROR, format!("{} — breaks {rule}", field.meaning)),
                    None => ui.label(&field.meaning),
                };
                ui.end_row();
            }
        });
    match now_hovered {
        Some(field) => *hover = Some((frame_index, field)),
        None if hovered_field.is_some() => *hover = None,
        None => {}
    }
}

/// The bit at `bit` of the frame's bytes, for fields too narrow for their value.
fn bit_value(bytes: &[u8], bit: usize) -> u8 {
    bytes.get(bit / 8).map_or(0, |b| (b >> (7 - bit % 8)) & 1)
}

/// permessage-deflate step by step: the bytes as sent, the tail appended, the inflated size,
/// and whether earlier messages' window was needed.
fn deflate_ui(ui: &mut egui::Ui, row: &MessageRow, compressed: &[u8]) {
    ui.strong("permessage-deflate (RFC 7692 §7.2.2)");
    if compressed.is_empty() {
        ui.weak("The compressed bytes of this message were not kept.");
        return;
    }
    let shown: Vec<String> = compressed.iter().take(48).map(|b| format!("{b:02x}")).collect();
    egui::Grid::new("deflate-steps").num_columns(2).show(ui, |ui| {
        ui.label("1. payload as sent (RSV1 set on the first frame)");
        ui.monospace(format!(
            "{}{} ({} bytes)",
            shown.join(" "),
            if compressed.len() > 48 { " …" } else { "" },
            compressed.len()
        ));
        ui.end_row();
        ui.label("2. append the empty block the sender removed");
        ui.monospace("00 00 ff ff");
        ui.end_row();
        ui.label("3. inflate");
        ui.label(format!(
            "{} bytes ({:.1}:1)",
            row.len,
            row.len as f64 / compressed.len().max(1) as f64
        ));
        ui.end_row();
        ui.label("4. window from earlier messages");
        match crate::analysis::ws::deflate::inflate_standalone(compressed, 64 << 20) {
            Ok(_) => ui.label("not needed: this message inflates on its own"),
            Err(reason) => ui.label(format!(
                "needed: it refers back to text of earlier messages (context takeover); alone it fails: {reason}"
            )),
        };
        ui.end_row();
    });
}

/// The unmasking walkthrough; `step` is how many rows are shown (`None`: all of them).
fn unmasking_ui(ui: &mut egui::Ui, masked: &[u8], key: [u8; 4], text: bool, step: &mut Option<usize>) {
    ui.horizontal(|ui| {
        ui.strong("Unmasking (RFC 6455 §5.3): byte i XOR key[i mod 4]");
        if ui.button("Step").clicked() {
            *step = Some(step.map_or(1, |s| (s + 1).min(UNMASK_STEPS)));
        }
        if ui.button("Show all").clicked() {
            *step = None;
        }
        if ui.button("Restart").clicked() {
            *step = Some(0);
        }
    });
    let steps = unmask_steps(masked, key, step.unwrap_or(UNMASK_STEPS));
    egui::Grid::new("unmask-steps")
        .num_columns(6)
        .striped(true)
        .show(ui, |ui| {
            for title in ["i", "masked", "key index", "key byte", "XOR result", "char"] {
                ui.strong(title);
            }
            ui.end_row();
            for s in &steps {
                ui.monospace(s.index.to_string());
                ui.monospace(format!("{:02x}", s.masked));
                ui.monospace(s.key_index.to_string());
                ui.monospace(format!("{:02x}", s.key));
                ui.monospace(format!("{:02x}", s.plain));
                ui.monospace(if text && (0x20..0x7f).contains(&s.plain) {
                    (s.plain as char).to_string()
                } else {
                    "·".to_owned()
                });
                ui.end_row();
            }
        });
    let plain: Vec<u8> = steps.iter().map(|s| s.plain).collect();
    if text {
        ui.label(format!("gives \"{}\"", String::from_utf8_lossy(&plain)));
    }
}
